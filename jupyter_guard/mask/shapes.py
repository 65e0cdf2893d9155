"""The detectors' precise patterns, read by numpy instead of ``re``: for a whole ASCII text, the
values each pattern's ``finditer`` finds and its validator keeps, as start and end arrays.

``re`` tries a pattern at every position (~25 ms per MB and detector on text full of digits,
whatever the engine's prefix tricks). Here the places where a value can start are few and
found in one vectorised pass (an ``@``, a separator three digits on, a ``+``), and the shape
that follows each is checked by gathers over all of them at once. Each finder answers, for
every such place, what the pattern anchored there matches (the first path ``re``'s
backtracking would take); where that path fails and another one might succeed, it declines
(None) and the caller's ``re`` path decides. ``walk`` then turns anchored matches into what
``finditer`` returns (a later match starting inside an accepted one is skipped; after a
rejected one the search goes on one character later). A differential test compares every
finder with ``Detector.spans_in`` on random and adversarial texts.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

PAD = 64
"""Zero bytes after the text: gathers past its end read a character no class holds (as the
look-arounds read the end of the text), and ``data[-1]`` is one of them (before position 0)."""


def _np() -> Any:
    import numpy as np  # loaded by the bulk paths already; only for long texts

    return np


DIGIT = b"0123456789"
UPPER = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LETTER = UPPER + UPPER.lower()
WORD = LETTER + DIGIT + b"_"


class Text:
    """An ASCII text as bytes (``data``, padded) with the class masks and positions finders
    share, built once per text with ``bytes.translate`` and ``take`` (numpy's fancy indexing
    into a table is several times slower on a whole text)."""

    def __init__(self, raw: bytes) -> None:
        np = _np()
        self.raw, self.n = raw, len(raw)
        self.padded = raw + bytes(PAD)
        self.data = np.frombuffer(self.padded, dtype=np.uint8)
        self._memo: dict[bytes, Any] = {}

    @functools.cached_property
    def text(self) -> str:
        """The text as ``str`` (for ``re`` where a finder is unsure)."""
        return self.raw.decode("ascii")

    def mask(self, chars: bytes) -> Any:
        """Whether each character (padding included) is one of ``chars``."""
        got = self._memo.get(chars)
        if got is None:
            got = _np().frombuffer(self.padded.translate(_flags(chars)), dtype=bool)
            self._memo[chars] = got
        return got

    def is_(self, chars: bytes, at: Any) -> Any:
        """Whether the character at each index of ``at`` is one of ``chars`` (-1: padding)."""
        got = self._memo.get(chars)
        if got is not None:
            return got.take(at)
        return _table(chars).take(self.data.take(at))

    def where(self, chars: bytes) -> Any:
        """The positions of the characters in ``chars``, ascending."""
        key = b"+" + chars
        got = self._memo.get(key)
        if got is None:
            np = _np()
            hit = self.data[:self.n] == chars[0] if len(chars) == 1 else self.mask(chars)[:self.n]
            got = np.flatnonzero(hit)
            self._memo[key] = got
        return got

    def where_not(self, chars: bytes) -> Any:
        """The positions of the characters not in ``chars`` (and ``n``: the end stops runs)."""
        key = b"!" + chars
        got = self._memo.get(key)
        if got is None:
            np = _np()
            got = np.append(np.flatnonzero(~self.mask(chars)[:self.n]), self.n)
            self._memo[key] = got
        return got

    def run_end(self, chars: bytes, at: Any) -> Any:
        """For each index of ``at``, the first position at or after it not in ``chars`` (past
        the end: itself)."""
        np, stops = _np(), self.where_not(chars)
        return np.maximum(stops[np.searchsorted(stops, np.minimum(at, self.n))], at)

    def run(self, chars: bytes, at: Any, cap: int) -> Any:
        """How many characters of ``chars`` follow each index of ``at`` (from it on), counted
        up to ``cap`` (a run longer than that counts ``cap``)."""
        return self._run(chars, at, cap, 1)

    def run_back(self, chars: bytes, at: Any, cap: int) -> Any:
        """``run`` backwards: how many characters of ``chars`` end at each index of ``at``."""
        return self._run(chars, at, cap, -1)

    def _run(self, chars: bytes, at: Any, cap: int, step: int) -> Any:
        np = _np()
        count = np.zeros(len(at), dtype=np.int64)
        live = np.arange(len(at))
        for k in range(cap):  # (runs end soon: only the live ones are read on)
            live = live[self.is_(chars, at.take(live) + step * k)]
            if not len(live):
                break
            count[live] += 1
        return count

    def narrow(self, at: Any, chars: bytes, offsets: Sequence[int]) -> Any:
        """The indices of ``at`` where ``at + k`` holds one of ``chars`` for each ``k`` of
        ``offsets`` (each test on the survivors of the ones before)."""
        for k in offsets:
            at = at[self.is_(chars, at + k)]
        return at

    def columns(self, at: Any, width: int) -> Any:
        """The ``width`` characters from each index of ``at`` on, one row per place (a new
        array: rows of a sliding window, transposed, so each place is one contiguous row)."""
        np = _np()
        window = np.lib.stride_tricks.sliding_window_view(self.data, width)
        return np.ascontiguousarray(window[at].T)

    def all_in(self, chars: bytes, at: Any, offsets: Sequence[int]) -> Any:
        """Whether ``at + k`` holds one of ``chars`` for every ``k`` of ``offsets``."""
        ok = self.is_(chars, at + offsets[0])
        for k in offsets[1:]:
            ok &= self.is_(chars, at + k)
        return ok


@functools.lru_cache(maxsize=64)
def _flags(chars: bytes) -> bytes:
    """A ``bytes.translate`` table: 1 for each of ``chars``, else 0."""
    return bytes(1 if c in chars else 0 for c in range(256))


@functools.lru_cache(maxsize=64)
def _table(chars: bytes) -> Any:
    return _np().frombuffer(_flags(chars), dtype=bool)


def ahead_ok(t: Text, at: Any, refused: bytes, first: bytes = b"", then: bytes = DIGIT) -> Any:
    """The look-ahead ``(?![refused]|[first][then])`` at each index of ``at``."""
    bad = t.is_(refused, at)
    if first:
        bad |= t.is_(first, at) & t.is_(then, at + 1)
    return ~bad


Found = tuple[Any, Any, Any, Any]
"""Anchored matches: starts, ends, whether each is a value (its validator), and whether each
was certain (False: ``re`` might match otherwise there; the finder's caller declines)."""


def walk(starts: Any, ends: Any, ok: Any) -> tuple[Any, Any]:
    """What ``finditer`` plus a validator keep of anchored matches (any order, one per start):
    a rejected match changes nothing (the search goes on one character later, as it does where
    nothing matched), and an accepted one is kept unless it starts inside the last one kept."""
    order = _np().argsort(starts[ok], kind="stable")
    starts, ends = starts[ok][order], ends[ok][order]
    kept = unnested(starts, ends)
    return (starts, ends) if kept is None else (starts[kept], ends[kept])


def unnested(starts: Any, ends: Any) -> Any:
    """Of spans sorted by start, which are kept when each one starting inside the last one kept
    is dropped (as ``text.resolve`` does); None when all are."""
    if len(starts) < 2 or (starts[1:] >= ends[:-1]).all():
        return None
    np = _np()
    n = len(starts)  # after a kept span, the next kept is the first to start at its end or
    jump = np.append(np.searchsorted(starts, ends, "left"), n)  # after (n: none); the kept
    chain = np.zeros(1, dtype=np.int64)  # are the first span's chain, found by doubling:
    while True:  # ``chain`` holds the first 2**k, ``jump`` goes 2**k steps (n stays n)
        more = jump[chain]
        chain = np.concatenate((chain, more[more < n]))
        if len(chain) < 2 * len(more) or more[-1] >= n:
            break
        jump = jump[jump]
    keep = np.zeros(n, dtype=bool)
    keep[chain] = True
    return keep


FINDERS: dict[str, Callable[[Text], Found | None]] = {}


def finder(name: str) -> Callable[[Callable[[Text], Found | None]],
                                  Callable[[Text], Found | None]]:
    def register(fn: Callable[[Text], Found | None]) -> Callable[[Text], Found | None]:
        FINDERS[name] = fn
        return fn
    return register


def values(name: str, t: Text) -> tuple[Any, Any] | None:
    """Starts and ends of detector ``name``'s values in the whole text, as ``spans_in`` finds
    them, or None where a finder cannot tell (or there is none for ``name``)."""
    fn = FINDERS.get(name)
    got = None if fn is None else fn(t)
    if got is None:
        return None
    starts, ends, ok, sure = got
    if not sure.all():
        settled = _settle(name, t, starts, ends, ok, sure)
        if settled is None:
            return None
        ends, ok = settled
    starts, ends = walk(starts, ends, ok)
    if name == "ssn" and len(starts) and t.is_(LETTER, starts).any():
        # a match from a key word: its value is the nine digits it ends with
        starts = _np().where(t.is_(LETTER, starts), ends - 9, starts)
    return starts, ends


def spans_within(name: str, text: str, pos: int, endpos: int) -> list[tuple[int, int]] | None:
    """``Detector.spans_in(text, pos, endpos)`` of detector ``name`` from its finder, or None
    where the finder cannot tell (or the range is not ASCII). The finder reads the range with
    the character before it (the look-behinds are one character wide and see it, as
    ``spans_in``'s do), whose own match is left out before ``walk``; the range's end is the
    text's end, as ``endpos`` is for ``re``."""
    fn = FINDERS.get(name)
    base = max(pos - 1, 0)
    window = text[base:endpos]
    if fn is None or not window.isascii():
        return None
    t = Text(window.encode("ascii"))
    got = fn(t)
    if got is None:
        return None
    starts, ends, ok, sure = got
    if not sure.all():
        settled = _settle(name, t, starts, ends, ok, sure)
        if settled is None:
            return None
        ends, ok = settled
    starts, ends = walk(starts, ends, ok & (starts >= pos - base))
    if name == "ssn" and len(starts):  # a key word's value: the nine digits its match ends with
        starts = _np().where(t.is_(LETTER, starts), ends - 9, starts)
    return list(zip((starts + base).tolist(), (ends + base).tolist()))


def _settle(name: str, t: Text, starts: Any, ends: Any, ok: Any, sure: Any
            ) -> tuple[Any, Any] | None:
    """Ends and verdicts with each unsure anchored match replaced by what the precise pattern
    anchored there matches and its validator says (``re``, one match per place, each over its
    own run: linear). Finders mark a place unsure only where ``re`` may backtrack to another
    match from the same start (every other start is listed); None for a detector whose value
    is a group of its match (a key word before it: the match and the value start apart)."""
    from .detect import DETECTORS

    det = DETECTORS.get(name)
    if det is None or det.group is not None:
        return None
    ends, ok, text = ends.copy(), ok.copy(), t.text
    for i in _np().flatnonzero(~sure).tolist():
        got = next(iter(det.find_at(text, int(starts[i]), t.n)), None)
        ok[i] = got is not None
        if got is not None:
            ends[i] = got[1]
    return ends, ok



def found(starts: Any, ends: Any, ok: Any = None, sure: Any = None) -> Found:
    """Anchored matches all sure (and all values unless ``ok`` says otherwise)."""
    np = _np()
    every = np.ones(len(starts), dtype=bool)
    return starts, ends, every if ok is None else ok, every if sure is None else sure


def starts(t: Text, shape: tuple[bytes, ...], refused: bytes) -> Any:
    """Positions where ``shape`` (one class of characters per character) starts after a
    character not in ``refused``: whole-text masks (text full of digits has many starts)."""
    np, n = _np(), t.n
    ok = np.concatenate(([True], ~t.mask(refused)[:n - 1])) if n else np.zeros(0, dtype=bool)
    for k, chars in enumerate(shape):
        ok &= t.mask(chars)[k:n + k]
    return np.flatnonzero(ok)
