"""Known nine-digit values (SSNs) written cut or respelt as numbers: one digit cut at either end
(``s[1:]``, ``s[:-1]``, ``s.replace('-', '')[1:]``, ``35-31-9555``), as a decimal fraction
(``int(s) / 1e9`` printed ``0.100000005``, its trailing zeros lost: ``0.5816134``; any power of
ten: ``1000000.05``, a leading zero lost: ``12888.033``; seven significant digits at least),
with one filler character between its digits (``'x'.join(s)``, ``1a0b0c…``), or as a list of
its character codes (``[ord(c) for c in s]``).

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
_CUT = _engine.compile(r"[0-9](?:-?[0-9]){7,}")            # eight digits (dashes between)
_DECIMAL = _engine.compile(r"[0-9]{1,10}\.[0-9]{1,12}")
_FILLED = _engine.compile(r"[0-9](?:[^0-9\s][0-9]){8,}")   # one filler character between
_CODES = _engine.compile(r"(?:4[589]|5[0-7])(?:(?:, ?| |; ?)(?:4[589]|5[0-7])){8,}")
_BEFORE = frozenset("0123456789.-_" + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_POW8 = np.arange(10, dtype=np.int64) * 100_000_000
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
    return out


def _spelt(text: str, ints: np.ndarray) -> list[tuple[int, int, str]]:
    """Filler between digits, lists of character codes: any window of nine digits known."""
    out = []
    for m in _FILLED.finditer(text):
        if _windows(m.group()[::2], ints):
            out.append((m.start(), m.end(), SPELT))
    if "4" in text or "5" in text:
        for m in _CODES.finditer(text):
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
    digits (trailing zeros restored) are a known value, where more than chance explains."""
    cuts = [m for m in _CUT.finditer(text) if _alone(text, m.start(), m.end())]
    cuts = [m for m in cuts if len(m.group().replace("-", "")) == 8]
    decs = [m for m in _DECIMAL.finditer(text) if "." in text and _alone(text, m.start(),
                                                                        m.end())]
    hits: dict[int, list[tuple[int, int]]] = {}   # value -> where
    tried = 0.0
    if cuts:
        t = np.array([int(m.group().replace("-", "")) for m in cuts], dtype=np.int64)
        at = np.searchsorted(ints, t * 10)   # a known value of these eight and one digit more
        at[at == len(ints)] = len(ints) - 1
        first = (ints[at] >= t * 10) & (ints[at] <= t * 10 + 9)
        last = np.zeros(len(t), dtype=bool)   # one digit before them
        for d in _POW8:
            last |= _has(ints, t + d)
        for m, v, hit in zip(cuts, t.tolist(), (first | last).tolist()):
            if hit:
                hits.setdefault(v, []).append(m.span())
        tried += len(t) * 20
    cands = [(c, m.span()) for m in decs for c in _fraction(m.group())]
    if cands:
        v = np.array([c for c, _ in cands], dtype=np.int64)
        for (c, span), hit in zip(cands, _has(ints, v).tolist()):
            if hit:
                hits.setdefault(-1 - c, []).append(span)
        tried += len(v)
    if not hits:
        _RECENT.append((frozenset(), tried))   # (what was read without a hit counts too)
        return []
    _RECENT.append((frozenset(hits), tried))
    seen = frozenset().union(*(h for h, _ in _RECENT))   # this text and the last ones
    if len(seen) < MIN_HITS or _chance(len(seen), sum(t for _, t in _RECENT) * len(ints)
                                       / 1e9) >= ALPHA:
        return []
    return [(a, b, SPELT) for where in hits.values() for a, b in where]


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


def _alone(text: str, a: int, b: int) -> bool:
    """Not glued to letters, digits or a decimal point (a part of a longer token)."""
    return (a == 0 or text[a - 1] not in _BEFORE) and (
        b >= len(text) or not (text[b] in _BEFORE and (text[b] not in ".-" or (
            b + 1 < len(text) and text[b + 1].isalnum()))))


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
