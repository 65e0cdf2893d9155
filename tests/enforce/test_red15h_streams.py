"""What the exfiltration budget reads back from a socket's sends to an allowed host (issue 15,
red15h), without a kernel: zip archives (deflated, stored, bzip2, LZMA members) and tars sent
whole or a few bytes a send, raw deflate with nothing declaring it (after plain bytes, in a
multipart part, alone on a socket), a zlib stream behind a header that keeps inflating, two
streams at once (back to back, interleaved send by send), and pickles of values spelt in pieces
of 2-3 characters or in one run longer than an e-mail. Judged by what
``exit_socket._spend`` counts (every known value it hands to the budget). Plain twins: random
binary, PNG-like data and compressed uploads of plain data count nothing and start no stream
that is still followed after them."""
from __future__ import annotations

import io
import itertools
import pickle
import random
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from jupyter_guard.hooks import (
    exit_budget,
    exit_bytes,
    exit_follow,
    exit_inflate,
    exit_socket,
    exits,
)
from jupyter_guard.mask.text import MaskSettings
from tests.enforce.known_values import remembering

EMAILS = [f"first.last{i}@corp.example" for i in range(60)]
SSNS = [str(100000012 + 7919 * i) for i in range(60)]
D = ",".join(EMAILS[5:30] + SSNS[5:30]).encode()
HEAD = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"


class _Sock:
    """A socket stand-in: ``_spend`` keys its state by the object only."""


@pytest.fixture()
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``counted(sends)``: the known values ``exit_socket._spend`` hands the budget over
    ``sends`` on one socket to an allowed host."""
    got: set[str] = set()

    def spend(guard: Any, rt: Any, data: Any, how: str) -> None:
        got.update(exit_budget.known_sent(data.encode() if isinstance(data, str) else data))
    monkeypatch.setattr(exit_budget, "spend", spend)
    policy = SimpleNamespace(max_values_per_cell=1, max_values_per_session=1)
    rt = SimpleNamespace(guard=SimpleNamespace(policy=policy))

    def counted(sends: list[bytes]) -> set[str]:
        got.clear()
        sock, entry = _Sock(), ["127.0.0.1", b"", 0]
        for data in sends:
            exit_socket._spend(rt, sock, entry, data, "test")
        return set(got)
    with remembering(EMAILS + SSNS):
        yield counted


def _all(got: set[str]) -> bool:
    return set(EMAILS[5:30] + SSNS[5:30]) <= got


def _split(data: bytes, n: int) -> list[bytes]:
    return [data[i:i + n] for i in range(0, len(data), n)]


def _zip(method: int, body: bytes = D) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        z.writestr("customers.csv", body)
    return buf.getvalue()


def _tar(mode: str, body: bytes = D) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as t:   # type: ignore[call-overload]
        info = tarfile.TarInfo("customers.csv")
        info.size = len(body)
        t.addfile(info, io.BytesIO(body))
    return buf.getvalue()


def _raw(body: bytes) -> bytes:
    z = zlib.compressobj(wbits=-15)
    return z.compress(body) + z.flush()


METHODS = [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]


@pytest.mark.parametrize("method", METHODS)
def test_zip_members_are_counted(counted: Any, method: int) -> None:
    z = _zip(method)
    for sends in ([HEAD % len(z), z], [HEAD % len(z) + z], _split(z, 7), _split(z, 100)):
        assert _all(counted(sends)), (method, len(sends))
    long_name = io.BytesIO()   # a local header longer than a socket's remembered tail
    with zipfile.ZipFile(long_name, "w", method) as zf:
        zf.writestr("n" * 600 + ".csv", D)
    assert _all(counted(_split(long_name.getvalue(), 5)))


@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2", "w:xz"])
def test_tars_are_counted(counted: Any, mode: str) -> None:
    t = _tar(mode)
    assert _all(counted([HEAD % len(t), t])) and _all(counted(_split(t, 7)))


def test_raw_deflate_with_nothing_declaring_it(counted: Any) -> None:
    r = _raw(D)
    part = (b'--b\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n" + r + b"\r\n--b--\r\n")
    for sends in ([HEAD % len(r), r], [HEAD % 5 + b"data=" + r], [r], [b"hello " + r],
                  [b"p" * 100 + r], [HEAD % len(part) + part], [HEAD % len(part), part],
                  _split(r, 3), [b"note: " + r[:2]] + _split(r[2:], 5),
                  _split(b"note: " + r, 5), _split(b"id=7&payload=" + r, 4)):
        assert _all(counted(sends)), sends[0][:40]


def test_a_zlib_stream_behind_a_header_that_keeps_inflating(counted: Any) -> None:
    z = zlib.compress(D)
    junk = b"\x78\x9c" + zlib.compress(b"x" * 50)[2:-4]   # a header, then inflating bytes
    assert _all(counted([junk, z]))
    assert _all(counted([junk + z]))
    assert _all(counted([b"\x78\x9c\x00", z]))


def test_two_streams_at_once(counted: Any) -> None:
    half = D.index(b",", len(D) // 2) + 1   # each value whole in one of the two
    a, b = D[:half], D[half:]
    for pack in (zlib.compress, lambda d: __import__("gzip").compress(d), _raw):
        one, two = pack(a), pack(b)
        assert _all(counted([one + two]) | counted([one, two]))
        assert _all(counted(_split(one + two, 50)))
        for n in (30, 64):   # interleaved a send each, no framing (10-20 bytes: not followed)
            sends = [x for pair in itertools.zip_longest(_split(one, n), _split(two, n),
                                                         fillvalue=b"") for x in pair if x]
            assert _all(counted(sends)), n


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickles_of_pieces_and_long_runs(protocol: int) -> None:
    settings = MaskSettings()
    emails, ssns = EMAILS[5:30], SSNS[5:30]
    with remembering(EMAILS + SSNS):
        for obj in ([[e[i:i + 2] for i in range(0, len(e), 2)] for e in emails],
                    [[s[i:i + 3] for i in range(0, len(s), 3)] for s in ssns],
                    list(",".join(emails)), [c for e in emails for c in e]):
            assert exits.scan(pickle.dumps(obj, protocol=protocol), settings, decode=True), \
                repr(obj)[:60]
        rng = random.Random(protocol)
        for plain in ([str(rng.randrange(10)) for _ in range(5000)],
                      [str(rng.randrange(200, 999)) for _ in range(3000)],
                      [rng.choice(["CA", "NY", "TX"]) for _ in range(3000)],
                      [f"{rng.randrange(256):02x}" for _ in range(4000)], list("MF" * 2000)):
            data = pickle.dumps(plain, protocol=protocol)
            assert exits.scan(data, settings, decode=True) == "", repr(plain)[:60]
        assert b"CA" in exit_bytes.pickled(pickle.dumps(["CA", "NY"], protocol=protocol))


def test_pickles_sent_to_an_allowed_host(counted: Any) -> None:
    pieces = [[e[i:i + 2] for i in range(0, len(e), 2)] for e in EMAILS[5:30] + SSNS[5:30]]
    for protocol in (0, 2, 4, 5):
        data = pickle.dumps(pieces, protocol=protocol)
        assert _all(counted([data])), protocol
        assert _all(counted([struct.pack("!i", len(data)) + data])), protocol   # a Connection's
    plain = pickle.dumps([list(c) for c in ("Paris", "Lyon")] + [["CA", "NY"]] * 500)
    assert counted([plain]) == set()


def _png(width: int, height: int, rng: random.Random) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body))
    rows = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                              0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_plain_binary_counts_nothing(counted: Any) -> None:
    rng = random.Random(15)
    noise = rng.randbytes(1 << 20)
    png = _png(300, 200, rng)
    plain = b"id,city,amount\n" + b"".join(b"%d,Paris,%d.50\n" % (i, i) for i in range(3000))
    uploads = [_split(noise, 1 << 16), [HEAD % len(png), png], _split(png, 1000),
               [HEAD % 9, _zip(zipfile.ZIP_DEFLATED, plain)], _split(_tar("w:gz", plain), 700),
               [_raw(plain)], [b"data=" + _raw(plain)], _split(_zip(zipfile.ZIP_LZMA, plain), 64)]
    for sends in uploads:
        assert counted(sends) == set()
    sock, entry = _Sock(), ["127.0.0.1", b"", 0]
    rt = SimpleNamespace(guard=SimpleNamespace(policy=SimpleNamespace(
        max_values_per_cell=1, max_values_per_session=1)))
    for data in _split(noise, 1 << 16):   # random bytes leave no stream followed after them
        exit_socket._spend(rt, sock, entry, data, "test")
    assert len(exit_follow._streams.get(sock, [])) <= 1


def test_random_binary_guesses_rarely() -> None:
    """Raw deflate is guessed at a few places a send (its start, after a head, before text turns
    to binary): random bytes pass the text test about once a megabyte or less."""
    rng = random.Random(7)
    kept = sum(1 for _ in range(16) for _at, kind in exit_inflate.starts(rng.randbytes(1 << 16))
               if kind in (-15, "guess"))
    assert kept <= 2, kept
