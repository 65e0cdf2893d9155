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
import zlib
from collections.abc import Sequence
from typing import Any, NamedTuple

from jupyter_guard.hooks import encoded
from jupyter_guard.hooks.exit_inflate import INFLATE_MAX
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


def pickled(data: Any) -> bytes:
    """The strings inside a pickle written at once (``pickle.dumps(...)`` then ``write``,
    ``shelve``), one per line: a pickle glues each string to the opcode after it, so its values
    are no token of their own. A value pickled a few characters at a time (``[list(e) for e in
    emails]``, pieces of 2-3 characters) is read whole too: each run of strings of at most
    ``PIECE`` characters in a row, joined (a piece met again is a memo fetch,
    ``GET``/``BINGET``, followed here). Read with
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
            if got is not None and len(got) <= 12 and len(got.decode("utf-8", "replace")) <= PIECE:
                run.append(got)
                continue
            if len(run) >= 2:
                joined.append(b"".join(run))
            run = []
    except Exception:  # noqa: BLE001 - a truncated or foreign stream: what was read so far is scanned, and the bytes as they are
        pass
    if len(run) >= 2:
        joined.append(b"".join(run))
    return b"\n".join(found + joined)


PIECE = 3
"""The longest string read as a piece of a value spelt out (``[e[i:i + 3] for i in ...]``):
runs of two or more such strings in a row are read joined, however long (a flat list of every
character of every value, a column of two-letter codes: only what the scan finds in them
counts)."""
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
