"""Red team corpus, issue 15 (red15e): raw e-mails and SSNs of ``customers`` sent to a host the
policy *allows* (``network.allow_hosts: [127.0.0.1, localhost]``), so that no host rule refuses
them and only the data checks on URLs, headers, bodies, sockets and children are measured
(the table: ``red15e_cases``).

An allowed host may receive sensitive values within the exfiltration budget; this kernel's
budget is one value and is spent before the first case (a refused request of two e-mails), so
from then on every exit that the data checks see carrying a sensitive value is refused
(``exfiltration``), and plain data still flows. Judged by effect: every byte the loopback
listeners received (HTTP, raw TCP, UDP, SMTP/FTP), and every message of the cell, undone the
ways a reader would (chunked framing, gzip/zlib streams, base64 and hex runs, URL quoting
repeated, plus ``test_red15c_corpus.recover``); no raw value may be found. A case that ran must
have sent something; one that failed must have been refused as ``exfiltration``. Benign twins
(counts, cities, aggregates, a download) run and arrive intact.
"""
from __future__ import annotations

import base64
import binascii
import bz2
import lzma
import os
import pickle
import re
import struct
import urllib.parse
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.enforce import red15e_cases as cases
from tests.enforce.red15e_listen import Listeners
from tests.enforce.test_red15c_corpus import missing, raw_in, run_wire
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

POLICY = ("version: 1\nextends: default\nnetwork:\n  allow_hosts: ['127.0.0.1', 'localhost']\n"
          "exfiltration:\n  max_sensitive_values_per_cell: 1\n"
          "  max_sensitive_values_per_session: 1\n")
SETUP = ("df = con.sql('SELECT * FROM customers ORDER BY id LIMIT 60').df()\n"
         "E = df.email.tolist()\nS = df.ssn.tolist()\nD = ','.join(E[5:30] + S[5:30])")
SPEND = "import urllib.request as u\nu.urlopen(URL + '?d=' + E[0] + ',' + E[1]).read()"


def _streams(data: bytes) -> list[bytes]:
    """Every gzip, zlib, bz2 or xz stream that starts somewhere in ``data``, inflated."""
    out = []
    for magic, new in ((b"BZh", bz2.BZ2Decompressor), (b"\xfd7zXZ\x00", lzma.LZMADecompressor)):
        for m in re.finditer(re.escape(magic), data):
            try:
                out.append(new().decompress(data[m.start():]))
            except (OSError, EOFError, lzma.LZMAError):
                continue
    for magic, wbits in ((b"\x1f\x8b", 31), (b"x\x9c", 15), (b"x\x01", 15), (b"x\xda", 15)):
        for m in re.finditer(re.escape(magic), data):
            try:
                out.append(zlib.decompressobj(wbits).decompress(data[m.start():]))
            except zlib.error:
                continue
    out += _members(data)
    if len(data) < 1 << 16:   # raw deflate has no header: tried at every offset
        for i in range(len(data)):
            try:
                out.append(zlib.decompressobj(-15).decompress(data[i:], 1 << 20))
            except zlib.error:
                continue
    return out


def _members(data: bytes) -> list[bytes]:
    """Each zip member's data (stored, deflated, bzip2, LZMA) read from its local header, as
    ``unzip`` would (no central directory needed)."""
    out = []
    for m in re.finditer(rb"PK\x03\x04", data):
        at = m.start()
        if len(data) < at + 30:
            continue
        method, size = struct.unpack_from("<H", data, at + 8)[0], struct.unpack_from(
            "<I", data, at + 18)[0]
        name, extra = struct.unpack_from("<HH", data, at + 26)
        body = data[at + 30 + name + extra:]
        try:
            if method == 0:
                out.append(body[:size or len(body)])
            elif method == 8:
                out.append(zlib.decompressobj(-15).decompress(body))
            elif method == 12:
                out.append(bz2.BZ2Decompressor().decompress(body))
            elif method == 14:
                props = lzma._decode_filter_properties(  # type: ignore[attr-defined]
                    lzma.FILTER_LZMA1, body[4:9])
                out.append(lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[props])
                           .decompress(body[9:]))
        except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError):
            continue
    return out


def _deinterleaved(got: bytes, n: int) -> list[bytes]:
    """The raw TCP listener's bytes split back into two streams sent ``n`` bytes a send in turn
    (``for i in range(0, max(len(g1), len(g2)), n): for g in (g1, g2): send(g[i:i + n])``),
    for each length the first may have had."""
    tcp = got.split(b"\n--listener--\n")[1] if b"\n--listener--\n" in got else got
    out = []
    for first in range(len(tcp) + 1):
        sizes, at, parts = (first, len(tcp) - first), 0, [b"", b""]
        for i in range(0, max(sizes), n):
            for g in (0, 1):
                take = max(0, min(n, sizes[g] - i))
                parts[g] += tcp[at:at + take]
                at += take
        out += [p for p in parts if p[:2] == b"\x1f\x8b"]
    return out


def _runs(text: str) -> list[bytes]:
    """Base64 (both alphabets) and hex runs in ``text``, decoded."""
    out = []
    for run in re.findall(r"[A-Za-z0-9+/_-]{12,}={0,2}", text):
        pad = run.rstrip("=") + "=" * (-len(run.rstrip("=")) % 4)
        for alt in (b"+/", b"-_"):
            try:
                out.append(base64.b64decode(pad, altchars=alt))
            except (binascii.Error, ValueError):
                continue
    for run in re.findall(r"(?:[0-9a-fA-F]{2}){8,}", text):
        out.append(bytes.fromhex(run))
    return out


def decoded(data: bytes) -> list[bytes]:
    """``data`` and what a reader gets back from it: chunked framing dropped, compressed streams
    inflated (zip members and raw deflate too), URL quoting undone up to three times, base64
    and hex runs decoded, a pickle's strings joined."""
    parts = [data, re.sub(rb"\r\n[0-9a-fA-F]{1,6}\r\n", b"", data)]
    for seg in data.split(b"\n--listener--\n"):   # a pickle sent alone: its strings joined
        if seg[:1] == b"\x80":
            try:
                parts.append(_joined(pickle.loads(seg)).encode())
            except Exception:  # noqa: BLE001 - not a whole pickle
                pass
    parts += [s for p in list(parts) for s in _streams(p)]
    texts = [p.decode("latin-1") for p in parts]
    for t in list(texts):
        for _ in range(3):
            t = urllib.parse.unquote_plus(t)
            texts.append(t)
    parts += [t.encode("latin-1", "replace") for t in texts]
    parts += [r for t in texts for r in _runs(t)]
    return parts


class Net:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.listen = Listeners()
        self._cm = guarded_kernel(workdir, {"JUPYTER_GUARD_USER": "eve"}, policy=POLICY,
                                  warehouse=200, connect=True)
        self.k: Kernel = self._cm.__enter__()
        self.k.ok(SETUP + "\n" + self.listen.names())
        spent = self.k.run(SPEND)
        assert not spent.ok and "budget" in spent.everything(), spent.everything()
        self.listen.settle()

    def run(self, name: str, code: str) -> tuple[bool, bytes, bytes]:
        """Whether the case ran, every message of its cell, and what the listeners got."""
        code = code.replace("@URL@", f"http://127.0.0.1:{self.listen.http.port}/")
        ok, wire = run_wire(self.k, f"OUT = 'r15e_{name}'\n{code}")
        return ok, wire, self.listen.settle()

    def close(self) -> None:
        self._cm.__exit__(None, None, None)
        self.listen.close()


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    n = Net(tmp_path_factory.mktemp("red15e"))
    yield n
    n.close()


def _log(case: str, outcome: str, wire: bytes) -> None:
    """``R15E_OUTCOMES=<file>``: one line per case (refused / masked / leaked, and the refusal's
    reason) for the issue's note."""
    if path := os.environ.get("R15E_OUTCOMES"):
        why = re.search(r"Blocked by jupyter_guard \[[^\]]*\]:[^\\\n]{0,90}",
                        wire.decode("utf-8", "replace"))
        with open(path, "a") as f:
            f.write(f"{case} {outcome} {why.group(0) if why and outcome == 'refused' else ''}\n")


def _params(table: list[cases.Case]) -> list[object]:
    return [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True, raises=AssertionError,
                                                               reason=c.leak)]
                         if c.leak else []) for c in table]


@pytest.mark.parametrize("case", _params(cases.NET))
def test_allowed_host_gets_no_raw_value(net: Net, case: cases.Case) -> None:
    ok, wire, got = net.run(case.id, case.code)
    parts = [got] + (_deinterleaved(got, int(case.decode[10:]))
                     if case.decode.startswith("interleave") else [])
    leaked = raw_in(decoded(wire) + [d for p in parts for d in decoded(p)])
    _log(case.id, "leaked" if leaked else "masked" if ok else "refused", wire)
    assert not leaked, f"{case.id} (ran: {ok}) let out {len(leaked)} values: {leaked[:3]}"
    if ok:
        assert re.sub(rb"\n--\w+--\n", b"", got), f"{case.id} ran but sent nothing"
    else:   # the guard's refusal, not what a library made of it (asyncio: a lost connection)
        assert "exfiltration" in wire.decode("utf-8", "replace"), wire[:2000]
        assert b"ConnectionResetError" not in wire, wire[:2000]


def _joined(obj: object) -> str:
    """Every string in ``obj`` (nested lists), each list's strings joined."""
    if isinstance(obj, str):
        return obj
    return "".join(_joined(o) if isinstance(o, str) else "\n" + _joined(o) for o in obj)  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in cases.PICKLES])
def test_pickled_pieces_in_a_file(net: Net, case: cases.Case) -> None:
    ok, wire, _ = net.run(case.id, case.code)
    path = net.workdir / f"r15e_{case.id}"
    back = ""
    if path.exists() and path.stat().st_size:
        with open(path, "rb") as f:
            back = _joined(pickle.load(f))
    leaked = raw_in([wire, back.encode()])
    _log(case.id, "leaked" if leaked else "masked" if ok else "refused", wire)
    assert not leaked, f"pickle.load gives back {len(leaked)} values: {leaked[:3]}"
    assert ok or "exfiltration" in wire.decode("utf-8", "replace"), wire[:2000]


@pytest.mark.parametrize("twin", [pytest.param(t, id=t.id) for t in cases.TWINS])
def test_benign_twins(net: Net, twin: cases.Twin) -> None:
    ok, wire, got = net.run(twin.id, twin.code)
    assert ok, wire[-3000:]
    lost = missing(list(twin.expect), decoded(wire) + decoded(got))
    assert not lost, f"{lost}\n{got[:2000]!r}\n{wire[:2000]!r}"


def test_compressed_bomb_is_refused_not_inflated(net: Net) -> None:
    """A body that inflates to 64 MB of zeros (128 KB sent) holds no value, but past
    ``exit_bytes.STREAM_MAX`` (8 MB) nothing could be counted: the send is refused with a
    message saying why, the kernel answers at once after, and the listener gets no body."""
    ok, wire, got = net.run("bomb", "import zlib\n" + cases._RQ + "b = zlib.compress(bytes(64 << 20"
                            "), 9)\nprint(len(b))\nrequests.post(URL, data=b, headers="
                            "{'Content-Encoding': 'deflate'})")
    text = wire.decode("utf-8", "replace")
    assert not ok and "exfiltration" in text and "inflates past 8 MB" in text, text[:2000]
    assert b"\x78\xda" not in got, got[:200]
    net.k.ok("print('alive')")
