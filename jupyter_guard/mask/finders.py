"""One ``shapes`` finder per detector: for each place its precise pattern could start, what the
pattern anchored there matches, in numpy (see ``shapes`` for what each answer means).

Each finder reads its pattern in ``patterns.PRECISE`` left to right; the comments say where
``re`` would have a second path to try and why the first one decides.
"""
from __future__ import annotations

import functools
from typing import Any

from .native import card_prefixes
from .patterns import IBAN_LENGTHS
from .shapes import DIGIT, LETTER, UPPER, WORD, Found, Text, _np, ahead_ok, finder


def _found(starts: Any, ends: Any, ok: Any = None, sure: Any = None) -> Found:
    np = _np()
    every = np.ones(len(starts), dtype=bool)
    return starts, ends, every if ok is None else ok, every if sure is None else sure


_LOCAL = LETTER + DIGIT + b"._%+-"
_DOMAIN = LETTER + DIGIT + b"-"


LONGEST = 256
"""How far the local part and the domain of an e-mail are followed (longer: decline)."""


@finder("email")
def email(t: Text) -> Found:
    """One candidate per '@': the run of address characters just before it is the local part
    (the look-behind refuses every other start in the run, and the run is possessive)."""
    np, d = _np(), t.data
    at = t.where(b"@")
    at = at[t.is_(_DOMAIN, at + 1)]
    local = t.run_back(_LOCAL, at - 1, LONGEST)
    start = at - local
    live = (local > 0) & (d.take(start - 1) != 64)  # (d[-1] is padding)
    at, start, long_local = at[live], start[live], local[live] == LONGEST
    end, dot, cut = _domain(t, at + 1)
    dotted = (dot > at) | cut
    at, start, end, dot = at[dotted], start[dotted], end[dotted], dot[dotted]
    unsure = long_local[dotted] | cut[dotted]
    # The greedy path takes every label, then needs '.' and letters: none follow. Giving back
    # the last label, that label is the top-level one: all letters, two or more, and the
    # look-ahead holds after it. If it does not, re gives back more labels: decline there.
    top = ((t.run_back(LETTER, end - 1, LONGEST) == end - dot - 1) & (end - dot > 2)
           & ahead_ok(t, end, WORD + b"@-", b".", WORD))
    return _found(start, end, top, top & ~unsure)


def _domain(t: Text, at: Any) -> tuple[Any, Any, Any]:
    """Where the labels of domain characters joined by single dots that start at each index
    of ``at`` stop, the last dot between (-1: none), and whether they went on past
    ``LONGEST`` (then the first two are not known)."""
    np, d = _np(), t.data
    end, dot = at.copy(), np.full(len(at), -1, dtype=np.int64)
    live = np.arange(len(at))
    for _ in range(LONGEST):
        pos = end.take(live)
        dom = t.is_(_DOMAIN, pos)
        joined = (d.take(pos) == 46) & t.is_(_DOMAIN, pos + 1)
        dot[live[joined]] = pos[joined]
        live = live[dom | joined]
        if not len(live):
            break
        end[live] += 1
    cut = np.zeros(len(at), dtype=bool)
    cut[live] = True
    return end, dot, cut


_SSN_EDGE = WORD + b"-"


@finder("ssn")
def ssn(t: Text) -> Found | None:
    """The lean pattern (fixed width: no second path), where no key word names a value."""
    low = t.raw.lower()
    if b"ssn" in low or b"social" in low:
        return None
    np, d = _np(), t.data
    i = t.where(b"- ") - 3
    i = i[(i >= 0) & (d.take(i + 6) == d.take(i + 3))]
    i = t.narrow(i, DIGIT, (2, 4, 5, 7, 1, 0, 8, 9, 10))
    i = i[~t.is_(_SSN_EDGE, i - 1) & ~t.is_(_SSN_EDGE, i + 11)]
    zero = t.columns(i, 11) == 48
    i = i[~zero[0:3].all(axis=0) & ~zero[4:6].all(axis=0) & ~zero[7:11].all(axis=0)]
    return _found(i, i + 11)


_PHONE_LEFT = WORD + b".+/:-"
_PHONE_RIGHT = WORD + b"/:-"
_SEP = b"-. "


def _phone_ahead(t: Text, at: Any) -> Any:
    return ahead_ok(t, at, _PHONE_RIGHT, b".,", DIGIT)


@finder("phone")
def phone(t: Text) -> Found:
    """US forms (fixed width: no second path) and ``+`` forms (greedy; see ``_plus``)."""
    np, d = _np(), t.data
    i = t.where(_SEP) - 3
    i = t.narrow(i[i >= 0], _SEP, (7,))
    i = t.narrow(i, DIGIT, (2, 4, 6, 8, 0, 1, 5, 9, 10, 11))
    us = i[~t.is_(_PHONE_LEFT, i - 1) & _phone_ahead(t, i + 12)]
    p = t.where(b"(")
    b = p + 5 + (d[p + 5] == 32)  # ' ?' takes a space; without it a digit would be needed
    ok = ((d[p + 4] == 41) & t.all_in(DIGIT, p, (1, 2, 3)) & t.all_in(DIGIT, b, (0, 1, 2, 4, 5, 6, 7))
          & t.is_(_SEP, b + 3) & ~t.is_(_PHONE_LEFT, p - 1) & _phone_ahead(t, b + 8))
    paren, paren_end = p[ok], b[ok] + 8
    plus, plus_end, valid, sure = _plus(t)
    starts = np.concatenate((us, paren, plus))
    ends = np.concatenate((us + 12, paren_end, plus_end))
    every = np.ones(len(us) + len(paren), dtype=bool)
    return starts, ends, np.concatenate((every, valid)), np.concatenate((every, sure))


def _plus(t: Text) -> Found:
    """``+`` forms along the greedy path: up to three digits, a bracketed group, up to five
    groups of up to five digits each after an optional separator. Where that path fails,
    ``re`` backtracks to shorter ones: unsure, unless too few digits are there for any
    match to be valid (8-15 digits)."""
    np, d = _np(), t.data
    s = t.where(b"+")
    s = s[~t.is_(_PHONE_LEFT, s - 1) & t.is_(DIGIT, s + 1)]
    digits = t.run(DIGIT, s + 1, 3)
    pos = s + 1 + digits
    opened = np.where(t.is_(b" .-", pos) & (d[pos + 1] == 40), pos + 2,
                      np.where(d[pos] == 40, pos + 1, pos))
    inner = t.run(DIGIT, opened, 5)
    group = (opened > pos) & (inner >= 1) & (inner <= 4) & (d[opened + inner] == 41)
    pos = np.where(group, opened + inner + 1, pos)
    digits = digits + np.where(group, inner, 0)
    count = np.zeros(len(s), dtype=np.int64)
    for _ in range(5):
        sep = t.is_(b" .-", pos) & t.is_(DIGIT, pos + 1)
        go = sep | t.is_(DIGIT, pos)
        at = pos + sep
        taken = t.run(DIGIT, at, 5)
        pos = np.where(go, at + taken, pos)
        digits = digits + np.where(go, taken, 0)
        count += go
    matched = (count >= 1) & _phone_ahead(t, pos)
    # Every other path takes no more digits (each step here took all it could): with fewer
    # than eight, whatever re matches there the validator rejects, as if nothing matched.
    sure = matched | (digits < 8)
    return s, pos, matched & (digits >= 8) & (digits <= 15), sure


def starts(t: Text, shape: tuple[bytes, ...], refused: bytes) -> Any:
    """Positions where ``shape`` (one class of characters per character) starts after a
    character not in ``refused``: whole-text masks (text full of digits has many starts)."""
    np, n = _np(), t.n
    ok = np.concatenate(([True], ~t.mask(refused)[:n - 1])) if n else np.zeros(0, dtype=bool)
    for k, chars in enumerate(shape):
        ok &= t.mask(chars)[k:n + k]
    return np.flatnonzero(ok)


_CARD_LEFT = WORD + b".,-"


def _card_ahead(t: Text, at: Any) -> Any:
    return ahead_ok(t, at, WORD + b"-", b".,", DIGIT)


@finder("card")
def card(t: Text) -> Found:
    """Four digits of a network's at the start of a digit run (the look-behind refuses any
    other place; another start fails the validator, as if nothing matched there), then one
    of the pattern's two forms; each is fixed but for its last group, whose run ends before
    a non-digit (a longer run fails the look-ahead however it is cut)."""
    np, d = _np(), t.data
    i = starts(t, (DIGIT,) * 4, _CARD_LEFT)
    i = i[card_prefixes().take(_first4(d, i))]
    sep = t.is_(b" -", i + 4)
    j, i = i[sep], i[~sep]  # with separators: the first form, else the second; without: bare
    s = d[j + 4]
    last = j + 15 + t.run(DIGIT, j + 15, 8)
    one = (t.all_in(DIGIT, j, (5, 6, 7, 8, 10, 11, 12, 13)) & (d[j + 9] == s) & (d[j + 14] == s)
           & (last - j >= 16) & (last - j <= 22) & _card_ahead(t, last))
    tail = j + 12 + t.run(DIGIT, j + 12, 6)
    two = (~one & t.all_in(DIGIT, j, (5, 6, 7, 8, 9, 10)) & (d[j + 11] == s)
           & (tail - j >= 16) & (tail - j <= 17) & _card_ahead(t, tail))
    run = i + t.run(DIGIT, i, 20)  # (a run of 20 fails the look-ahead however it is cut)
    bare = (run - i >= 13) & (run - i <= 19) & _card_ahead(t, run)
    hit = one | two
    i = np.concatenate((j[hit], i[bare]))
    end = np.concatenate((np.where(one, last, tail)[hit], run[bare]))
    return _found(i, end, _luhn(t, i, end) if len(i) else np.zeros(0, dtype=bool))


def _first4(d: Any, i: Any) -> Any:
    """The number the four digits from each index of ``i`` spell."""
    np = _np()
    n = d.take(i).astype(np.int32)
    for k in (1, 2, 3):
        n = n * 10 + d.take(i + k)
    return n - 48 * 1111


def _luhn(t: Text, a: Any, b: Any) -> Any:
    """Every second digit from the right doubled (less 9 past 9), the sum a multiple of 10:
    one column of small integers per character place, all values at once (the shapes above
    hold 13-19 digits, the length ``detect._card_ok`` also asks for)."""
    np = _np()
    cols = t.columns(a, int((b - a).max())) - np.uint8(48)  # (other characters wrap past 9)
    digit = (cols < 10) & (np.arange(len(cols))[:, None] < (b - a))
    seen = np.cumsum(digit, axis=0, dtype=np.int8)  # digits up to each place
    doubled = (seen[-1] - seen) & 1  # an odd number of digits to its right
    # by digit and doubled (one index): what it adds; other characters add nothing
    total = _luhn_table().take(np.where(digit, cols + 10 * doubled.astype(np.uint8), 20))
    return total.sum(axis=0, dtype=np.int32) % 10 == 0


@functools.lru_cache(maxsize=1)
def _luhn_table() -> Any:
    return _np().array([*range(10), 0, 2, 4, 6, 8, 1, 3, 5, 7, 9, 0], dtype=_np().uint8)


_IBAN_EDGE = WORD + b"-"
_ALNUM = UPPER + DIGIT


@finder("iban")
def iban(t: Text) -> Found:
    """A country's code and two digits after a boundary, then up to seven groups of four (a
    space before one is taken: without it the group cannot start), then up to three more.
    Fewer than two groups: no other path has more. A failing look-ahead: unsure."""
    np, d = _np(), t.data
    i = starts(t, (UPPER, UPPER, DIGIT, DIGIT), _IBAN_EDGE)
    i = i[_lengths()[_code(d, i)] > 0]
    pos, groups = i + 4, np.zeros(len(i), dtype=np.int64)
    for _ in range(7):
        at = pos + (d[pos] == 32)
        go = t.all_in(_ALNUM, at, (0, 1, 2, 3))
        pos = np.where(go, at + 4, pos)
        groups += go
    at = pos + (d[pos] == 32)
    rest = t.run(_ALNUM, at, 3)
    pos = np.where(rest > 0, at + rest, pos)
    matched = (groups >= 2) & ~t.is_(_IBAN_EDGE, pos)
    sure = matched | (groups < 2)
    ok = matched.copy()
    if matched.any():
        ok[matched] = _iban_ok(t, i[matched], pos[matched])
    return i, pos, ok, sure


def _code(d: Any, i: Any) -> Any:
    """A country code's two capitals as one index, ``(a - 65) * 26 + b - 65``."""
    return (d[i].astype(_np().int64) - 65) * 26 + d[i + 1] - 65


@functools.lru_cache(maxsize=1)
def _lengths() -> Any:
    """An IBAN's length by its country code (as ``_code`` reads it); 0 for no country's."""
    table = _np().zeros(26 * 26, dtype=_np().int64)
    for cc, n in IBAN_LENGTHS.items():
        table[(ord(cc[0]) - 65) * 26 + ord(cc[1]) - 65] = n
    return table


def _iban_ok(t: Text, a: Any, b: Any) -> Any:
    """Length by country and mod 97 of the moved characters (first four last, a letter as two
    digits, A = 10), spaces skipped: Horner's rule down the columns of all values at once."""
    np = _np()
    width = int((b - a).max())
    chars = t.columns(a, width)
    chars[np.arange(width)[:, None] >= (b - a)] = 32  # past a value's end: a space, skipped
    values, mults = _iban_tables()
    value, mult = values.take(chars), mults.take(chars)
    rest = np.zeros(len(a), dtype=np.int64)
    for k, c in enumerate([*range(4, width), 0, 1, 2, 3]):
        rest = rest * mult[c] + value[c]
        if k % 7 == 6:  # below 97 * 100**7 + ...: no overflow between reductions
            rest %= 97
    length = width - (chars == 32).sum(axis=0)
    return (rest % 97 == 1) & (length == _lengths().take(_code(t.data, a)))


@functools.lru_cache(maxsize=1)
def _iban_tables() -> tuple[Any, Any]:
    """By byte: the number mod 97 reads (a digit's, A = 10 ...) and what the number so far is
    multiplied by first (10, 100 for a letter, 1 for a space: skipped)."""
    np = _np()
    value, mult = np.zeros(256, dtype=np.uint8), np.ones(256, dtype=np.uint8)
    for c in range(48, 58):
        value[c], mult[c] = c - 48, 10
    for c in range(65, 91):
        value[c], mult[c] = c - 55, 100
    return value, mult
