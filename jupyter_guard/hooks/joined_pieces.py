"""Known values cut into pieces of any length inside serialised objects (a pickle, a marshal
dump, JSON text): ``[[s[:4], s[4:]] for s in ssns]``, an e-mail in 4-character chunks.

``exit_bytes.pickled`` joins runs of pieces of at most ``exit_bytes.PIECE`` characters (one or
two letters a string: read whole, then scanned by the detectors too). Longer pieces are each a
token of their own, and no known value. Here the strings of the object are read in the order
they were written (``strings``: pickle opcodes with their memo, marshal's string types, JSON
string literals), and each run of up to ``WINDOW`` consecutive pieces of at most ``LONGEST``
characters (or every other one: a dict's values) is joined and looked up among the known values
(``exits.known``): only values read from sensitive columns count, never what a detector would
make of joined strings (four-digit product codes joined are no card number here).

``carries(data)`` is why ``data`` holds a known value so cut ('' if not); ``found(data)`` the
values. Nothing is looked at until a value is known; then one pass over the object's strings,
``2 * WINDOW`` set lookups per piece (``STRINGS`` pieces at most are read).

>>> from jupyter_guard.hooks import exits
>>> import json, marshal, pickle
>>> saved = set(exits.known)
>>> exits.known.clear(); exits.remember(["100000012", "user5@example.com"])
>>> cut = [["1000", "00012"], ["user", "5@ex", "ampl", "e.co", "m"]]
>>> sorted(found(pickle.dumps(cut))) == sorted(found(marshal.dumps(cut))) == sorted(
...     found(json.dumps(cut).encode())) == ['100000012', 'user5@example.com']
True
>>> found(pickle.dumps([["1000", "2000"], ["CA", "NY"]])), carries(b"plain text")
([], '')
>>> exits.known.clear(); exits.known.update(saved)
"""
from __future__ import annotations

import json
import re
import struct
from typing import Any

from jupyter_guard.hooks import exits

WINDOW = 8
"""Consecutive pieces joined at most (an e-mail of 32 characters in 4-character chunks)."""
LONGEST = 16
"""The longest string read as a piece (a longer one ends a run)."""
STRINGS = 1_000_000
"""Pieces read at most per object (a cost bound; past it the rest is not joined)."""
WHOLE = 1 << 16
"""A pickle up to this size is read opcode by opcode, its memo followed (``pickletools``: ~0.8
ms a KB); a longer one, and a later batch of one, by its strings' opcodes (~0.1 ms a KB;
memo fetches, a piece repeated by reference, are not followed)."""
REASON = "values read from a sensitive column, cut into pieces"


def carries(data: Any) -> str:
    """Why ``data`` holds a known value cut into pieces ('' when it does not)."""
    return REASON if exits.known and found(data, first=True) else ""


def found(data: Any, *, first: bool = False) -> list[str]:
    """The known values that consecutive strings of the object serialised in ``data`` spell
    joined (``first``: stop at the first)."""
    if not exits.known:
        return []
    if isinstance(data, str):   # (JSON written to a text file)
        data = data.encode("utf-8", "surrogatepass")
    elif not isinstance(data, (bytes, bytearray, memoryview)):
        return []
    pieces = strings(bytes(data))
    return _joined(pieces, first) if len(pieces) >= 2 else []


def _joined(pieces: list[str | None], first: bool) -> list[str]:
    """Known values that 2 to ``WINDOW`` consecutive pieces spell, or every other piece (a
    dict's values between its keys: ``{'a': s[:5], 'b': s[5:]}``): each window joined and
    looked up at C speed (``zip`` of shifted lists, one set intersection per width)."""
    known, longest = exits.known, _longest()
    texts = [p if p is not None else "\x00" for p in pieces]   # (no known value holds a NUL)
    shortest = min((len(p) for p in pieces if p is not None), default=1)
    out: set[str] = set()
    for step in (1, 2):
        for width in range(2, min(WINDOW, max(2, longest // shortest)) + 1):
            shifted = [texts[k * step:] for k in range(width)]
            out |= known.intersection(map("".join, zip(*shifted)))
            if first and out:
                return sorted(out)
    return sorted(out)


_LONGEST = [-1, -1, 0]   # (``known.resets``, its size, its longest value) when last measured


def _longest() -> int:
    """The length of the longest known value (measured again when the values changed)."""
    known = exits.known
    resets, size = getattr(known, "resets", 0), len(known)
    if _LONGEST[:2] != [resets, size]:
        _LONGEST[:] = [resets, size, max(map(len, known), default=0)]
    return _LONGEST[2]


def strings(data: bytes) -> list[str | None]:
    """The strings of the object serialised in ``data``, in order (None: a string too long to
    be a piece, or something else between two runs); [] when ``data`` is none of the three."""
    head = data[:1]
    if (head == b"\x80" or (head in (b"(", b"]", b"}") and data[-1:] == b".")) \
            and len(data) <= WHOLE:
        return _pickle(data)
    if head and (head[0] & 0x7F) in _CONTAINERS:
        got = _marshal(data)
        if got:
            return got
    if b"\x8c" in data or b"\x95" in data or b"\nV" in data:   # a pickle's later batch
        got = _pickle_strings(data)
        if len(got) >= 2:
            return got
    if head in (b"[", b"{", b'"') or data[:1].isspace() or b'", "' in data or b'","' in data:
        return _json(data)   # (a later batch of JSON text too)
    return []


# a pickle's strings read anywhere in it (a batch of a long one starts at no opcode): short
# ones of protocols 2+ (SHORT_BINUNICODE, SHORT_BINBYTES) and protocol 0's ``V…\n`` lines
_PICKLED = re.compile(rb"[\x8cC]([\x01-\x10])|X([\x01-\x10])\x00\x00\x00|V([^\n]{1,%d})\n"
                      % LONGEST)


def _pickle_strings(data: bytes) -> list[str | None]:
    """The short strings of a piece of a pickle, in order (memo fetches not followed)."""
    out: list[str | None] = []
    at = 0
    while len(out) < STRINGS:
        m = _PICKLED.search(data, at)
        if m is None:
            break
        sized = m.group(1) or m.group(2)
        if sized is not None:
            size = sized[0]
            out.append(data[m.end():m.end() + size].decode("utf-8", "replace"))
            at = m.end() + size
        else:
            out.append(m.group(3).decode("raw_unicode_escape", "replace"))
            at = m.end()
    return out


def _piece(s: str) -> str | None:
    return s if 0 < len(s) <= LONGEST else None


def _pickle(data: bytes) -> list[str | None]:
    import pickletools

    out: list[str | None] = []
    memo: dict[int, str | None] = {}
    last: str | None = None
    try:
        for op, arg, _ in pickletools.genops(data):
            name = op.name
            if isinstance(arg, str) and "PUT" not in name and "GET" not in name:
                last = _piece(arg)
                out.append(last)
            elif isinstance(arg, (bytes, bytearray)):
                last = _piece(bytes(arg).decode("latin-1"))
                out.append(last)
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                last = memo.get(int(arg)) if arg is not None else None
                out.append(last)
            elif name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):
                memo[len(memo) if name == "MEMOIZE" or arg is None else int(arg)] = last
            elif name in _WITHIN:
                continue
            else:
                last = None
                out.append(None)
            if len(out) >= STRINGS:
                break
    except Exception:  # noqa: BLE001 - a truncated or foreign stream: what was read is joined (the detectors scan the bytes as they are)
        pass
    return out


_WITHIN = frozenset(("APPEND", "APPENDS", "MARK", "FRAME", "ADDITEMS", "SETITEM", "SETITEMS",
                     "EMPTY_LIST", "EMPTY_TUPLE", "LIST", "TUPLE", "PROTO", "STOP"))
_CONTAINERS = frozenset(b"[()<>{")
_SHORT = frozenset(b"zZ")
_LONG = frozenset(b"aAut")


def _marshal(data: bytes) -> list[str | None]:
    """Strings of a marshal dump of containers of strings (lists, tuples, sets, dicts; short
    and long ASCII, UTF-8 and interned strings, references); [] at anything else."""
    out: list[str | None] = []
    refs: list[str | None] = []
    at, n = 0, len(data)
    try:
        while at < n and len(out) < STRINGS:
            code, flag = data[at] & 0x7F, data[at] & 0x80
            at += 1
            if code in _SHORT:
                size, at = data[at], at + 1
            elif code in _LONG:
                size, at = struct.unpack_from("<i", data, at)[0], at + 4
            elif code == ord("r"):
                k, at = struct.unpack_from("<i", data, at)[0], at + 4
                out.append(refs[k] if 0 <= k < len(refs) else None)
                continue
            elif code in (ord("["), ord("("), ord("<"), ord(">")):
                at += 4
                if flag:
                    refs.append(None)
                continue
            elif code == ord(")"):
                at += 1
                if flag:
                    refs.append(None)
                continue
            elif code in (ord("{"), ord("0"), ord("N")):
                if flag:
                    refs.append(None)
                continue
            else:
                return out
            text = _piece(data[at:at + size].decode("utf-8", "replace"))
            at += size
            if flag:
                refs.append(text)
            out.append(text)
    except (IndexError, struct.error):
        pass
    return out


_STRING = re.compile(r'"((?:[^"\\]|\\.){0,64})"|[^"\s,:\[\]{}]+')


def _json(data: bytes) -> list[str | None]:
    """JSON string literals in order (their escapes decoded); anything else between: None. A
    later batch may start inside a string: read from its first quote on too."""
    text = data[:64 << 20].decode("utf-8", "replace")
    out = _literals(text)
    quote = text.find('"')
    if 0 <= quote < len(text) - 1 and text[0] != '"':
        out += [None, *_literals(text[quote + 1:])]
    return out


def _literals(text: str) -> list[str | None]:
    out: list[str | None] = []
    for m in _STRING.finditer(text):
        if m.group(1) is None:
            out.append(None)
            continue
        raw = m.group(1)
        try:
            s = json.loads(f'"{raw}"') if "\\" in raw else raw
        except ValueError:
            s = raw
        out.append(_piece(s))
        if len(out) >= STRINGS:
            break
    return out
