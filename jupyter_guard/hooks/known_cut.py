"""Known nine-digit values (SSNs) written cut or respelt as numbers: one digit cut at either end
(``s[1:]``, ``s[:-1]``, ``s.replace('-', '')[1:]``, ``35-31-9555``), as a decimal fraction
(``int(s) / 1e9`` printed ``0.100000005``, its trailing zeros lost: ``0.5816134``; any power of
ten: ``1000000.05``, a leading zero lost: ``12888.033``; seven significant digits at least),
with one filler character between its digits (``'x'.join(s)``, ``1a0b0c…``), or as a list of
its character codes (``[ord(c) for c in s]``); in scientific notation (``np.savetxt``'s
``1.000000050000000000e-01``) or in groups of digits with fillers (``10x00x00x00x5``), both
counted as ordinary numbers (``_more``).

Two kinds of rule, by how ordinary the form is:

- a filler or character-code spelling is no ordinary number: one whose digits are a known value
  counts (an exact nine-digit match, the chance of a bare nine-digit token);
- an eight-digit number, and a decimal fraction, are ordinary (dates, ids, amounts): they count
  only when at least ``MIN_HITS`` distinct ones in one text rebuild a known value *and* more of
  them do than chance explains (``ALPHA``: the known values taken as random, each eight-digit
  token matching the cut of one with probability ``20 * known / 10**9``), counted over the
  text and the ``RECENT`` texts read before it (a stream's pieces). A file of honest
  eight-digit ids matches as many as chance says and passes; ``print(s[1:])`` of one SSN alone
  passes too (a limit, said in the threat model).

Read at the exits and on screen through ``known_grouped.grouped`` (numbers known only); the
known values as a sorted integer array (``known_ints``), looked up in numpy.

>>> known = {"735319555", "564726205", "100000005", "581613400"}
>>> [t[:2] for t in spans("35319555 64726205 20240115", known)]
[(0, 8), (9, 17)]
>>> _RECENT.clear(); spans("id 35319555 only", known)   # one alone: an ordinary number
[]
>>> [t[:2] for t in spans("0.735319555 0.5816134 12.5", known)]
[(0, 11), (12, 21)]
>>> [t[:2] for t in spans("1x0x0x0x0x0x0x0x5 [55, 51, 53, 51, 49, 57, 53, 53, 53]", known)]
[(0, 17), (19, 53)]
>>> [t[:2] for t in spans(chr(0xD800) + " 1x0x0x0x0x0x0x0x5", known)]   # a lone surrogate
[(2, 19)]
"""
from __future__ import annotations

import math
import re
import sys
from collections import deque
from collections.abc import Set as AbstractSet
from typing import Any

import numpy as np

from jupyter_guard.hooks import known_ints
from jupyter_guard.mask.strategy import SPELT

try:   # one linear pass of C (RE2); Python's engine where there is no wheel
    import re2 as _engine
except ImportError:  # pragma: no cover - depends on the environment
    _engine = re

MIN_HITS = 2
"""Distinct ordinary numbers (eight digits, decimals) that must rebuild known values."""
ALPHA = 1e-5
"""The chance of so many coincidences below which ordinary numbers count."""
# eight digits (dashes between), a decimal: standing alone (not glued to letters, digits or a
# decimal point; Python's engine: the look-arounds, and a C ``findall`` faster than RE2's match
# objects per token)
_CUT = re.compile(r"(?<![\w.-])[0-9](?:-?[0-9]){7}(?![\w-]|\.\w)")
_DECIMAL = re.compile(r"(?<![\w.])[0-9]{1,10}\.[0-9]{1,12}(?![\w]|\.\w)")
_FILLED_RE = r"[0-9](?:[^0-9\s][0-9]){8,}"   # one filler character between
_CODES_RE = r"(?:4[589]|5[0-7])(?:(?:, ?| |; ?)(?:4[589]|5[0-7])){8,}"
_FILLED, _CODES = _engine.compile(_FILLED_RE), _engine.compile(_CODES_RE)
_FILLED_PY, _CODES_PY = re.compile(_FILLED_RE), re.compile(_CODES_RE)   # (no nested choice)
_POW8 = np.arange(10, dtype=np.int64) * 100_000_000
_POW = np.array([10 ** k for k in range(19)], dtype=np.int64)
RECENT = 32
"""Texts read together: a stream's lines reach the guard in pieces (the last of 55 values
cut alone in its own message), so the hits of the last ``RECENT`` texts count with a new one
(and so do their candidates, for the chance)."""
_RECENT: deque[tuple[frozenset[int], float]] = deque(maxlen=RECENT)


def _ints(known: AbstractSet[str]) -> np.ndarray | None:
    ex = sys.modules.get("jupyter_guard.hooks.exits")   # (its forms: not read as values)
    spelt = ex.spelt if ex is not None and known is ex.known else frozenset()
    return known_ints.known(known, spelt)


def spans(text: str, known: AbstractSet[str]) -> list[tuple[int, int, str]]:
    """Where ``text`` writes a known nine-digit value cut or respelt (see above)."""
    ints = None
    out: list[tuple[int, int, str]] = []
    if "." in text or len(text) >= 8:
        ints = _ints(known)
    if ints is None:
        return out
    if any(c in text for c in "x,;abcdefghijklmnopqrstuvwyz"):
        out += _spelt(text, ints)
    out += _ordinary(text, ints)
    return list(dict.fromkeys(out)) if len(out) > 1 else out


def _spelt(text: str, ints: np.ndarray) -> list[tuple[int, int, str]]:
    """Filler between digits, lists of character codes: any window of nine digits known."""
    out = []
    filled, codes = _FILLED, _CODES
    try:
        found = list(filled.finditer(text))
    except UnicodeEncodeError:   # a lone surrogate (RE2 reads UTF-8): Python's engine
        filled, codes = _FILLED_PY, _CODES_PY
        found = list(filled.finditer(text))
    for m in found:
        if _windows(m.group()[::2], ints):
            out.append((m.start(), m.end(), SPELT))
    if "4" in text or "5" in text:
        for m in codes.finditer(text):
            chars = "".join(chr(int(c)) for c in re.findall("[0-9]+", m.group()))
            if _windows(chars.replace("-", ""), ints):
                out.append((m.start(), m.end(), SPELT))
    return out


def _windows(digits: str, ints: np.ndarray) -> bool:
    if len(digits) < 9 or not digits.isdigit():
        return False
    wins = np.array([int(digits[i:i + 9]) for i in range(len(digits) - 8)], dtype=np.int64)
    return bool(_has(ints, wins).any())


def _has(ints: np.ndarray, vals: np.ndarray) -> np.ndarray:
    at = np.searchsorted(ints, vals)
    at[at == len(ints)] = 0
    return ints[at] == vals


def _ordinary(text: str, ints: np.ndarray) -> list[tuple[int, int, str]]:
    """Eight-digit numbers a known value less one end digit is, and decimal fractions whose
    digits (trailing zeros restored) are a known value, where more than chance explains. The
    numbers are read in numpy (``_runs``); where they stand is looked for only on a hit."""
    cuts, decs = _runs(text)
    more = _more(text)   # scientific notation, digits in groups with fillers
    if more:
        cuts = np.concatenate([cuts, np.array([v for _, _, c, v in more if c], np.int64)])
        decs = np.concatenate([decs, np.array([v for _, _, c, v in more if not c], np.int64)])
    hits: dict[int, int] = {}   # value -> its kind (1: cut, 2: a decimal)
    tried = 0.0
    if len(cuts):
        at = np.searchsorted(ints, cuts * 10)   # a known value of these eight and one more
        at[at == len(ints)] = len(ints) - 1
        hit = (ints[at] >= cuts * 10) & (ints[at] <= cuts * 10 + 9)
        for d in _POW8:   # one digit before them
            hit |= _has(ints, cuts + d)
        hits.update(dict.fromkeys(cuts[hit].tolist(), 1))
        tried += len(cuts) * 20
    if len(decs):
        hits.update(dict.fromkeys((-1 - decs[_has(ints, decs)]).tolist(), 2))
        tried += len(decs)
    if not hits:
        _RECENT.append((frozenset(), tried))   # (what was read without a hit counts too)
        return []
    _RECENT.append((frozenset(hits), tried))
    seen = frozenset().union(*(h for h, _ in _RECENT))   # this text and the last ones
    if len(seen) < MIN_HITS or _chance(len(seen), sum(t for _, t in _RECENT) * len(ints)
                                       / 1e9) >= ALPHA:
        return []
    cut = {v for v, k in hits.items() if k == 1}
    dec = {-1 - v for v, k in hits.items() if k == 2}
    return [(m.start(), m.end(), SPELT) for m in _CUT.finditer(text)
            if int(m.group().replace("-", "")) in cut] + [
        (m.start(), m.end(), SPELT) for m in _DECIMAL.finditer(text)
        if not dec.isdisjoint(_fraction(m.group()))] + [
        (a, b, SPELT) for a, b, c, v in more if v in (cut if c else dec)]


# ``np.savetxt``'s default ``%.18e`` (``1.000000050000000000e-01``): 7-9 significant digits,
# then zeros (or nines, rounded); and digits in groups of one to three with one filler between
# (``'x'.join(s[i:i + 2] ...)``), not a separator of numbers (``1,23,456``: ``file_pieces``
# joins numbers written side by side). One linear pass of RE2 each (no look-arounds: the edges
# are looked at for each match, ``_alone``)
_SCI_RE = r"[0-9]\.[0-9]{5,8}(?:0{6,}|9{6,})[0-9]{0,6}[eE][+-]?[0-9]{1,3}"
_GROUPS_RE = r"[0-9]{1,3}(?:[^0-9\s.,;:|/\\-][0-9]{1,3}){2,}"
_SCI, _GROUPS = _engine.compile(_SCI_RE), _engine.compile(_GROUPS_RE)
_SCI_PY, _GROUPS_PY = re.compile(_SCI_RE), re.compile(_GROUPS_RE)
_DIGITS = re.compile(r"[0-9]+")


def _alone(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` stands alone: not glued to a word or a decimal point."""
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    return not (before.isalnum() or before in "_." or after.isalnum() or after in "_.")


def _more(text: str) -> list[tuple[int, int, bool, int]]:
    """Candidates (start, end, a cut value?, the value) of two more ordinary forms: a number in
    scientific notation whose mantissa has 7-9 significant digits (a float's rounding to 17
    digits undone: ``9.999999949999999e-02``), and digits in groups with fillers, eight (a cut
    value) or every nine of more."""
    out: list[tuple[int, int, bool, int]] = []
    sci, groups = _SCI, _GROUPS
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:   # a lone surrogate (RE2 reads UTF-8): Python's engine
        sci, groups = _SCI_PY, _GROUPS_PY
    if "e-" in text or "e+" in text or "E-" in text or "E+" in text:
        for m in sci.finditer(text):
            if not _alone(text, m.start(), m.end()):
                continue
            mant = m.group().split("e")[0].split("E")[0]
            digits = f"{float(mant):.14e}".split("e")[0].replace(".", "").rstrip("0")
            if 7 <= len(digits) <= 9:
                out += [(m.start(), m.end(), False, v) for v in {int(digits.ljust(9, "0")),
                                                                 int(digits)}]
    for m in groups.finditer(text):
        if not _alone(text, m.start(), m.end()):
            continue
        digits = "".join(_DIGITS.findall(m.group()))
        if len(digits) == 8:
            out.append((m.start(), m.end(), True, int(digits)))
        elif 9 <= len(digits) <= 18:
            out += [(m.start(), m.end(), False, int(digits[i:i + 9]))
                    for i in range(len(digits) - 8)]
    return out


_CODE = np.zeros(256, dtype=np.int8)   # 1: a digit; 2: what glues a number to a token
_CODE[48:58] = 1
_CODE[[*range(65, 91), *range(97, 123), 95, *range(128, 256)]] = 2


def _runs(text: str) -> tuple[np.ndarray, np.ndarray]:
    """The eight-digit numbers standing alone in ``text`` (dashes between digits dropped), and
    the nine-digit values its decimals may spell (``_fraction``), as arrays."""
    empty = np.empty(0, np.int64)
    raw = np.frombuffer(text.replace("-", "").encode("utf-8", "replace"), dtype=np.uint8)
    kind = _CODE[raw]
    digit = kind == 1
    if not digit.any():
        return empty, empty
    edge = np.diff(digit.view(np.int8), prepend=0, append=0)
    starts, ends = np.flatnonzero(edge == 1), np.flatnonzero(edge == -1)
    lens = ends - starts
    before = np.where(starts > 0, raw[np.maximum(starts - 1, 0)], 32)
    after = np.where(ends < len(raw), raw[np.minimum(ends, len(raw) - 1)], 32)
    glued_b = (_CODE[before] == 2) | (before == 46)
    glued_a = (_CODE[after] == 2)
    cuts = np.flatnonzero((lens == 8) & ~glued_b & ~glued_a & (after != 46))
    # a decimal: two runs with one '.' between, neither glued on its outer side
    pair = np.flatnonzero((ends[:-1] + 1 == starts[1:]) & (after[:-1] == 46)) if len(
        starts) > 1 else empty
    pair = pair[(lens[pair] <= 10) & (lens[pair + 1] <= 12) & ~glued_b[pair]
                & ~glued_a[pair + 1] & ((lens[pair] + lens[pair + 1]) >= 7)]
    cut_vals = _values(raw, starts[cuts], 8) if len(cuts) else empty
    pair = pair[lens[pair] + lens[pair + 1] <= 18]
    if not len(pair):
        return cut_vals, empty
    lw, lf = lens[pair], lens[pair + 1]
    w, f = _run_values(raw, starts[pair], lw), _run_values(raw, starts[pair + 1], lf)
    d = w * _POW[lf] + f   # the digits, leading zeros dropped
    nd = np.searchsorted(_POW[1:], d, side="right") + 1
    ok = (nd >= 7) & (nd <= 9)
    zero = (w == 0) & (lf >= 7) & (lf <= 9) & (nd < lf)   # ``0.058161340``: a leading zero
    decs = np.concatenate([d[ok & ~zero] * _POW[9 - nd[ok & ~zero]], d[ok & ~zero],
                           f[zero] * _POW[9 - lf[zero]]])
    return cut_vals, decs


def _run_values(raw: np.ndarray, starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """The numbers of the digit runs at ``starts`` of ``lens`` digits (at most 18)."""
    v = np.zeros(len(starts), dtype=np.int64)
    for j in range(int(lens.max()) if len(lens) else 0):
        more = lens > j
        v = np.where(more, v * 10 + (raw[np.minimum(starts + j, len(raw) - 1)].astype(
            np.int64) - 48), v)
    return v


def _values(raw: np.ndarray, starts: np.ndarray, n: int) -> np.ndarray:
    """The ``n``-digit numbers that start at ``starts``."""
    v = np.zeros(len(starts), dtype=np.int64)
    for j in range(n):
        v = v * 10 + (raw[starts + j].astype(np.int64) - 48)
    return v


def _fraction(token: str) -> list[int]:
    """The nine-digit values a decimal's digits may spell: leading zeros dropped, then trailing
    zeros restored (``0.5816134`` is ``581613400``) or a leading one (``12888.033`` is
    ``012888033`` / 1e3); ``0.058161340`` keeps its zero."""
    whole, _, frac = token.partition(".")
    digits = (whole + frac).lstrip("0")
    if whole.strip("0") == "" and 7 <= len(frac) <= 9 and frac[0] == "0":
        return [int(frac.ljust(9, "0"))]   # (a value that starts with a zero)
    if 7 <= len(digits) <= 9:
        return list({int(digits.ljust(9, "0")), int(digits)})
    return []


def _chance(hits: int, expected: float) -> float:
    """The probability of ``hits`` or more coincidences (Poisson, ``expected`` of them)."""
    if expected <= 1e-3:
        return expected ** hits / math.factorial(min(hits, 170))
    term = total = math.exp(-expected)
    for i in range(1, hits):
        term *= expected / i
        total += term
        if total >= 1.0:
            break
    return max(0.0, 1.0 - total)


def read(text: str, known: Any) -> bool:
    """Whether ``text`` holds one (the exits)."""
    return bool(spans(text, known))
