"""Values known to come from sensitive columns, found in a long text in one C pass.

``Values`` is the set of known values (``exits.known``); it counts its changes, so ``Matcher``
rebuilds only what changed. The matcher is an Aho-Corasick automaton (pyahocorasick) over the
values: its scan costs the same for 10 or 2,000,000 values (~4 ms per MiB), where splitting the
text into tokens and testing each against the set cost 30-150 ms per MiB.

- A value counts where it stands alone: at the text's edges or between separators (the
  characters that cut tokens, whitespace, and ``. - + @``), so ``123456789`` is found in
  ``ssn=123456789,`` and not inside ``91234567890``.
- Each value's rarest character (``@`` in an e-mail) is its anchor: a text with none of the
  anchors (at most ``ANCHORS`` of them) holds no value, and is passed after a few C searches.
- Values added since the last build are found by lookups in the set until building them is
  worth it, then go into automata built in levels (``known_levels``): the cell after a fetch of
  250,000 SSNs (~1.5 million values and forms) no longer waits 7-36 s for a rebuild.
- Without pyahocorasick (another Python), ``find`` returns None and the caller uses its token
  check.
"""
from __future__ import annotations

import itertools
import re
import threading
import weakref
from typing import Any

from jupyter_guard.hooks.known_gate import Gate
from jupyter_guard.hooks.known_levels import Store
from jupyter_guard.hooks.known_packed import Packed
from jupyter_guard.hooks.known_set import JOURNAL_MAX, Values

__all__ = ["ANCHORS", "JOURNAL_MAX", "Matcher", "Packed", "Values"]   # (where they were)

try:
    import ahocorasick
except ImportError:  # pragma: no cover - a platform without the wheel: the token check runs
    ahocorasick = None

_EDGE = frozenset(",;|\"'<>()[]{}=&?/\\:\x00.+@-\x7f$#%*!~^`" +
                  "".join(map(chr, range(0x80, 0xa0))))
# (the last: control bytes of a binary format, latin-1 decoded, as ``exits._CUT`` cuts them)
_COMMON = frozenset(",.-:/ \t\n\r0123456789")
ANCHORS = 6
TILE_MIN = 6
"""The shortest value that counts as a piece of a token made of values glued together."""
STUCK_DIGITS = 9
STUCK_MIN = 2
"""Numbers of ``STUCK_DIGITS``+ digits glued at one end to other digits (``str(i) + ssn``)
count once ``STUCK_MIN`` distinct ones are in one text (one alone is how honest numbers look)."""


def _rarity(c: str) -> int:
    """How often ``c`` appears in ordinary data (lower is rarer): a value's rarest character is
    its anchor."""
    if c.isspace():
        return 6
    if c in _COMMON:
        return 5 if not c.isdigit() else 4
    if c.isalpha():
        return 1 if c.isupper() else 2
    return 0


class _Ranks(dict):  # type: ignore[type-arg]  # str -> (rarity, str)
    """Each character's place in the anchor order, worked out once per character: ``min``
    then looks ranks up in C (a Python key per character cost ~8 µs a value)."""

    def __missing__(self, c: str) -> tuple[int, str]:
        if len(self) >= 1 << 16:  # bounded (text of every script): worked out again
            self.clear()
        self[c] = rank = (_rarity(c), c)
        return rank


_RANKS = _Ranks()


def _rank(c: str) -> int:
    return _RANKS[c][0]


def _anchor(v: str) -> str:
    """``v``'s rarest character (the lowest ``(_rarity(c), c)``)."""
    return min(v, key=_RANKS.__getitem__)


# what cuts printed text into tokens: a value holding one is no token (``'user0 at x.io'``,
# ``translate(email, '@.', '#,')``'s ``user1#example,com``, ``'1,,,,,,,2'``); not the commas
# between digits of a known number's own forms (``f'{n:,}'``: the exits look for those by
# themselves, and they would make every print run the automaton)
_CUT_RE = re.compile(r"[\s;|\"'<>()\[\]{}=&?/\\:]|(?<!\d),|,(?!\d)")


_CUT_ASCII = " \t\n\r\f\v\x1c\x1d\x1e\x1f;|\"'<>()[]{}=&?/\\:"   # ``_CUT_RE``'s characters
try:   # a comma not between digits, in ASCII text, without look-arounds (RE2: ~20 ms a MB)
    import re2
    _COMMA: Any = re2.compile(r"(?:^|[^0-9]),|,(?:[^0-9]|$)")
except ImportError:  # pragma: no cover - depends on the environment
    _COMMA = None


def _spaced(values: Any) -> bool:
    """Whether one of ``values`` holds a space or another separator (C passes: the regex
    alone took ~1.2 s for the ~1.5 million values and forms of 250,000 SSNs)."""
    try:
        joined = "\x01".join(values)
    except TypeError:   # not all strings
        joined = "\x01".join(x for x in values if isinstance(x, str))
    return spaced_joined(joined)


def spaced_joined(joined: str) -> bool:
    """``_spaced`` of values already joined by ``\\x01`` (a caller that joined them anyway)."""
    if _COMMA is None or not joined.isascii():
        return _CUT_RE.search(joined) is not None
    return any(c in joined for c in _CUT_ASCII) or (
        "," in joined and _COMMA.search(joined) is not None)


def _alone(text: str, start: int, end: int) -> bool:
    """``text[start:end]`` stands between separators (or the text's edges)."""
    return _edge_before(text, start) and _edge_after(text, end)


def _edge_before(text: str, i: int) -> bool:
    if i == 0 or text[i - 1] in _EDGE or text[i - 1].isspace():
        return True
    return i > 1 and text[i - 2] == "\\" and text[i - 1] in "ntrfv0"   # a repr's ``\\n``


def _edge_after(text: str, i: int) -> bool:
    return i >= len(text) or text[i] in _EDGE or text[i].isspace()


def _boundary(text: str, i: int) -> bool:
    """Position ``i`` is the text's edge, a separator's, or where digits meet letters."""
    if i <= 0 or i >= len(text):
        return True
    x, y = text[i - 1], text[i]
    if x in _EDGE or y in _EDGE or x.isspace() or y.isspace():
        return True
    return not ((x.isdigit() and y.isdigit()) or (x.isalpha() and y.isalpha()))


class Matcher:
    """Finds a known value in a text; built lazily, on the first long text after a change."""

    def __init__(self, values: Values) -> None:
        self.values = values
        self.resets = values.resets if not values else -1   # (empty: nothing to read again)
        self.store = Store()   # the automata, in levels, and the values not built yet
        self.anchors: set[str] = set()   # (of the built values)
        self.gate = Gate(_rank)   # whether a text can hold any value: one RE2 pass (``known_gate``)
        self.spaced = False
        self.spaced_todo: list[list[str]] = []   # batches ``spaced`` has not looked at yet
        self.spaced_at: tuple[int, int, int, bool] | None = None  # (the set's state when
        self.spaced_then = False                            # ``has_spaced`` last looked)
        self.lock = threading.RLock()   # (the guard's own threads print and check too)
        values.watchers.append(weakref.WeakMethod(self.forget))

    def forget(self) -> None:
        """The set was cleared: its automata go now, not at the next long text."""
        with self.lock:
            self.resets = self.values.resets
            self.store = Store()
            self.anchors, self.gate = set(), Gate(_rank)
            self.spaced, self.spaced_todo, self.spaced_at = False, [], None

    def _sync(self, n: int | None = None) -> None:
        """Takes the values added (or the whole set, after a removal) as pending, and builds
        what ``Store.prepare`` says a text of ``n`` characters is worth (None: everything)."""
        self._take()
        built = self.store.prepare(n)
        if built:
            anchors = list(map(_anchor, built))
            self.anchors.update(anchors)
            self.gate.add(built, anchors)

    def _take(self) -> None:
        """The values added (or the whole set, after a removal) become pending (cheap)."""
        v = self.values
        if self.resets != v.resets:
            self.forget()
            v.added = []    # before the copy: a value added meanwhile is in both, not lost
            whole = list(v)
            self.store.add(whole)
            self.spaced_todo.append(whole)   # (``has_spaced`` reads the whole set again)
        elif v.added:
            added, v.added = v.added, []   # a swap: a value added meanwhile waits for the next
            self.store.add(added)

    def has_spaced(self) -> bool:
        """Whether a known value holds a space or another separator (``'user0 at
        example.com'``, a full name, ``'1,,,,,,,2'``): no token is such a value, so printed
        text needs the automaton."""
        if ahocorasick is None:
            return False
        v = self.values
        state = (v.resets, len(v), len(v.unchecked), v.spaced)
        if state != self.spaced_at:  # (builds nothing: printing known values needs the
            with self.lock:            # automaton only when a token is no value)
                self._take()
                self.spaced_at = (v.resets, len(v), len(v.unchecked), v.spaced)
                todo, self.spaced_todo = self.spaced_todo, []
                unchecked, v.unchecked = v.unchecked, []   # (a swap, as ``added``'s)
                self.spaced = (self.spaced or v.spaced or _spaced(unchecked)
                               or any(map(_spaced, todo)))
                self.spaced_then = self.spaced
        return self.spaced_then

    @staticmethod
    def _may(text: str, anchors: set[str], gate: Gate) -> bool:
        """Whether a built value can occur in ``text`` (its anchors, then the gate)."""
        if len(anchors) <= ANCHORS and not any(c in text for c in anchors):
            return False   # no value's rarest character in the text (one C search each)
        return gate.may_hit(text)   # no value's rare character nor shape (one RE2 pass)

    def _hits(self, text: str, ordered: bool = False) -> Any:
        """``(start, end, value)`` of every known value in ``text``; ``ordered``: once each, in
        order of their ends (the longest first), as one automaton of the whole set yields
        them."""
        with self.lock:   # what is built and what is pending, taken together
            self._sync(len(text))
            st = self.store
            levels, lengths = tuple(st.levels), st.lengths_for(len(text))
            anchors, gate = set(self.anchors), self.gate   # (a few characters)
        found: Any = iter(())
        if levels and self._may(text, anchors, gate):
            found = Store.scans(text, self.values, levels)
        if lengths:
            found = itertools.chain(found, Store.lookups(text, self.values, lengths))
        return found if not ordered else _in_order(found)

    def glued(self, text: str, hits: list[Any] | None = None) -> list[tuple[int, int]]:
        """Spans of known values in ``text`` that no token is: a value holding a space or
        another separator where it stands alone; and values that do not stand alone but leak
        all the same: an e-mail anywhere (an '@' value cannot occur by chance inside other text:
        ``'x' + email``), and chains of two or more values of ``TILE_MIN``+ characters written
        end to end (``''.join(df.ssn)``) whose ends meet a separator or another kind of
        character (``'id' + ''.join(ssns)``). One value glued to other digits or letters
        (``'9' + ssn``) is not one: that is how honest numbers and words look; but
        ``STUCK_MIN`` distinct numbers each glued to digits at one end and standing free at the
        other (``str(i) + ssn`` for every row) are."""
        if ahocorasick is None:
            return []
        out: list[tuple[int, int]] = []
        pieces: list[tuple[int, int]] = []
        stuck: dict[str, tuple[int, int]] = {}
        for a, b, value in (self._hits(text, ordered=True) if hits is None
                            else _in_order(hits)):
            cut = " " in value or _CUT_RE.search(value) is not None
            if "@" in value or cut:
                if _alone(text, a, b) == cut:   # no token found it
                    out.append((a, b))
            elif b - a >= TILE_MIN:
                pieces.append((b, a))
                if b - a >= STUCK_DIGITS and value.isdigit() and value.strip("01") and (
                        _edge_before(text, a) != _edge_after(text, b)) and (
                        _boundary(text, a) != _boundary(text, b)):   # (0/1 only: ``bin(n)``)
                    stuck[value] = (a, b)
        if len(stuck) >= STUCK_MIN:
            out.extend(stuck.values())
        pieces.sort()
        chains: dict[int, tuple[int, int]] = {}   # end -> (chain start, pieces)
        for b, a in pieces:
            head = chains.get(a)
            if head is None and not _boundary(text, a):
                continue
            first, n = head if head is not None else (a, 0)
            chains[b] = (first, n + 1)
            if n + 1 >= 2 and _boundary(text, b):
                out.append((first, b))
        return out

    def anywhere(self, text: str) -> bool:
        """Whether a value occurs anywhere in ``text``, glued to anything (fixed-width values
        of a UTF-16/32 array)."""
        if ahocorasick is None:   # no automaton: a slower C search per value
            return any(v in text for v in self.values)
        return next(self._hits(text), None) is not None

    def find(self, text: str) -> bool | None:
        """Whether ``text`` holds a known value standing alone, or one that leaks glued to other
        text (``glued``) (None: no automaton here)."""
        if ahocorasick is None:
            return None
        hits = list(self._hits(text))   # (once: ``glued`` reads the same hits)
        if any(_alone(text, a, b) for a, b, _ in hits):
            return True
        return bool(self.glued(text, hits))


def _in_order(found: Any) -> list[tuple[int, int, str]]:
    """Hits once each, by their ends (the longest first), as one automaton yields them."""
    return [(a, b, x) for b, _, a, x in sorted({(b, a - b, a, x) for a, b, x in found})]
