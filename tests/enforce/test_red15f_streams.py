"""What the exfiltration budget and the file exits read back from bytes (issue 15, red15f), without
a kernel: pickles of values one character at a time (any protocol, memo fetches followed),
compressed streams sent over several sends (``exit_inflate.Inflating``: HTTP heads, chunked
framing, raw deflate, a bomb stopped at ``STREAM_MAX``), and the budget's readings of a query
(base64, base32, hex, URL quoting). Each with its plain twin: nothing found, nothing held."""
from __future__ import annotations

import base64
import bz2
import gzip
import lzma
import pickle
import random
import re
import time
import zlib
from collections.abc import Iterator

import pytest

from jupyter_guard.hooks import exit_budget, exit_bytes, exit_inflate, exits
from jupyter_guard.mask.text import MaskSettings
from tests.enforce.known_values import remembering

EMAILS = [f"first.last{i}@corp.example" for i in range(200)]
SSNS = [str(100000012 + 7919 * i) for i in range(200)]


@pytest.fixture()
def remembered() -> Iterator[None]:
    with remembering(EMAILS + SSNS):
        yield


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickled_characters_are_read_joined(remembered: None, protocol: int) -> None:
    settings = MaskSettings()
    for obj in ([list(e) for e in EMAILS[:5]], [tuple(s) for s in SSNS[:5]],
                {"k": [list(EMAILS[7])]}):
        data = pickle.dumps(obj, protocol=protocol)
        assert exits.scan(data, settings, decode=True), (protocol, data[:60])
    plain = pickle.dumps([list(c) for c in ("Paris", "Lyon", "Nice")] + [list("AB") * 500],
                         protocol=protocol)
    assert exits.scan(plain, settings, decode=True) == ""
    assert b"Paris" in exit_bytes.pickled(plain)


def _send(parts: list[bytes]) -> bytes:
    """What an ``Inflating`` started on the first part gives back over all of them."""
    sent = b""
    for i, part in enumerate(parts):   # as ``exit_socket._inflated``: the header may be split
        started = exit_inflate.Inflating.start(part) or exit_inflate.Inflating.across(
            sent[-exit_inflate.HEADER + 1:], part)
        sent += part
        if started is not None:
            state, out = started
            return out + b"".join(state.feed(p) for p in parts[i + 1:])
    raise AssertionError("no stream started")


def test_streams_are_followed_over_sends() -> None:
    body = ",".join(EMAILS[:40]).encode()
    g, z = gzip.compress(body), zlib.compress(body)
    raw = zlib.compressobj(wbits=-15)
    r = raw.compress(body) + raw.flush()
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Encoding: %s\r\n%s\r\n"
    chunked = b"Transfer-Encoding: chunked\r\n"
    assert _send([g[:5], g[5:11], g[11:]]) == body   # a raw socket, a few bytes a send
    assert _send([head % (b"gzip", chunked)] + [b"%x\r\n%s\r\n" % (len(g[i:i + 7]), g[i:i + 7])
                                                for i in range(0, len(g), 7)]) == body
    assert _send([head % (b"deflate", b""), z]) == body
    assert _send([head % (b"deflate", b"") + r]) == body
    assert _send([head % (b"deflate", b""), r[:9], r[9:]]) == body
    assert exit_inflate.streams(b"HTTP/1.1 200\r\n\r\n" + z) == [body]


def test_a_bomb_stops_at_the_cap() -> None:
    bomb = zlib.compress(bytes(64 << 20), 9)
    t0 = time.process_time()
    with pytest.raises(exit_inflate.TooLarge):
        _send([b"POST / HTTP/1.1\r\nContent-Encoding: deflate\r\n\r\n", bomb])
    assert time.process_time() - t0 < 5   # 8 MB inflated, not 64


def test_plain_bytes_start_no_stream() -> None:
    for data in (b"x^2 + y^2 = z^2\n", b"GET /?q=x%5E2 HTTP/1.1\r\nHost: x\r\n\r\n",
                 b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", "x\u00da".encode()):
        started = exit_inflate.Inflating.start(data)
        assert started is None or started[1] == b"", data


def test_the_budget_reads_encoded_queries(remembered: None) -> None:
    ssns, emails = ",".join(SSNS[5:30]), ",".join(EMAILS[5:30])
    for query in (base64.b64encode(ssns.encode()).decode(), emails.encode().hex(),
                  base64.b32encode(ssns.encode()).decode(),
                  base64.urlsafe_b64encode(emails.encode()).decode().replace("=", "%3D")):
        got = exit_budget.known_sent(f"GET /?d={query} HTTP/1.1\r\n\r\n".encode())
        assert len(got & set(SSNS + EMAILS)) == 25, query[:40]
    plain = "GET /?id=" + base64.b64encode(b"order-000123,PRD-000777").decode()
    assert exit_budget.known_sent(plain.encode()) == set()
    assert "order-000123,PRD-000777" in "\n".join(exit_budget.readings(plain))


def test_bz2_xz_and_streams_inside_a_send_are_followed() -> None:
    body = ",".join(EMAILS[:40]).encode()
    plain = b"name=report&note=" + b"n" * 83   # 100 plain bytes, then the stream
    for packed in (bz2.compress(body), lzma.compress(body)):
        assert _send([packed[:4], packed[4:9], packed[9:]]) == body
        assert _send([b"POST / HTTP/1.1\r\nHost: x\r\n\r\n", packed]) == body
        assert _send([plain + packed]) == body
    for packed in (gzip.compress(body), zlib.compress(body), zlib.compress(body, 1)):
        assert _send([plain + packed[:20], packed[20:]]) == body
    assert exit_inflate.streams(plain + zlib.compress(body)) == [body]


def test_bz2_and_xz_bombs_stop_at_the_cap() -> None:
    for bomb in (bz2.compress(bytes(64 << 20), 9), lzma.compress(bytes(64 << 20))):
        t0 = time.process_time()
        with pytest.raises(exit_inflate.TooLarge):
            _send([bomb[:1000], bomb[1000:]])
        assert time.process_time() - t0 < 10   # 8 MB inflated, not 64


def test_random_binary_starts_no_stream() -> None:
    """Random bytes hold zlib headers (``x\\x9c`` ...) by chance: each fails its trial."""
    data = random.Random(15).randbytes(1 << 20)
    assert len(re.findall(rb"\x78[\x01\x5e\x9c\xda]", data)) > 20
    for i in range(0, len(data), 1 << 16):
        assert exit_inflate.starts(data[i:i + (1 << 16)]) in ([], [(0, 15)]) or \
            exit_inflate.Inflating.start(data[i:i + (1 << 16)]) is None
    assert exit_inflate.streams(data) == []
