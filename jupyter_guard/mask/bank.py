"""``shapes`` finders for cards, IBANs and IPv4 addresses, and the validators over all values
at once (the Luhn checksum, the IBAN's length by country and mod 97), in numpy.
"""
from __future__ import annotations

import functools
from typing import Any

from .native import card_prefixes
from .patterns import IBAN_LENGTHS
from .shapes import DIGIT, UPPER, WORD, Found, Text, _np, ahead_ok, finder, found, starts

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
    return found(i, end, _luhn(t, i, end) if len(i) else np.zeros(0, dtype=bool))


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
    """A country's code and two digits after a boundary, then the groups of four (a space
    before one is taken: without it the group cannot start) and the rest, as ``re`` settles
    them: each group and the rest match one way only, so its backtracking tries, from the most
    groups there are (at most seven) down to two, the rest's longest run (up to three, after
    an optional space; a shorter one is followed by another of its characters) and then no
    rest, and takes the first end the look-ahead accepts. Every start is sure."""
    np, d = _np(), t.data
    i = starts(t, (UPPER, UPPER, DIGIT, DIGIT), _IBAN_EDGE)
    want = _lengths().take(_code(d, i))
    i, want = i[want > 0], want[want > 0]
    if t.n < 1 << 30:  # (positions in 32 bits: half the memory to go through)
        i = i.astype(np.int32)
    space, four, run, edge = _iban_masks(t)
    pos, groups, after = i + 4, np.zeros(len(i), dtype=np.int8), []
    for _ in range(7):
        at = pos + space.take(pos)
        go = four.take(at)
        pos = np.where(go, at + 4, pos)
        groups += go
        after.append(pos)  # after k + 1 groups, where there are that many
    end, size = pos.copy(), np.zeros(len(i), dtype=np.int64)  # (size: without spaces)
    matched = np.zeros(len(i), dtype=bool)
    live = np.flatnonzero(groups >= 2)  # (fewer groups: no match)
    for k in range(7, 1, -1):
        if not len(live):
            break
        at_k = live[groups.take(live) >= k]
        pos = after[k - 1].take(at_k)
        at = pos + space.take(pos)
        rest = run.take(at)
        # the rest's run (if any), else none; a start whose k groups both refuse tries k - 1
        first = (rest > 0) & ~edge.take(at + rest)
        then = ~first & ~edge.take(pos)
        for hit, stop, extra in ((first, at + rest, rest), (then, pos, 0 * rest)):
            got = at_k[hit]
            end[got], size[got], matched[got] = stop[hit], 4 + 4 * k + extra[hit], True
        live = live[~matched.take(live)]
    ok = matched & (size == want)  # the length first: mod 97 is dearer
    if ok.any():
        ok[ok] = _iban_ok(t, i[ok], end[ok])
    return found(i.astype(np.int64), end.astype(np.int64), ok)


def _iban_masks(t: Text) -> tuple[Any, Any, Any, Any]:
    """By position of the (padded) text: 1 at a space, whether four capitals or digits start
    there, how many of them do (up to three), and whether the look-ahead refuses it; each in a
    few whole-text passes (text dense with IBAN look-alikes has a start every few characters)."""
    np = _np()
    alnum = t.mask(_ALNUM)
    space = (t.data == 32).view(np.uint8)
    four = alnum[:-3] & alnum[1:-2] & alnum[2:-1] & alnum[3:]
    two = alnum[:-2] & alnum[1:-1]
    run = alnum[:-2].view(np.uint8) + two + (two & alnum[2:])
    return space, four, run, t.mask(_IBAN_EDGE)


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


_IPV4_LEFT = WORD + b"."


@finder("ipv4")
def ipv4(t: Text) -> Found:
    """Four octets joined by dots after a boundary (no word character nor '.' before the
    first). Each of the first three must be followed by a dot and the fourth by no digit (the
    look-ahead refuses a word character), so each octet is a whole digit run, which matches
    one way only: one to three digits, no leading zero but a lone ``0``, at most 255. After
    it neither a word character nor a dot and a digit. So each start matches one way, or not
    at all, and no match starts inside another (its digits and dots refuse a start)."""
    i = starts(t, (DIGIT,), _IPV4_LEFT)
    at = i
    for k in range(4):  # (each step on the survivors of the ones before)
        size = t.run(DIGIT, at, 4)  # (four: too long for an octet)
        keep = (size >= 1) & (size <= 3) & _octet(t, at, size)
        i, at = i[keep], at[keep] + size[keep]
        if k < 3:
            keep = t.is_(b".", at)
            i, at = i[keep], at[keep] + 1
    keep = ahead_ok(t, at, WORD, b".", DIGIT)
    return found(i[keep], at[keep])


def _octet(t: Text, at: Any, size: Any) -> Any:
    """Whether the ``size`` digits from each index of ``at`` spell 0-255 without a leading
    zero (a lone ``0`` aside); the pattern's ``25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d``."""
    np = _np()
    d = [t.data.take(at + k).astype(np.int16) - 48 for k in range(3)]
    value = np.where(size == 1, d[0], np.where(size == 2, d[0] * 10 + d[1],
                                               d[0] * 100 + d[1] * 10 + d[2]))
    return ((size == 1) | (d[0] != 0)) & (value <= 255)


_HEX = DIGIT + b"abcdefABCDEF"
_HEX_COLON = _HEX + b":"
_IPV6_LEFT = WORD + b":."


@finder("ipv6")
def ipv6(t: Text) -> Found:
    """Groups of up to four hex digits joined by two to seven colons, after a boundary (no
    word character, ':' nor '.' before). The look-ahead refuses a hex digit and a colon, so a
    match is a whole run of them, and matches one way only: where its colons number two to
    seven and no group holds five hex digits, and no word character nor '.' follows. Each
    start (a run's first character) matches so or not at all, and a rejected match hides no
    value (a place inside it follows a hex digit or a colon); ``_ipv6_ok`` decides the rest."""
    np = _np()
    i = starts(t, (_HEX_COLON,), _IPV6_LEFT)
    end = t.run_end(_HEX_COLON, i)
    colons = t.where(b":")
    count = np.searchsorted(colons, end) - np.searchsorted(colons, i)
    keep = (count >= 2) & (count <= 7)
    i, end = i[keep], end[keep]
    if len(i):
        hexes = t.mask(_HEX)  # (padded: a five-digit group starting by the end is read whole)
        five = np.flatnonzero(hexes[:-4] & hexes[1:-3] & hexes[2:-2] & hexes[3:-1] & hexes[4:])
        keep = np.searchsorted(five, i) == np.searchsorted(five, end - 4)
        keep &= ahead_ok(t, end, WORD + b".")
        i, end = i[keep], end[keep]
    ok = np.zeros(len(i), dtype=bool)
    if len(i):
        # late: ``bulk`` imports this module (its finders register on import)
        from .bulk import ipv6s_ok

        text = t.text
        values = list(map(text.__getitem__, map(slice, i.tolist(), end.tolist())))
        ok = np.array(ipv6s_ok(values), dtype=bool)
    return found(i, end, ok)
