"""Pieces sent out of order with their index beside them, put back in order.

``for i in shuffled(range(0, len(s), 3)): print(i, s[i:i + 3])`` spells nothing read in the
order sent. ``Ordered.feed`` reads the messages whose tokens are pairs ``index piece`` (a small
number, then at most ``PIECE`` characters; several pairs on one line too: a shuffled dict),
gathers the pairs of consecutive such messages into a group until an index comes again (the
next value's pieces), and joins the group's pieces in the order of their indexes once the
indexes are a whole count (``0, 1, 2``; or from 1) or the offsets of the pieces
(``0, 3, 6``: each index the one before plus its piece's length). The joined text is looked up
among the known values (and their digits) as the joined stream looks up its runs; messages of
other shapes between pairs (a label, a decoy) are passed over, at most ``WINDOW`` of them.

A group of two pairs or more is held while it may still become a value (its pieces from index
0 on begin one, or index 0 has not come yet); honest ``enumerate`` output of words lets go at
once, as words begin no known value.

>>> from jupyter_guard.hooks import exits
>>> from jupyter_guard.hooks.shown_pieces import _PREFIXES
>>> saved = set(exits.known)
>>> exits.known.clear(); exits.remember(["557-33-2975"])
>>> o = Ordered()
>>> [o.feed(t.split(), n, _PREFIXES.current()) for n, t in
...  enumerate(["6 -29", "0 557", "9 75", "3 -33"])]
[(None, None), (None, 0), (None, 0), (0, 0)]
>>> o = Ordered(); [o.feed(t.split(), n, _PREFIXES.current())[0] for n, t in
...  enumerate(["0 ant", "1 bee", "2 cat"])]
[None, None, None]
>>> exits.known.clear(); exits.known.update(saved)
"""
from __future__ import annotations

from itertools import pairwise
from typing import Any

PIECE = 4
"""A piece is at most this long (``shown_pieces.PIECE``)."""
INDEX = 128
"""Indexes below this count (a value of ``shown_pieces.LONGEST`` characters one a message)."""
WINDOW = 64
"""Messages a group spans at most (pairs and others between them)."""
PAIRS = 64
"""Pairs a group holds at most."""


def pairs(got: list[str]) -> list[tuple[int, str]] | None:
    """The ``(index, piece)`` pairs of a line of tokens, None when it is not made of them."""
    if not got or len(got) % 2 or len(got) > 2 * PAIRS:
        return None
    out = []
    for i in range(0, len(got), 2):
        index, piece = got[i], got[i + 1]
        if not (index.isdigit() and len(index) <= 3 and len(piece) <= PIECE):
            return None
        n = int(index)
        if n >= INDEX:
            return None
        out.append((n, piece))
    return out


def in_order(group: dict[int, str]) -> str | None:
    """The pieces joined by index when the indexes are a whole count or their offsets."""
    if len(group) < 2:
        return None
    keys = sorted(group)
    first = keys[0]
    if first in (0, 1) and keys[-1] - first == len(keys) - 1:
        return "".join(group[k] for k in keys)
    if first != 0:
        return None
    for a, b in pairwise(keys):
        if b != a + len(group[a]):
            return None
    return "".join(group[k] for k in keys)


def _begun(group: dict[int, str]) -> list[str]:
    """The pieces from the first index on, as far as they follow one another: as offsets
    (from 0) and as a count (from 0 or 1)."""
    out = []
    text, at = "", 0
    while at in group:
        text, at = text + group[at], at + len(group[at])
    out.append(text)
    n = 0 if 0 in group else 1
    text = ""
    while n in group:
        text, n = text + group[n], n + 1
    out.append(text)
    return [t for t in out if t]


class Ordered:
    """The pairs of one run of messages (``shown_pieces.Run``'s line read in line)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.group: dict[int, str] = {}
        self.began = 0
        self.last = 0

    def feed(self, got: list[str], message: int, known: Any) -> tuple[int | None, int | None]:
        """Read one message's tokens: ``(first message of a value completed, first message of
        a group that may still become one)``; ``known``: ``shown_pieces.Prefixes`` (current)."""
        found = pairs(got)
        if found is None and not self.group:
            return None, None
        known = known.current()
        if found is None:
            if self.group and message - self.last > WINDOW:
                self.reset()
            return None, self._live(known)
        hit: int | None = None
        for n, piece in found:
            if n in self.group or len(self.group) >= PAIRS or message - self.began > WINDOW:
                self.reset()
            if not self.group:
                self.began = message
            self.group[n] = piece
            self.last = message
            text = in_order(self.group)
            if text is not None and _known(text, known):
                hit = self.began if hit is None else min(hit, self.began)
        return hit, self._live(known)

    def _live(self, known: Any) -> int | None:
        if len(self.group) < 2:
            return None
        begun = _begun(self.group)
        if begun and not any(known.begins(t) or known.begins(_digits(t)) for t in begun):
            return None
        return self.began


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _known(text: str, known: Any) -> bool:
    if text in known.values:
        return True
    digits = _digits(text)
    return len(digits) >= 7 and digits in known.values
