"""Compressed streams in what a socket sends to an allowed host, for the exfiltration budget's
count (``exit_socket._inflated``; ``exit_budget.readings`` for one send at once): where one may
start in a send (``starts``), and each followed over the socket's sends (``Inflating``).

Kinds (``Inflating``'s ``wbits``): gzip (31), zlib (15), raw deflate (-15), ``"bz2"``, ``"xz"``,
``"ziplzma"`` (a zip member's LZMA: a 4-byte head and 5 bytes of properties before raw LZMA1),
``"stored<size>"`` (a stored zip member's bytes, read apart from the name before them)
and ``"guess"`` (raw deflate where nothing says so, kept only while what it inflates reads as
text: ``texty``). A zip member's data starts after its local header (``PK\\x03\\x04``, 30 bytes,
its name and extra field): deflated members are raw deflate, bzip2 and LZMA ones their own
kinds, stored ones plain bytes; a tar's members are plain bytes after a 512-byte header, read
as sent.
"""
from __future__ import annotations

import lzma
import re
import struct
import zlib
from typing import Any

INFLATE_MAX = 1 << 20
STREAM_MAX = 8 << 20
"""The most a compressed stream sent to an allowed host is inflated to, for the exfiltration
budget's count: past it the send is refused (``exit_budget.refuse_unread``), never read on."""
_GZIP = b"\x1f\x8b\x08"
_ZLIB = (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda")
_CHUNK_LINE = re.compile(rb"[0-9a-fA-F]{1,8}\r\n")
_ERRORS = (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError)


class TooLarge(Exception):
    """A compressed stream inflates past ``STREAM_MAX``."""


_PRINTABLE = bytes(range(32, 127)) + b"\t\n\r"
GUESS_JUDGED = 64
"""Bytes a guessed raw deflate stream inflates to before it is judged (``texty``)."""


def texty(out: bytes, ended: bool = False) -> bool | None:
    """Whether inflated bytes read as text (3/4 printable, a dozen distinct bytes or half of
    them): random bytes that inflate as raw deflate by chance give runs of one byte or binary.
    None while fewer than ``GUESS_JUDGED`` bytes came out of a stream not yet ``ended``."""
    if len(out) < GUESS_JUDGED and not ended:
        return None
    if len(out) < 8:
        return False
    return len(out.translate(None, _PRINTABLE)) * 4 <= len(out) and \
        len(set(out)) >= min(12, len(out) // 2)


class _ZipLzma:
    """A zip member's LZMA data (method 14): its 9-byte head read, then raw LZMA1."""

    def __init__(self) -> None:
        self.head = b""
        self._d: Any = None

    @property
    def eof(self) -> bool:
        return self._d is not None and bool(self._d.eof)

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        if self._d is None:
            self.head += data
            if len(self.head) < 9:
                return b""
            props = self.head[4:9]
            data, self.head = self.head[9:], b""
            filt = lzma._decode_filter_properties(lzma.FILTER_LZMA1, props)  # type: ignore[attr-defined]
            self._d = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[filt])
        return bytes(self._d.decompress(data, max_length))


class _Stored:
    """A stored zip member's bytes, as they are (``size`` of them): read apart from its local
    header, whose name would glue itself to the first value."""

    def __init__(self, size: int) -> None:
        self.left, self.unused_data = size, b""

    @property
    def eof(self) -> bool:
        return self.left <= 0

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        out, self.left = data[:max(self.left, 0)], self.left - len(data)
        if self.left < 0:
            self.unused_data = data[len(data) + self.left:]
        return out


class Inflating:
    """A compressed stream as it is sent, one send at a time: what each send adds, inflated
    (``STREAM_MAX`` bytes at most in all: ``TooLarge`` past it). ``chunked``: each send is one
    chunk of a chunked HTTP body (``HEX\\r\\n`` before it, ``\\r\\n`` after it, dropped).
    ``wbits`` None: an HTTP head declared a compressed body still to come (``raw``: as
    ``deflate``, which may be a raw deflate stream); its first bytes say which. ``skip``: bytes
    still to come before the stream (the rest of a zip member's local header)."""

    def __init__(self, wbits: int | str | None, chunked: bool, raw: bool = False,
                 skip: int = 0) -> None:
        self.guess = wbits == "guess"
        self._d = None if wbits is None else _opened(wbits)
        self.chunked, self.raw, self.total, self.tail = chunked, raw, 0, b""
        self.dead, self.skip, self.seen, self.misses = False, skip, b"", 0

    @property
    def done(self) -> bool:
        return self.dead or (self._d is not None and bool(self._d.eof))

    @property
    def rest(self) -> bytes:
        """What was sent after the stream's end (another stream may start there)."""
        return bytes(getattr(self._d, "unused_data", b"") or b"") if self.done else b""

    def feed(self, piece: bytes) -> bytes:
        if self.chunked and (m := _CHUNK_LINE.match(piece)):
            piece = piece[m.end():].removesuffix(b"\r\n")
        if self.skip:
            piece, self.skip = piece[self.skip:], max(0, self.skip - len(piece))
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
        if self.guess:   # a guessed raw deflate stream: followed while it reads as text
            self.seen = (self.seen + out)[:GUESS_JUDGED]
            verdict = texty(self.seen, bool(self._d.eof))
            if verdict is not None:
                self.guess, self.dead = False, not verdict
        return out

    def offer(self, piece: bytes) -> bytes | None:
        """``feed`` when ``piece`` goes on the stream; None (the stream as it was) when it does
        not: tried on a copy where the decompressor has one (zlib, gzip, raw deflate), so a
        stream interleaved with another's sends is still followed."""
        if self._d is None or not hasattr(self._d, "copy"):
            out = self.feed(piece)
            return None if self.dead else out
        saved = dict(self.__dict__)
        self._d = self._d.copy()
        out = self.feed(piece)
        if self.dead:
            self.__dict__.update(saved)
            return None
        return out

    def copy(self) -> Inflating | None:
        """The stream as it is now, apart (None where its decompressor has no copy)."""
        if self._d is None or not hasattr(self._d, "copy"):
            return None
        twin = Inflating.__new__(Inflating)
        twin.__dict__.update(self.__dict__)
        twin._d = self._d.copy()
        return twin

    @classmethod
    def found(cls, data: bytes, limit: int = 8, guess: bool = True
              ) -> list[tuple[Inflating, bytes]]:
        """The streams that start in ``data`` (``starts``, at most ``limit``) and what of each
        ``data`` holds, inflated; or a head declaring one whose body is still to come."""
        cut = data.find(b"\r\n\r\n", 0, 65536)
        head = data[:cut].lower() if cut >= 0 else b""
        chunked = b"transfer-encoding: chunked" in head
        framed = _CHUNK_LINE.match(data)   # a chunk of a chunked body, alone
        out: list[tuple[Inflating, bytes]] = []
        for at, wbits in starts(data, guess):
            inf = cls(wbits, chunked or (framed is not None and at == framed.end()),
                      skip=max(0, at - len(data)))
            got = inf.feed(data[at:])   # raises ``TooLarge``
            if not inf.dead:
                out.append((inf, got))
                if len(out) >= limit:
                    return out
        declared = _ENCODING.search(head)
        if not out and declared and cut + 4 == len(data):
            out.append((cls(None, chunked, raw=declared.group(1) == b"deflate"), b""))
        return out

    @classmethod
    def start(cls, data: bytes) -> tuple[Inflating, bytes] | None:
        """The first of ``found`` that is no guess; None when there is none."""
        return next((f for f in cls.found(data) if not f[0].guess), None)

    @classmethod
    def across(cls, prev: bytes, data: bytes) -> tuple[Inflating, bytes] | None:
        """The first of ``joined`` that is no guess; None when there is none."""
        return next((f for f in cls.joined(prev, data) if not f[0].guess), None)

    @classmethod
    def joined(cls, prev: bytes, data: bytes) -> list[tuple[Inflating, bytes]]:
        """Streams whose header began in the last send (``prev``: the socket's last bytes) and
        go on in ``data``: a raw socket sending a few bytes at a time. A zip member's local
        header is read whole from ``prev`` and ``data`` joined, and raw deflate is guessed
        before text turning to binary across the two (``_guesses``; 4 at most)."""
        out: list[tuple[Inflating, bytes]] = []
        joint = prev + data
        for m in _ZIP.finditer(joint):
            if m.start() >= len(prev):
                break   # in ``data``: ``found`` reads it
            at, kind = _member(joint, m.start())
            if kind and at >= len(prev):   # its data starts in this send or after it
                out.append((cls(kind, False, skip=max(0, at - len(joint))), joint[at:]))
        for i in range(max(0, len(prev) - HEADER + 1), len(prev)):
            kind = _kind(prev[i:i + HEADER] + data[:HEADER])
            if kind and (kind != 15 or _tried(prev[i:] + data, 0)):
                out.append((cls(kind, False), prev[i:] + data))
        joint = prev[-4 * RAW_BEFORE:] + data   # text turning to binary where two sends meet
        base = len(joint) - len(data)
        for turn in (_TURN.match(joint, i) for i in range(max(0, base - 4), base)):
            if turn:   # its binary byte in ``data``
                out += [(cls(k, False), joint[i:]) for i in range(
                    max(0, turn.end() - 1 - RAW_BEFORE), turn.end()) if (k := _raw_tried(joint, i))]
                break
        fed = [(inf, inf.feed(piece)) for inf, piece in out[:8]]   # raises ``TooLarge``
        return [f for f in fed if not f[0].dead]


HEADER = 10   # the longest header ``_kind`` reads (a bz2 block's)
_BZ2 = re.compile(rb"BZh[1-9](?:1AY&SY|\x17rE8P\x90)")   # a block, or the end of an empty stream
_XZ = b"\xfd7zXZ\x00"
_ZLIB_AT = re.compile(rb"\x78[\x01\x5e\x9c\xda]")
_ZIP = re.compile(rb"PK\x03\x04")
TRIAL = 64
"""Bytes a zlib header met inside a send must inflate without error before it is followed
(random binary holds one every 16 KB or so; a trial costs ~1.5 µs and rejects nearly all)."""
RAW_TRIAL = 128
"""Bytes a guessed raw deflate start is inflated from, and must read as text (``texty``)."""
RAW_BEFORE = 16
"""Offsets tried before each place where text turns to binary in a send (a raw deflate stream's
first bytes may be printable)."""
TURNS = 8
"""Places where text turns to binary tried per send (``_turns``)."""
_TURN = re.compile(rb"[\x20-\x7e\t\n\r]{4}[^\x20-\x7e\t\n\r]")


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
    if kind == "ziplzma":
        return _ZipLzma()
    if isinstance(kind, str) and kind.startswith("stored"):
        return _Stored(int(kind[6:]))
    return zlib.decompressobj(-15 if kind == "guess" else int(kind))


def _tried(data: bytes, at: int) -> bool:
    """Whether ``TRIAL`` bytes from ``at`` inflate as zlib without error."""
    try:
        zlib.decompressobj(15).decompress(data[at:at + TRIAL])
    except zlib.error:
        return False
    return True


def _raw_tried(data: bytes, at: int) -> int | str:
    """``at`` as a raw deflate start: -15 when ``RAW_TRIAL`` bytes from it inflate to text,
    ``"guess"`` when the send ends first and what came out may still be text, else 0."""
    d = zlib.decompressobj(-15)
    try:
        out = d.decompress(data[at:at + RAW_TRIAL], 4 * GUESS_JUDGED)
    except zlib.error:
        return 0
    ended = bool(d.eof) or len(data) - at >= RAW_TRIAL
    verdict = texty(out, ended)
    return -15 if verdict else "guess" if verdict is None else 0


def _member(data: bytes, at: int) -> tuple[int, int | str]:
    """Where a zip member's data starts (its local header at ``at``) and its kind (0: stored or
    unknown, read as sent; ``at`` when the fixed part is not all in ``data`` yet)."""
    if len(data) < at + 30:
        return at, 0
    method, = struct.unpack_from("<H", data, at + 8)
    size, = struct.unpack_from("<I", data, at + 18)
    name, extra = struct.unpack_from("<HH", data, at + 26)
    stored = f"stored{min(size or INFLATE_MAX, INFLATE_MAX)}"
    kinds: dict[int, int | str] = {0: stored, 8: -15, 12: "bz2", 14: "ziplzma"}
    kind = kinds.get(int(method), 0)
    return at + 30 + int(name) + int(extra), kind


_ENCODING = re.compile(rb"(?m)^content-encoding:[ \t]*(gzip|x-gzip|deflate)")


def starts(data: bytes, guess: bool = True) -> list[tuple[int, int | str]]:
    """Where a compressed stream may start in ``data`` and its kind (``Inflating``'s ``wbits``):
    a gzip header, a bz2 block or an xz header anywhere (the first 8 of each), a zlib header at
    the start, after an HTTP head or after a chunk's size line, or anywhere else where its
    first ``TRIAL`` bytes inflate; a zip member's data (the first 8; its position may lie past
    ``data``'s end); raw deflate after a head saying ``Content-Encoding: deflate``, and where
    ``RAW_TRIAL`` bytes inflate to text at the start, after an HTTP head, a chunk's size line
    or a multipart part's head (the first 8), and up to ``RAW_BEFORE`` bytes before the first
    ``TURNS`` places where text turns to binary (``guess``: a stream under way took ``data``:
    none of these)."""
    out: list[tuple[int, int | str]] = []
    at, cut = [0], data.find(b"\r\n\r\n", 0, 65536)
    if cut >= 0:
        at.append(cut + 4)
    if m := _CHUNK_LINE.match(data, at[-1]):
        at.append(m.end())
    for m in _ZLIB_AT.finditer(data):   # one trial of ``TRIAL`` bytes each, at most
        if m.start() in at or _tried(data, m.start()):
            out.append((m.start(), 15))
    declared = cut >= 0 and b"content-encoding: deflate" in data[:cut].lower()
    if declared and len(data) > at[-1] and data[at[-1]:at[-1] + 2] not in _ZLIB:
        out.append((at[-1], -15))
    for found, kind in ((_GZIP, 31), (_XZ, "xz")):
        i, n = data.find(found), 0
        while i >= 0 and n < 8:
            out.append((i, kind))
            i, n = data.find(found, i + 3), n + 1
    out += [(m.start(), "bz2") for m, _ in zip(_BZ2.finditer(data), range(8))]
    for m, _ in zip(_ZIP.finditer(data), range(8)):
        begin, kind = _member(data, m.start())
        if kind and kind != "bz2":   # a bzip2 member starts with its own header
            out.append((begin, kind))
    taken = {s for s, _ in out}
    if guess:
        out += _guesses(data, at, taken)
    return sorted(out, key=lambda s: s[0])


def _guesses(data: bytes, anchors: list[int], taken: set[int]) -> list[tuple[int, int | str]]:
    """Raw deflate starts tried where nothing declares one (``starts``): one ``RAW_TRIAL`` each,
    ~1.3 µs, and random bytes pass about once in 60,000 offsets."""
    tried = set(anchors)
    parts = data.find(b"\r\n\r\n", anchors[-1])
    for _ in range(8):   # multipart parts' heads
        if parts < 0:
            break
        tried.add(parts + 4)
        parts = data.find(b"\r\n\r\n", parts + 4)
    for m, _ in zip(_TURN.finditer(data), range(TURNS)):
        tried.update(range(max(m.start(), m.end() - 1 - RAW_BEFORE), m.end()))
    out: list[tuple[int, int | str]] = []
    for i in sorted(tried - taken):
        if i < len(data) and (kind := _raw_tried(data, i)):
            out.append((i, kind))
            if len(out) >= 4:
                break
    return out


def streams(data: bytes) -> list[bytes]:
    """Each compressed stream that ``starts`` in ``data``, inflated (``INFLATE_MAX`` bytes at
    most each; b'' streams left out)."""
    out = []
    for at, kind in starts(data):
        try:
            got = _opened(kind).decompress(data[at:], INFLATE_MAX)
        except _ERRORS:
            continue
        if got and (kind != "guess" or texty(got, True)):
            out.append(got)
    return out
