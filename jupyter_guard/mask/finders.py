"""``shapes`` finders for the e-mail, SSN and phone detectors (``bank`` has cards and IBANs):
for each place its precise pattern could start, what the pattern anchored there matches, in
numpy (see ``shapes`` for what each answer means).

Each finder reads its pattern in ``patterns.PRECISE`` left to right; the comments say where
``re`` would have a second path to try and why the first one decides.
"""
from __future__ import annotations

from itertools import repeat
from typing import Any

from .detect import DETECTORS
from .patterns import SSN_KEYED, compile_precise
from .shapes import DIGIT, LETTER, WORD, Found, Text, _np, ahead_ok, finder, found

_LOCAL = LETTER + DIGIT + b"._%+-"
_DOMAIN = LETTER + DIGIT + b"-"

LONGEST = 256
"""How far the local part and the domain of an e-mail are followed (longer: decline)."""


@finder("email")
def email(t: Text) -> Found | None:
    """One candidate per '@': the run of address characters just before it is the local part
    (the look-behind refuses every other start in the run, and the run is possessive)."""
    d = t.data
    at = t.where(b"@")
    at = at[t.is_(_DOMAIN, at + 1)]
    local = t.run_back(_LOCAL, at - 1, LONGEST)
    start = at - local
    live = (local > 0) & (d.take(start - 1) != 64)  # (d[-1] is padding)
    at, start, long_local = at[live], start[live], local[live] == LONGEST
    end, dot, cut = _domain(t, at + 1)
    dotted = (dot > at) | cut
    at, start, end, dot = at[dotted], start[dotted], end[dotted], dot[dotted]
    if long_local[dotted].any():  # the run starts further back: re may match from there
        return None
    # The greedy path takes every label, then needs '.' and letters: none follow. Giving back
    # the last label, that label is the top-level one: all letters, two or more, and the
    # look-ahead holds after it. If it does not, re gives back more labels from the same
    # start: unsure there (``shapes.values`` asks re), as where the domain went on too long.
    top = ((t.run_back(LETTER, end - 1, LONGEST) == end - dot - 1) & (end - dot > 2)
           & ahead_ok(t, end, WORD + b"@-", b".", WORD))
    return found(start, end, top, top & ~cut[dotted])


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
    """The lean pattern's shape (fixed width: no second path) at digits; at each key word
    (``ssn``, ``social``: letters, where the shape cannot start) the precise pattern's key-word
    alternative, by ``re`` (its value is its last nine digits: ``shapes.values`` moves the
    start there)."""
    np, low = _np(), t.raw.lower()
    shape = _ssn_shape(t)
    if b"ssn" not in low and b"social" not in low:
        return shape
    if low.count(b"social") >= MANY_KEYS:
        return found(*map(np.concatenate, zip(shape[:2], _keyed(t.text))))
    words: tuple[bytes, ...] = (b"ssn", b"social")
    got = [shape[:2]]
    if low.count(b"ssn") >= MANY_KEYS:  # the word 'ssn' in numpy, 'social' (few) by re
        words = (b"social",)
        got.append(_ssn_words(t))
    pattern, text = DETECTORS["ssn"].pattern, t.text
    keys = [m for m in map(pattern.match, repeat(text), _places(low, words))
            if m is not None and m.group("v") is not None]
    got.append((np.array([m.start() for m in keys], dtype=np.int64),
                np.array([m.end() for m in keys], dtype=np.int64)))
    return found(*map(np.concatenate, zip(*got)))


MANY_KEYS = 256
"""With this many key words or more, their matches are found in bulk (``_ssn_words``, or one
``split`` pass: ``_keyed``): one ``re`` step per key word cost ~40 ms per MB of
``ssn: 123456789`` rows."""
_NOT_WORD = bytes(c for c in range(256) if c not in WORD + b"\n")
"""``[^\\w\\n]`` (ASCII: the stand-in's other characters are 1 and 28, in it too)."""


def _ssn_words(t: Text) -> tuple[Any, Any]:
    """Starts and ends of the key-word alternative's matches at each 'ssn' (any case), as
    ``re`` reads it there: not after a letter; up to four separators, all it finds
    (possessive); then 'is' and one to three separators (possessive), nine digits and no word
    character, or else the nine digits right after the first separators."""
    np = _np()
    i = t.where(b"nN") - 2
    i = t.narrow(i[i >= 0], b"sS", (0, 1))
    i = i[~t.is_(LETTER, i - 1)]
    p = i + 3 + np.minimum(t.run(_NOT_WORD, i + 3, 4), t.n - (i + 3))  # (not into the padding)
    q = p + 2 + np.minimum(t.run(_NOT_WORD, p + 2, 3), np.maximum(t.n - (p + 2), 0))
    said = (t.data.take(p) == 105) & (t.data.take(p + 1) == 115) & (q > p + 2)  # 'is'
    at = np.where(said, q, p)
    ok = t.all_in(DIGIT, at, range(9)) & ~t.is_(WORD, at + 9)
    return i[ok], at[ok] + 9
_KEYED = compile_precise("(" + SSN_KEYED + ")")


def _keyed(text: str) -> tuple[Any, Any]:
    """Starts and ends of the key-word alternative's matches in ``text``, from one ``split``
    pass. They are those of the precise pattern at each key word: a match starts with a key
    word (the shape alternative cannot start at a letter), and none holds another key word
    after its first letter (separators, ``is`` and digits follow the word), so no match
    ``split`` steps over is missed."""
    np = _np()
    pieces = _KEYED.split(text)   # text between, whole match, value group, text between, ...
    n = len(pieces) // 3
    sizes = np.empty(2 * n, dtype=np.int64)
    sizes[0::2] = np.fromiter(map(len, pieces[0:-1:3]), np.int64, count=n)
    sizes[1::2] = np.fromiter(map(len, pieces[1::3]), np.int64, count=n)
    at = np.cumsum(sizes)
    return at[0::2], at[1::2]


def _places(data: bytes, words: tuple[bytes, ...]) -> list[int]:
    """Every place where one of ``words`` starts in ``data``, ascending (``bytes.find`` in C:
    a pattern tried at every position cost ~15 ms per MB)."""
    out: list[int] = []
    for w in words:
        at = data.find(w)
        while at >= 0:
            out.append(at)
            at = data.find(w, at + 1)
    return sorted(out)


def _ssn_shape(t: Text) -> Found:
    d = t.data
    i = t.where(b"- ") - 3
    i = i[(i >= 0) & (d.take(i + 6) == d.take(i + 3))]
    i = t.narrow(i, DIGIT, (2, 4, 5, 7, 1, 0, 8, 9, 10))
    i = i[~t.is_(_SSN_EDGE, i - 1) & ~t.is_(_SSN_EDGE, i + 11)]
    zero = t.columns(i, 11) == 48
    i = i[~zero[0:3].all(axis=0) & ~zero[4:6].all(axis=0) & ~zero[7:11].all(axis=0)]
    return found(i, i + 11)


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
    ok = ((d[p + 4] == 41) & t.all_in(DIGIT, p, (1, 2, 3))
          & t.all_in(DIGIT, b, (0, 1, 2, 4, 5, 6, 7)) & t.is_(_SEP, b + 3)
          & ~t.is_(_PHONE_LEFT, p - 1) & _phone_ahead(t, b + 8))
    paren, paren_end = p[ok], b[ok] + 8
    plus, plus_end, valid, sure = _plus(t)
    starts = np.concatenate((us, paren, plus))
    ends = np.concatenate((us + 12, paren_end, plus_end))
    every = np.ones(len(us) + len(paren), dtype=bool)
    return starts, ends, np.concatenate((every, valid)), np.concatenate((every, sure))


FEW_DIGITS_MIN = 4096
"""With this many '+' places or more (and more than one in 16 characters), those with fewer
than eight digits in the run of phone characters after them (at most ``PLUS_REACH``) are left
out first: no match there can be valid, and none is unsure (text dense with '+1 2'
look-alikes: every gather below read each; in PII rows, one '+' a row, the passes cost more
than they save)."""
PLUS_REACH = 48
"""More characters than a '+' phone match can hold ('+', 3 digits, a bracketed group of 4 with
a separator, five groups of a separator and 5 digits: 41)."""
_PLUS_BODY = DIGIT + b" .-()"
"""The characters after its '+' a '+' phone match is made of."""


def _plus(t: Text) -> Found:
    """``+`` forms along the greedy path: up to three digits, a bracketed group, up to five
    groups of up to five digits each after an optional separator. Where that path fails,
    ``re`` backtracks to shorter ones from the same start: unsure (``shapes.values`` asks re
    there), unless too few digits are there for any match to be valid (8-15 digits)."""
    np, d = _np(), t.data
    s = t.where(b"+")
    s = s[~t.is_(_PHONE_LEFT, s - 1) & t.is_(DIGIT, s + 1)]
    if len(s) >= FEW_DIGITS_MIN and len(s) * 16 > t.n:  # (see FEW_DIGITS_MIN)
        digits = np.concatenate(([0], np.cumsum(t.mask(DIGIT), dtype=np.int32)))
        reach = np.minimum(t.run_end(_PLUS_BODY, s + 1), s + PLUS_REACH)
        s = s[digits[reach] - digits[s] >= 8]
    digits = t.run(DIGIT, s + 1, 3)
    pos = s + 1 + digits
    opened = np.where(t.is_(b" .-", pos) & (d[pos + 1] == 40), pos + 2,
                      np.where(d[pos] == 40, pos + 1, pos))
    inner = t.run(DIGIT, opened, 5)
    group = (opened > pos) & (inner >= 1) & (inner <= 4) & (d[opened + inner] == 41)
    pos = np.where(group, opened + inner + 1, pos)
    digits = digits + np.where(group, inner, 0)
    count = np.zeros(len(s), dtype=np.int64)
    back, back_digits = np.full(len(s), -1, dtype=np.int64), digits
    for k in range(5):
        sep = t.is_(b" .-", pos) & t.is_(DIGIT, pos + 1)
        go = sep | t.is_(DIGIT, pos)
        if k:  # a group after a space: stopping before it is a path whose look-ahead holds
            spaced = go & sep & (d[pos] == 32)
            back, back_digits = np.where(spaced, pos, back), np.where(spaced, digits, back_digits)
        at = pos + sep
        taken = t.run(DIGIT, at, 5)
        pos = np.where(go, at + taken, pos)
        digits = digits + np.where(go, taken, 0)
        count += go
    matched = (count >= 1) & _phone_ahead(t, pos)
    # Where the look-ahead fails, re backtracks from the last group on: a group giving back
    # digits (or its separator) leaves a digit next, as does any regrouping of the digits
    # after it, and stopping before a group that starts with '.' or '-' leaves those (a '.'
    # before a digit fails too); the first path that holds stops before the last group that
    # starts with a space (not the first group: one is needed).
    fall = ~matched & (back >= 0)
    pos, digits = np.where(fall, back, pos), np.where(fall, back_digits, digits)
    matched |= fall
    # Every other path takes no more digits (each step here took all it could): with fewer
    # than eight, whatever re matches there the validator rejects, as if nothing matched.
    sure = matched | (digits < 8)
    return s, pos, matched & (digits >= 8) & (digits <= 15), sure
