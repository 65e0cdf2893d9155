"""Whether a text can hold any known value at all, in one RE2 pass before the automaton's.

The automaton (``known_match``) reads a MiB of text in ~20 ms once 10,000s of values are known,
even when none of them is in it. Most texts written out hold none: this gate says so first.

- A value whose rarest character is rare in data (``@`` in an e-mail, ``_``, ``+``) is looked
  for by that character (a C search each), as ``known_match`` did on its own.
- A value made only of digits and common punctuation (an SSN, a phone number, ``133,426,099``)
  is looked for by its shape: its digit runs as ``[0-9]{n}``, the rest as written
  (``[0-9]{3}-[0-9]{2}-[0-9]{4}``). Known numbers come in a few shapes, so one RE2 pass over
  the text finds every place one of them could stand (~2 ms a MiB); text without one holds
  none of those values.
- Past ``SHAPES`` shapes or ``ANCHORS`` rare characters (names, addresses), or without RE2, the
  gate is off: every text goes to the automaton, as before.

A text the gate passes may still hold no value (the automaton decides); a text it stops holds
none: every value matches its own shape or holds its own anchor.

>>> from jupyter_guard.hooks.known_match import _RANKS, _anchor
>>> g = Gate(lambda c: _RANKS[c][0])
>>> values = ["123-45-6789", "user1@example.com", "100000007"]
>>> g.add(values, [_anchor(v) for v in values])
>>> g.may_hit("id,amount\\n1,12.50\\n"), g.may_hit("ssn 987-65-4321"), g.may_hit("a@b")
(False, True, True)
>>> g.may_hit("order 555123456 shipped")
True
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import groupby
from typing import Any

SHAPES = 64
"""The most shapes looked for in one pass (beyond: the gate is off)."""
ANCHORS = 6
"""The most rare characters looked for (beyond: the gate is off)."""
RARE = 4
"""Characters of a rarity below this (``known_match._rarity``: punctuation other than
``, . - : /``, letters) anchor a value; digits, those and spaces make it a shape."""
_PLACE = "\ue000"   # a digit, in a shape (a value holding this character turns the gate off)
_DIGIT = str.maketrans("0123456789", _PLACE * 10)


class Gate:
    """The rare characters and the shapes of the known values (``add`` as values are added;
    a new ``Gate`` when the set is rebuilt). ``rarity``: how common a character is in data
    (``known_match._rarity``)."""

    def __init__(self, rarity: Callable[[str], int]) -> None:
        self.rarity = rarity
        self.rare: set[str] = set()
        self.shapes: set[str] = set()
        self.off = False
        self._regex: Any = None

    def add(self, values: Sequence[str], anchors: Sequence[str]) -> None:
        """Values added to the set, and each one's rarest character (``known_match._anchor``)."""
        if self.off:
            return
        before = len(self.shapes)
        for v, a in zip(values, anchors):
            if self.rarity(a) < RARE:
                self.rare.add(a)
            elif _PLACE in v:
                self.off = True
                return
            else:
                self.shapes.add(v.translate(_DIGIT))
        if len(self.shapes) > SHAPES or len(self.rare) > ANCHORS:
            self.off = True
        elif len(self.shapes) != before:
            self._regex = None

    def may_hit(self, text: str) -> bool:
        """False only when no known value can occur in ``text``."""
        if self.off or any(c in text for c in self.rare):
            return True
        if not self.shapes:
            return False
        if self._regex is None:
            self._regex = _compile(self.shapes)
            if self._regex is None:   # no RE2 here: the automaton decides
                self.off = True
                return True
        try:
            return self._regex.search(text) is not None
        except UnicodeEncodeError:   # a lone surrogate (RE2 reads UTF-8): the automaton decides
            return True


def _compile(shapes: set[str]) -> Any:
    try:
        import re2
    except ImportError:   # pragma: no cover - depends on the environment
        return None
    parts = []
    for shape in sorted(shapes):
        parts.append("".join(f"[0-9]{{{len(list(run))}}}" if digit else re2.escape("".join(run))
                             for digit, run in groupby(shape, lambda c: c == _PLACE)))
    return re2.compile("|".join(parts))
