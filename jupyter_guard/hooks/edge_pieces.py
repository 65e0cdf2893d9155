"""Pieces of known values that end (or start) in punctuation: ``substr(ssn, 1, 7)`` is
``332-20-``, ``s[:4]`` is ``332-``. A printed token stops short of the punctuation at its edges
(``exits._PRINTED``), so such a piece would be read as ``332-20``, no known value, and shown raw;
two of them (``332-20-`` and the partial mask's ``████6469``) give the whole value back.

- ``remember(fresh, joined)``: note the values just remembered (``joined``: them, ``\\x01``
  between): whether one of them has punctuation at an edge (a tainted SQL result's piece, kept
  among the known values by ``exits.remember``), and the cuts of the numbers among them
  (``cuts``): each stretch from the value's start or a separator to a separator, of ``SHORTEST``
  characters or more (``332-``, ``332-20-``, ``-20-``, ``-20-6469``), not a bare tail
  (``-6469`` is a negative number as often as a piece);
- ``spans(text, known)``: where such a piece is a whole token of ``text`` (separators as the
  exits cut printed text, punctuation at the edges kept): ``SPELT``, masked whole;
- ``found(tokens)``: whether one of the tokens an exit cut is a cut of a known number.

>>> reset(); remember({"332-20-6469"}, "332-20-6469")
>>> sorted(cuts)
['-20-', '-20-6469', '332-', '332-20-']
>>> spans("['332-20-', '2024-01-', '-6469', '332-20']", set())
[(2, 9, 'known-spelt')]
>>> remember({"332-20-"}, "332-20-"); spans("332-20- 332-20-6469", {"332-20-", "332-20-6469"})
[(0, 7, 'known-spelt')]
>>> found(["2024-01-", "332-"]), found(["2024-01-"])
(True, False)
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Set

from jupyter_guard.mask.strategy import SPELT

SHORTEST = 4
# the separators the exits cut printed text at (``exits._SEP``): a token keeps its punctuation
TOKEN = re.compile(r"[^\s,;|\"'<>()\[\]{}=&?/\\:\x00]{4,}")
_EDGE = re.compile(r"(?:^|\x01)[^\w\x01]|[^\w\x01](?:\x01|$)")
_NUMBER = re.compile(r"[0-9]+(?:[-.][0-9]+)+")
_CUT_AT = re.compile(r"[-.]")
CUTS_MAX = 1_000_000
"""Cuts remembered at most (about four a value); past it, no more are added."""

cuts: set[str] = set()
edged = [False]


def reset() -> None:
    """Forget the cuts and the flag (the known values were emptied)."""
    cuts.clear()
    edged[0] = False


def remember(fresh: Set[str], joined: str) -> None:
    """Note ``fresh`` (see the module's doc)."""
    edged[0] = edged[0] or _EDGE.search(joined) is not None
    if len(cuts) >= CUTS_MAX or not _CUT_AT.search(joined):
        return
    for v in filter(_NUMBER.fullmatch, fresh):
        seps = [m.start() for m in _CUT_AT.finditer(v)]
        for i, a in enumerate([0, *seps]):
            cuts.update(v[a:b + 1] for b in seps[i:] if b + 1 - a >= SHORTEST and b > a)
            if a and len(v) - a >= SHORTEST and i < len(seps):   # ``-20-6469``
                cuts.add(v[a:])


def spans(text: str, known: Set[str]) -> list[tuple[int, int, str]]:
    """Where a cut of a known number, or a known value with punctuation at an edge, is a whole
    token of ``text`` (one C pass finds the tokens; the spans only on a hit)."""
    if not cuts and not edged[0]:
        return []
    tokens = TOKEN.findall(text)
    if cuts.isdisjoint(tokens) and not (edged[0] and not known.isdisjoint(tokens)):
        return []
    return [(m.start(), m.end(), SPELT) for m in TOKEN.finditer(text)
            if m.group() in cuts or (edged[0] and _edged(m.group()) and m.group() in known)]


def _edged(token: str) -> bool:
    """Whether ``token`` starts or ends with punctuation (a value as read, ``332-20-6469``, is
    left to the other finders: its partial form is shown)."""
    return not (token[0].isalnum() and token[-1].isalnum())


def found(tokens: Iterable[str]) -> bool:
    """Whether one of ``tokens`` is a cut of a known number."""
    return bool(cuts) and not cuts.isdisjoint(tokens)
