"""The known values' automata, built in levels, and the values not built yet, found by lookups.

Building a pyahocorasick automaton costs ~3 µs a value (with the gate's anchors and shapes,
~5): one fetch of 250,000 SSNs (~1.5 million values and forms) cost 7.5 s, paid by the next
cell, and each later fetch rebuilt everything (36 s at 6 million). Here:

- Values added wait in ``pending``. A text is searched for them by lookups: each of its
  substrings of a pending value's length, looked up in the set (~0.1 µs each; an SSN fetch
  brings three lengths). The hits are the automaton's: every place a value occurs.
- A batch of at most ``CHUNK`` pending values becomes an automaton (a level) once the lookups
  spent, or those the text at hand would cost, pass what building it costs (``COST`` lookups a
  value): a short text (a cell's source, a one-line print) never waits for a build, and over a
  session building costs at most about what the lookups would have.
- A new level merges with the one before while that is no larger and both hold at most
  ``MERGE_MAX`` values (log-structured: a value is rebuilt O(log n) times, no fetch rebuilds
  everything); past ``LEVELS_MAX`` levels, the two smallest merge.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

try:
    import ahocorasick
except ImportError:  # pragma: no cover - a platform without the wheel: the token check runs
    ahocorasick = None

CHUNK = 1 << 18
"""The most pending values one build takes (~1 s)."""
COST = 64
"""What building a value costs, in lookups of a substring."""
MERGE_MAX = 1 << 20
"""The largest level a merge makes, unless ``LEVELS_MAX`` forces it."""
LEVELS_MAX = 16
"""The most automata a text is scanned with."""
SHORT = 64
"""A text this short is looked up at every length (~2,000 lookups): it needs no lengths."""


def automaton(values: Any) -> Any:
    a = ahocorasick.Automaton(ahocorasick.STORE_LENGTH)
    for v in values:
        if isinstance(v, str) and v:
            a.add_word(v)
    if len(a):
        a.make_automaton()
    return a


class Level:
    """One automaton and the values it was built from (kept for merges)."""

    def __init__(self, values: list[str]) -> None:
        self.values = values
        self.automaton = automaton(values)


class Store:
    """The levels and the pending values of one ``known_match.Matcher``."""

    def __init__(self) -> None:
        self.levels: list[Level] = []
        self.pending: list[str] = []
        self._lengths: set[int] = set()   # the pending values' lengths
        self.unmeasured: list[list[Any]] = []   # batches whose lengths are not in it yet
        self.spent = 0                   # lookups since the last build

    def add(self, values: list[Any]) -> None:
        """Values added to the set (strings; anything else is never found in a text)."""
        self.pending.extend(values)
        self.unmeasured.append(values)

    @property
    def lengths(self) -> set[int]:
        """The pending values' lengths, worked out when a text longer than ``SHORT`` needs them
        (~150 ms a million values: a short text does not wait for it)."""
        for values in self.unmeasured:
            self._lengths.update(len(x) for x in values if isinstance(x, str))
        self.unmeasured = []
        self._lengths.discard(0)
        return self._lengths

    def built_values(self) -> int:
        return sum(len(lv.values) for lv in self.levels)

    def prepare(self, n: int | None) -> list[str]:
        """Builds pending values into levels while the lookups a text of ``n`` characters needs
        (with those spent before) cost more than the next build (None: builds them all);
        returns the values built."""
        out: list[str] = []
        while self.pending and (n is None or self.spent + (0 if n <= SHORT else n * len(
                self.lengths)) >= COST * min(len(self.pending), CHUNK)):
            batch = [x for x in self.pending[:CHUNK] if isinstance(x, str) and x]
            self.pending = self.pending[CHUNK:]
            self._lengths, self.unmeasured = set(), [self.pending]
            self.spent = 0
            self._push(batch)
            out += batch
        return out

    def _push(self, batch: list[str]) -> None:
        lv = self.levels
        while lv and len(lv[-1].values) <= len(batch) and (
                len(lv[-1].values) + len(batch) <= MERGE_MAX):
            batch = lv.pop().values + batch
        lv.append(Level(batch))
        lv.sort(key=lambda x: -len(x.values))
        while len(lv) > LEVELS_MAX:
            b, a = lv.pop(), lv.pop()
            lv.append(Level(a.values + b.values))
            lv.sort(key=lambda x: -len(x.values))

    def lengths_for(self, n: int) -> list[int]:
        """The lengths a text of ``n`` characters is looked up at (every one when it is short),
        counted as spent."""
        if not self.pending:
            return []
        lengths = list(range(1, n + 1)) if n <= SHORT else sorted(self.lengths)
        self.spent += n * len(lengths)
        return lengths

    @staticmethod
    def lookups(text: str, values: Any, lengths: list[int]) -> Iterator[tuple[int, int, str]]:
        """``(start, end, value)`` of the substrings of ``text`` of ``lengths`` that are in
        ``values``."""
        n = len(text)
        has = values.__contains__
        for k in lengths:
            for i in range(n - k + 1):
                s = text[i:i + k]
                if has(s):
                    yield i, i + k, s

    @staticmethod
    def scans(text: str, values: Any, levels: tuple[Level, ...]) -> Iterator[
            tuple[int, int, str]]:
        """``(start, end, value)`` of the ``levels``' values in ``text``. An occurrence that
        overlaps the one just yielded of the same value is skipped: a value repeating itself
        (``'11111111'`` in a run of a million ``1``) would otherwise yield a hit a character,
        each then judged in Python (seconds a megabyte); the first of such a run is kept, and
        one ``len(value)`` further on."""
        for lv in levels:
            a = lv.automaton
            if not len(a) or a.kind != ahocorasick.AHOCORASICK:
                continue
            last_end, last = -1, ""
            for end, k in a.iter(text):
                start = end - k + 1
                if start < last_end and k == len(last) and text.startswith(last, start):
                    continue
                value = text[start:end + 1]
                if value in values:
                    last_end, last = end + 1, value
                    yield start, end + 1, value
