"""What the exits' scan reads in a write: its bytes as text, what a compressed stream or a pickle
written at once holds, whether it is binary; and one RE2 pass that answers two questions at
once: which detectors have a candidate in the text (``mask.scan.present``) and whether it may
hold an encoded run (``encoded.may_hold``).

Each question alone is one RE2 pass over every byte (~1.8 ms a MB each); asked together, in one
``re2.Set`` holding the detectors' prefilters and the encoded-run gate, a megabyte of plain text
is read once. ``candidates`` answers only what the two passes would: a detector's value holds
its prefilter, and the gate is the one ``may_hold`` runs (``tests/enforce/test_shared_pass.py``
compares verdicts with and without it on generated corpora).

>>> candidates("2026-01-01 00:00:00,PRD-000001,12.5", ())
>>> from jupyter_guard.mask.text import MaskSettings
>>> candidates("id,code\\n1,PRD-000001\\n" * 200, MaskSettings().enabled)
Shared(detectors=False, encoded=False)
>>> candidates("mail jane@example.com " + "x " * 1500, MaskSettings().enabled)
Shared(detectors=True, encoded=False)
>>> candidates("q=dXNlcjFAZXhhbXBsZS5jb20= " + "x " * 1500, MaskSettings().enabled).encoded
True
"""
from __future__ import annotations

import lzma
import re
import zlib
from collections.abc import Sequence
from typing import Any, NamedTuple

from jupyter_guard.hooks import encoded
from jupyter_guard.mask.patterns import PREFILTER

try:  # google-re2, as ``mask.scan`` uses it
    import re2 as _re2
except ImportError:  # pragma: no cover - depends on the environment
    _re2 = None

SHARED_MIN = 2048
"""Texts at least this long get the shared pass (``mask.scan.RE2_MIN``: shorter ones are read by
each detector's set call and ``may_hold``, which cost a few µs there)."""


class Shared(NamedTuple):
    detectors: bool   # some detector has a candidate (False: ``first`` finds nothing)
    encoded: bool     # ``encoded.may_hold`` holds (False: ``encoded.decoded`` finds nothing)


_SETS: dict[int, tuple[Sequence[Any], Any]] = {}


def _set_for(detectors: Sequence[Any]) -> Any:
    """The set of ``detectors``' prefilters and, last, the encoded gate; by the identity of the
    sequence (a settings object keeps its tuple; the entry keeps it alive)."""
    entry = _SETS.get(id(detectors))
    if entry is None or entry[0] is not detectors:
        if len(_SETS) > 64:
            _SETS.clear()
        options = _re2.Options()
        options.max_mem = 64 << 20
        found = _re2.Set.SearchSet(options)
        for d in detectors:
            found.Add(PREFILTER.get(d.name, d.candidate))
        found.Add(encoded.gate_pattern())
        found.Compile()
        entry = (detectors, found.Match)
        _SETS[id(detectors)] = entry
    return entry[1]


def candidates(text: str, detectors: Sequence[Any]) -> Shared | None:
    """One RE2 pass over ``text``: whether a detector has a candidate and whether the text may
    hold an encoded run. None when the pass does not apply (no RE2, no detectors, a short text,
    a lone surrogate, which the two questions would read differently): ask each alone."""
    if _re2 is None or not detectors or len(text) < SHARED_MIN:
        return None
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:   # ``present`` keeps surrogates, ``may_hold`` replaces them
        return None
    hits = _set_for(detectors)(data) or ()
    gate = len(detectors)
    return Shared(any(i != gate for i in hits), gate in hits)


DENSE = "\x00dense\x00"      # marks text decoded from UTF-16/32 (numpy string arrays)


def text_of(data: Any) -> str:
    if isinstance(data, str):
        return data
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        if b"\x00" in raw and raw.count(0) > len(raw) // 4:   # UTF-16/32 ('<U' arrays): no NULs
            return DENSE + raw.replace(b"\x00", b"").decode("latin-1")
        return raw.decode("latin-1")
    return ""


_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"),
          (b"\x78\x01", "zlib"), (b"\x78\x5e", "zlib"), (b"\x78\x9c", "zlib"),
          (b"\x78\xda", "zlib"))
INFLATE_MAX = 1 << 20


def inflated(data: Any) -> bytes:
    """A whole compressed stream written at once (``gzip.compress(...)``): its first
    ``INFLATE_MAX`` bytes, uncompressed ('' when it is not one)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return b""
    head = bytes(data[:6])
    kind = next((k for m, k in _MAGIC if head.startswith(m)), "")
    if not kind:
        return b""
    import bz2

    try:
        if kind == "bz2":
            return bz2.BZ2Decompressor().decompress(bytes(data), INFLATE_MAX)
        if kind == "xz":
            return lzma.LZMADecompressor().decompress(bytes(data), INFLATE_MAX)
        return zlib.decompressobj(47 if kind == "gzip" else 15).decompress(bytes(data),
                                                                          INFLATE_MAX)
    except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError):
        return b""   # not a stream after all (or a piece of one): the bytes were scanned as is


STREAM_MAX = 8 << 20
"""The most a compressed stream sent to an allowed host is inflated to, for the exfiltration
budget's count: past it the send is refused (``exit_budget.refuse_unread``), never read on."""
_GZIP = b"\x1f\x8b\x08"
_ZLIB = (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda")
_CHUNK_LINE = re.compile(rb"[0-9a-fA-F]{1,8}\r\n")


_ERRORS = (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError)


class TooLarge(Exception):
    """A compressed stream inflates past ``STREAM_MAX``."""


class Inflating:
    """A compressed stream as it is sent, one send at a time (gzip, zlib or raw deflate: an int
    ``wbits``; ``"bz2"``, ``"xz"``): what each send adds, inflated (``STREAM_MAX`` bytes at
    most in all: ``TooLarge`` past it). ``chunked``: each send is one chunk of a chunked HTTP
    body (``HEX\\r\\n`` before it, ``\\r\\n`` after it, dropped). ``wbits`` None: an HTTP
    head declared a compressed body still to come (``raw``: as ``deflate``, which may be a raw
    deflate stream); its first bytes say which."""

    def __init__(self, wbits: int | str | None, chunked: bool, raw: bool = False) -> None:
        self._d = None if wbits is None else _opened(wbits)
        self.chunked, self.raw, self.total, self.tail = chunked, raw, 0, b""
        self.dead = False

    @property
    def done(self) -> bool:
        return self.dead or (self._d is not None and bool(self._d.eof))

    def feed(self, piece: bytes) -> bytes:
        if self.chunked and (m := _CHUNK_LINE.match(piece)):
            piece = piece[m.end():].removesuffix(b"\r\n")
        if self._d is None:
            if not piece:
                return b""
            kind = _kind(piece) or (-15 if self.raw else 0)
            if not kind:   # not compressed after all
                self.dead = True
                return b""
            self._d = _opened(kind)
        try:
            out = self._d.decompress(piece, STREAM_MAX - self.total + 1)
        except _ERRORS:
            self.dead = True   # no stream after all: the bytes were counted as sent
            return b""
        self.total += len(out)
        if self.total > STREAM_MAX:
            raise TooLarge
        return out

    @classmethod
    def start(cls, data: bytes) -> tuple[Inflating, bytes] | None:
        """The stream that starts in ``data`` (``starts``) and what of it ``data`` holds,
        inflated; or a head declaring one, whose body is still to come; None otherwise."""
        cut = data.find(b"\r\n\r\n", 0, 65536)
        head = data[:cut].lower() if cut >= 0 else b""
        chunked = b"transfer-encoding: chunked" in head
        framed = _CHUNK_LINE.match(data)   # a chunk of a chunked body, alone
        for at, wbits in starts(data):
            inf = cls(wbits, chunked or (framed is not None and at == framed.end()))
            out = inf.feed(data[at:])   # raises ``TooLarge``
            if not inf.dead:
                return inf, out
        declared = _ENCODING.search(head)
        if declared and cut + 4 == len(data):
            return cls(None, chunked, raw=declared.group(1) == b"deflate"), b""
        return None


    @classmethod
    def across(cls, prev: bytes, data: bytes) -> tuple[Inflating, bytes] | None:
        """A stream whose header began in the last send (``prev``: its last ``HEADER - 1``
        bytes) and goes on in ``data``: a raw socket sending a few bytes at a time."""
        for i in range(len(prev)):
            joint = prev[i:] + data
            kind = _kind(joint[:HEADER])
            if kind and (kind != 15 or _tried(joint, 0)):
                inf = cls(kind, False)
                out = inf.feed(joint)   # raises ``TooLarge``
                if not inf.dead:
                    return inf, out
        return None


HEADER = 10   # the longest header ``_kind`` reads (a bz2 block's)
_BZ2 = re.compile(rb"BZh[1-9](?:1AY&SY|\x17rE8P\x90)")   # a block, or the end of an empty stream
_XZ = b"\xfd7zXZ\x00"
_ZLIB_AT = re.compile(rb"\x78[\x01\x5e\x9c\xda]")
TRIAL = 64
"""Bytes a zlib header met inside a send must inflate without error before it is followed
(random binary holds one every 16 KB or so; a trial costs ~1.5 µs and rejects nearly all)."""


def _kind(piece: bytes) -> int | str:
    """The stream ``piece`` begins with: its ``wbits`` (gzip, zlib), ``"bz2"``, ``"xz"``; 0."""
    head = piece[:6]
    return 31 if head[:2] == _GZIP[:2] else 15 if head[:2] in _ZLIB else \
        "bz2" if _BZ2.match(piece) else "xz" if head == _XZ else 0


def _opened(kind: int | str) -> Any:
    """A fresh incremental decompressor for ``kind`` (``Inflating``'s ``wbits``)."""
    import bz2

    if kind == "bz2":
        return bz2.BZ2Decompressor()
    if kind == "xz":
        return lzma.LZMADecompressor(lzma.FORMAT_XZ)
    return zlib.decompressobj(int(kind))


def _tried(data: bytes, at: int) -> bool:
    """Whether ``TRIAL`` bytes from ``at`` inflate as zlib without error."""
    try:
        zlib.decompressobj(15).decompress(data[at:at + TRIAL])
    except zlib.error:
        return False
    return True


_ENCODING = re.compile(rb"(?m)^content-encoding:[ \t]*(gzip|x-gzip|deflate)")


def starts(data: bytes) -> list[tuple[int, int | str]]:
    """Where a compressed stream may start in ``data`` and its kind (``Inflating``'s ``wbits``):
    a gzip header, a bz2 block or an xz header anywhere (the first 8 of each), a zlib header at
    the start, after an HTTP head or after a chunk's size line, or anywhere else where its
    first ``TRIAL`` bytes inflate, and raw deflate after a head saying ``Content-Encoding:
    deflate``."""
    out: list[tuple[int, int | str]] = []
    at, cut = [0], data.find(b"\r\n\r\n", 0, 65536)
    if cut >= 0:
        at.append(cut + 4)
    if m := _CHUNK_LINE.match(data, at[-1]):
        at.append(m.end())
    for m in _ZLIB_AT.finditer(data):   # one trial of ``TRIAL`` bytes each, at most
        if m.start() in at or _tried(data, m.start()):
            out.append((m.start(), 15))
    if cut >= 0 and len(data) > at[-1] and b"content-encoding: deflate" in data[:cut].lower() \
            and data[at[-1]:at[-1] + 2] not in _ZLIB:
        out.append((at[-1], -15))
    for found, kind in ((_GZIP, 31), (_XZ, "xz")):
        i, n = data.find(found), 0
        while i >= 0 and n < 8:
            out.append((i, kind))
            i, n = data.find(found, i + 3), n + 1
    out += [(m.start(), "bz2") for m, _ in zip(_BZ2.finditer(data), range(8))]
    return sorted(out, key=lambda s: s[0])


def streams(data: bytes) -> list[bytes]:
    """Each compressed stream that ``starts`` in ``data``, inflated (``INFLATE_MAX`` bytes at
    most each; b'' streams left out)."""
    out = []
    for at, kind in starts(data):
        try:
            got = _opened(kind).decompress(data[at:], INFLATE_MAX)
        except _ERRORS:
            continue
        if got:
            out.append(got)
    return out


def pickled(data: Any) -> bytes:
    """The strings inside a pickle written at once (``pickle.dumps(...)`` then ``write``,
    ``shelve``), one per line: a pickle glues each string to the opcode after it, so its values
    are no token of their own. A value pickled one character at a time (``[list(e) for e in
    emails]``) is read whole too: each run of single characters in one container, joined (a
    character met again is a memo fetch, ``GET``/``BINGET``, followed here). Read with
    ``pickletools`` (nothing is unpickled); b'' when ``data`` is no pickle.

    >>> import pickle
    >>> pickled(pickle.dumps([list("ann@ex.org"), ["x"]], protocol=0)).split(b"\\n")[-2:]
    [b'x', b'ann@ex.org']
    """
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) < 4:
        return b""
    head, tail = bytes(data[:2]), bytes(data[-1:])
    if not ((head[:1] == b"\x80" and 2 <= head[1] <= 5) or (head[:1] in b"(]}" and tail == b".")):
        return b""
    import pickletools

    found: list[bytes] = []
    memo: dict[int, bytes | None] = {}
    last: bytes | None = None   # the string just pushed (a memo put stores it)
    run: list[bytes] = []       # single characters pushed in a row in one container
    joined: list[bytes] = []
    try:
        for op, arg, _pos in pickletools.genops(bytes(data[:INFLATE_MAX])):
            got = arg.encode("utf-8", "surrogatepass") if isinstance(arg, str) else \
                bytes(arg) if isinstance(arg, (bytes, bytearray)) else None
            name = op.name
            if got is not None and name not in _MEMO_OPS:
                found.append(got)
            elif name in _GETS:
                got = memo.get(int(arg)) if arg is not None else None
            elif name in _PUTS or name == "MEMOIZE":
                memo[len(memo) if name == "MEMOIZE" or arg is None else int(arg)] = last
                continue
            elif name in _WITHIN:
                continue
            last = got
            if got is not None and len(got) <= 4 and len(got.decode("utf-8", "replace")) == 1:
                run.append(got)
                continue
            if 4 <= len(run) <= JOINED_MAX:
                joined.append(b"".join(run))
            run = []
    except Exception:  # noqa: BLE001 - a truncated or foreign stream: what was read so far is scanned, and the bytes as they are
        pass
    if 4 <= len(run) <= JOINED_MAX:
        joined.append(b"".join(run))
    return b"\n".join(found + joined)


JOINED_MAX = 254
"""The longest run of single characters read joined (an e-mail's longest): a longer one is a
column of one-character codes, not a value spelt out."""
_GETS = frozenset(("GET", "BINGET", "LONG_BINGET"))
_PUTS = frozenset(("PUT", "BINPUT", "LONG_BINPUT"))
_MEMO_OPS = _GETS | _PUTS
# opcodes that keep a run of characters going: appending to the same list, framing, marks
_WITHIN = frozenset(("APPEND", "APPENDS", "MARK", "FRAME", "ADDITEMS", "SETITEM", "SETITEMS"))


# bytes text never holds (a float64 of a card number may have no NUL)
_TEXT_BYTES = bytes(c for c in range(256) if (c >= 32 and c != 127) or chr(c) in "\t\n\r\f\v")


def control(data: Any) -> bool:
    """Whether ``data`` is bytes holding a control byte (binary, not text: a float64 of a card
    number may hold no NUL)."""
    return isinstance(data, (bytes, bytearray, memoryview)) and bool(
        bytes(data).translate(None, _TEXT_BYTES))
