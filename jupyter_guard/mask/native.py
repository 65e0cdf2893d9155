"""Dense values found by RE2 through pyarrow's compute kernels: one C pass marks every match of
a detector's shape in a text, and numpy checks what RE2 cannot say (the right boundary, equal
separators, groups of zeros, digit counts) over all matches at once.

RE2 has no look-arounds, so each pattern consumes its left boundary (one character, or the
start of the text) instead of looking behind; the value starts after it. RE2 picks among
paths as ``re`` does (leftmost, then the first path that matches), and these shapes have no
possessive run that RE2 could end early (each run is followed by a character outside it), so
where the checks below hold for every match, ``re``'s precise pattern finds the same values at
the same places. Where one fails (``re`` would then try the next character, or backtrack to a
shorter value), the caller's ``re`` path decides.

Used only when ``pyarrow.compute`` is already imported (pandas imports it): importing it for a
text would cost the kernel ~0.3 s once, and a first import off the main thread races pandas'.
"""
from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from typing import Any

from .detect import _CARD_PREFIX
from .patterns import CANDIDATE

Spans = list[tuple[int, int]]

_WORD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"
_DIGIT = b"0123456789"

LEFT: dict[str, bytes] = {"email": _WORD + b"@.+%-", "ssn": _WORD + b"-",
                          "phone": _WORD + b".+/:-", "card": _WORD + b".,-"}
"""Per detector: the characters its precise pattern's look-behind refuses before a value
(every value starts with one of them, except a phone's '(')."""

SHAPE: dict[str, str] = {
    "email": CANDIDATE["email"],
    "ssn": r"\d{3}[- ]\d{2}[- ]\d{4}",  # the lean pattern's shape (no key-word alternative)
    "phone": "(?:" + CANDIDATE["phone"] + ")",
    # the card pattern with its back-references written out (one separator throughout)
    "card": r"(?:\d{4}(?: \d{4} \d{4} \d{1,7}|-\d{4}-\d{4}-\d{1,7}|\d{4}\d{4}\d{1,7})"
    r"|\d{4} \d{6} \d{4,5}|\d{4}-\d{6}-\d{4,5})",
}

RIGHT: dict[str, tuple[bytes, bytes, bytes]] = {
    "email": (_WORD + b"@-", b".", _WORD), "ssn": (_WORD + b"-", b"", b""),
    "phone": (_WORD + b"/:-", b".,", _DIGIT), "card": (_WORD + b"-", b".,", _DIGIT),
}
"""Per detector: the characters its look-ahead refuses after a value, those it refuses when
followed by one of the third set."""


def _np() -> Any:
    import numpy as np  # a pandas dependency: pyarrow's kernels are loaded, so is numpy

    return np


@functools.lru_cache(maxsize=16)
def _table(chars: bytes) -> Any:
    """Whether each byte value is one of ``chars`` (0, the padding past the end, is not)."""
    table = _np().zeros(256, dtype=bool)
    table[list(chars)] = True
    return table


@functools.lru_cache(maxsize=8)
def _pattern(name: str) -> str:
    refused = "".join("\\" + chr(c) if chr(c) in "\\]^-" else chr(c)
                      for c in sorted(set(LEFT[name])))
    return "(?:^|[^" + refused + "])" + SHAPE[name]


def available() -> bool:
    """Whether pyarrow's compute kernels are loaded already."""
    return "pyarrow.compute" in sys.modules


def matches(pattern: str, text: str) -> tuple[Any, Any] | None:
    """Starts and ends of RE2's leftmost-first matches of ``pattern`` in an ASCII ``text``
    (numpy arrays), from one replace pass that puts a NUL on each side of each match: the
    k-th NUL of the result stands k characters after its place in ``text``. None where the
    text holds a NUL."""
    if "\0" in text:
        return None
    pa, pc = sys.modules["pyarrow"], sys.modules["pyarrow.compute"]
    try:
        marked = pc.replace_substring_regex(pa.array([text], pa.string()), pattern, "\0\\0\0")
        _, offsets_buf, data_buf = marked.buffers()  # a string array: 32-bit offsets
        lo, hi = _np().frombuffer(offsets_buf, dtype=_np().int32)[marked.offset:][:2]
        data = _np().frombuffer(data_buf, dtype=_np().uint8)[lo:hi]
    except Exception:  # noqa: BLE001 - any pyarrow failure (a 2 GB text, a changed API): the
        return None  # caller's re path, which reads every text, masks it instead
    np = _np()
    at = np.flatnonzero(data == 0) - np.arange(np.count_nonzero(data == 0))
    return at[0::2], at[1::2]


def _ssn_ok(data: Any, a: Any, b: Any) -> Any:
    """Equal separators and no group of zeros (the lean pattern's back-reference and
    look-aheads): every value is eleven characters, read as one row each."""
    np = _np()
    rows = data[a[:, None] + np.arange(11)]
    zero = rows == 48
    return ((rows[:, 3] == rows[:, 6]) & ~zero[:, 0:3].all(axis=1) & ~zero[:, 4:6].all(axis=1)
            & ~zero[:, 7:11].all(axis=1))


def _phone_ok(data: Any, a: Any, b: Any) -> Any:
    """The ``+`` forms hold 8-15 digits (the US form always ten)."""
    np = _np()
    plus = data[a] == 43
    if not plus.any():
        return plus | True
    width = int((b - a)[plus].max())
    cols = np.arange(width)
    rows = data[np.minimum(a[plus][:, None] + cols, len(data) - 1)]
    digits = (_table(_DIGIT)[rows] & (cols < (b - a)[plus][:, None])).sum(axis=1)
    ok = np.ones(len(a), dtype=bool)
    ok[plus] = (digits >= 8) & (digits <= 15)
    return ok


@functools.lru_cache(maxsize=1)
def card_prefixes() -> Any:
    """Whether each four-digit start (0000-9999) is a card network's: ``detect._card_ok``'s
    prefixes are at most four digits long."""
    return _np().array([_CARD_PREFIX.match(f"{i:04d}") is not None for i in range(10000)])


def _card_ok(data: Any, a: Any, b: Any) -> Any:
    """13-19 digits, a network's first four, the Luhn checksum (``detect._card_ok``)."""
    np = _np()
    width = int((b - a).max())
    cols = np.arange(width)
    rows = data[np.minimum(a[:, None] + cols, len(data) - 1)].astype(np.int64)
    digit = _table(_DIGIT)[rows] & (cols < (b - a)[:, None])
    count = digit.sum(axis=1)
    right = count[:, None] - np.cumsum(digit, axis=1)  # digits to the right of each
    value = np.where(digit, rows - 48, 0)
    doubled = np.asarray((0, 2, 4, 6, 8, 1, 3, 5, 7, 9))[value]
    luhn = np.where(right % 2 == 1, doubled, value).sum(axis=1) % 10 == 0
    first4 = (rows[:, :4] - 48) @ np.array([1000, 100, 10, 1])
    return luhn & (count >= 13) & (count <= 19) & card_prefixes()[first4]


_US_PAREN = re.compile(r"\(\d{3}\) ?\d{3}[-. ]\d{4}", re.ASCII)
"""The one phone shape that starts with '(' (a boundary character for the others)."""

VALID: dict[str, Callable[[Any, Any, Any], Any]] = {
    "ssn": _ssn_ok, "phone": _phone_ok, "card": _card_ok}


def arrays(name: str, words: tuple[str, ...], text: str, pos: int, endpos: int
           ) -> tuple[Any, Any] | None:
    """Starts and ends (numpy arrays) of the values of detector ``name`` in
    ``text[pos:endpos]``, as ``Detector.spans_in`` finds them, or None where this cannot tell
    (``words``: the detector's key words, none of which may occur)."""
    if name not in SHAPE or not available() or not text.isascii():
        return None
    base = max(pos - 1, 0)
    part = text[base:endpos]
    if words and any(w in part.lower() for w in words):
        return None
    found = matches(_pattern(name), part)
    if found is None:
        return None
    np = _np()
    starts, ends = found
    if not len(starts):
        return starts, ends
    data = np.frombuffer(part.encode("ascii") + b"\0\0", dtype=np.uint8)
    starts = starts + 1  # past the boundary character the pattern consumed
    if starts[0] == 1 and _table(LEFT[name])[data[0]]:  # no boundary: a value at the start
        if base < pos:
            return None  # (it starts before pos: spans_in does not see it)
        starts[0] = 0
    elif starts[0] == 1 and name == "phone" and data[0] == 40:
        # '(' at the start: the value's first character where RE2's first path ('^') took it
        m = _US_PAREN.match(part)
        if m is not None and m.end() == ends[0]:
            if base < pos:
                return None
            starts[0] = 0
    refused, then, follower = RIGHT[name]
    after, next_ = data[ends], data[ends + 1]
    bad = _table(refused)[after] | (_table(then)[after] & _table(follower)[next_])
    check = VALID.get(name)
    if bad.any() or (check is not None and not check(data, starts, ends).all()):
        return None
    return starts + base, ends + base


def spans(name: str, words: tuple[str, ...], text: str, pos: int, endpos: int) -> Spans | None:
    """``arrays`` as a list of spans."""
    found = arrays(name, words, text, pos, endpos)
    return None if found is None else list(zip(found[0].tolist(), found[1].tolist()))
