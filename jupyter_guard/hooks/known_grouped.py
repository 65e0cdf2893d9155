"""Known numbers written in groups: an SSN, phone or card number read from a sensitive column,
printed again with its digits cut by separators of the user's choosing.

A value read as ``100000058`` (or ``123-45-6789``, whose digits alone are a known form too) is
one token when printed as it was read. Spelt ``100-00-0058``, ``100 00 0058``,
``1 0 0 0 0 0 0 5 8`` or, with Unicode dashes (folded to ``-`` first), it is a run of digit
groups no token check finds. Here each run of three or more digit groups joined by single
separators (space, no-break space, ``-``, ``.``, ``/``, ``_``) is read for its digits: where
they are a known value of ``SHORTEST`` digits or more, the run is a span to mask or refuse
(a known value inside a longer run, glued to other groups, is not one: that is how honest
longer numbers look). A known number glued to letters
(``'x' + ssn`` in an error, a name made with ``setattr``) is one too; glued to other digits it
is not (that is how honest longer numbers look).

Only known values are matched, so honest grouped numbers (dates, IP addresses, amounts with
thousands separators) are left alone unless their digits are exactly a value read from a
sensitive column.

>>> known = {"100000058", "123456789"}
>>> grouped("ssn 100-00-0058 and 123 45 6789.", known)
[(4, 15, 'known'), (20, 31, 'known')]
>>> grouped("on 2024-01-15 at 10.0.0.1", known)
[]
>>> grouped("X100000058: bad, 9100000058 fine", known)
[(1, 10, 'known')]
"""
from __future__ import annotations

from collections.abc import Set as AbstractSet
from itertools import repeat

SHORTEST = 9
"""The fewest digits a grouped value needs (an SSN has 9; shorter numbers are too common)."""
WIDEST = 19
"""The most digits one value has (a card number)."""
_SEPARATORS = [ord(c) for c in " \u00a0-./_"]
_DROP = str.maketrans("", "", " \u00a0-./_")
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
"""What a run of digits glued to (``'x' + ssn``, a class or attribute name made of one) hides
a known value: no token check finds it there, and it is no chance."""


def grouped(text: str, known: AbstractSet[str],
            sizes: AbstractSet[int] | None = None) -> list[tuple[int, int, str]]:
    """Spans of ``text`` whose digit groups, joined, are a value in ``known`` (``sizes``: the
    lengths of its values made of digits, if known: other chains are not read). The chains of
    groups are found in numpy (``_chains``), their digits joined in C and tested in one set
    operation; spans only on a hit."""
    out: list[tuple[int, int, str]] = []
    if not known:
        return out
    starts, ends, long = _chains(text, sizes)
    if starts:
        runs = list(map(text.__getitem__, map(slice, starts, ends)))
        if not known.isdisjoint(map(str.translate, runs, repeat(_DROP))):
            out = [(a, b, "known") for a, b, run in zip(starts, ends, runs)
                   if run.translate(_DROP) in known and _alone(text, a, b)]
    for a, b in long:   # one group of 9-19 digits: glued to a letter (no token check finds it)
        if text[a:b] in known and ((a and text[a - 1] in _LETTERS)
                                   or (b < len(text) and text[b] in _LETTERS)):
            out.append((a, b, "known"))
    return out


def _alone(text: str, a: int, b: int) -> bool:
    """No letter or digit right before ``a`` or right after ``b``."""
    return not (a and text[a - 1].isalnum()) and not (b < len(text) and text[b].isalnum())


def _chains(text: str, sizes: AbstractSet[int] | None = None
            ) -> tuple[list[int], list[int], list[tuple[int, int]]]:
    """Starts and ends of the chains of 3+ digit groups joined by single separators that
    hold ``SHORTEST`` to ``WIDEST`` digits, and the single groups of that many digits (numpy
    passes: Python's regex engine looks at every place of the text, several times slower)."""
    import numpy as np  # (a dependency; loaded by the exits already)

    if text.isascii():
        codes = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        sep = np.zeros(256, dtype=bool)
        sep[[c for c in _SEPARATORS if c < 128]] = True
    else:
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        sep = None
    digit = (codes - codes.dtype.type(48)) < 10
    change = np.flatnonzero(digit[1:] != digit[:-1]) + 1
    if len(digit) and digit[0]:
        change = np.concatenate(([0], change))
    if len(digit) and digit[-1]:
        change = np.concatenate((change, [len(digit)]))
    first, last = change[0::2], change[1::2]   # digit groups [first, last)
    size = last - first
    fits = list(range(SHORTEST, WIDEST + 1)) if sizes is None else \
        [n for n in sizes if SHORTEST <= n <= WIDEST]
    wide = np.flatnonzero(np.isin(size, fits))
    long = list(zip(first[wide].tolist(), last[wide].tolist()))
    if len(first) < 3:
        return [], [], long
    gap = last[:-1]
    between = codes[gap]
    joined = (first[1:] - gap == 1) & (sep[between] if sep is not None
                                       else np.isin(between, _SEPARATORS))
    head = np.flatnonzero(np.concatenate(([True], ~joined)))   # each chain's first group
    groups = np.diff(np.concatenate((head, [len(first)])))
    digits = np.add.reduceat(size, head)
    keep = (groups >= 3) & np.isin(digits, fits)
    tail = head + groups - 1
    return first[head[keep]].tolist(), last[tail[keep]].tolist(), long
