"""The printed tokens of a long text (``exits._PRINTED``'s matches) cut in numpy.

A token is a run of characters between separators (whitespace and ``,;|"'<>()[]{}=&?/\\:``
and NUL) with the edge characters ``.+@$#%*!~^`-`` taken off both ends, kept when three or
more characters are left: the regex, tried at each place, matches exactly that (it starts at a
run's first character that is no edge one, runs greedily to the run's end and gives back edge
characters; a later start in the run only leaves fewer). Here the runs and their first and last
non-edge characters come from a few array passes; the strings come from the regex's
``findall`` (in C), and the set test of each is one ``map`` in C. The regex's ``finditer``
costs a Python step per token (~50 ms per MB of table rows).

>>> starts, ends = printed("id=4411, <jane@x.com>; -x- ab.. é1é.")
>>> starts.tolist(), ends.tolist()
([3, 10, 32], [7, 20, 35])
"""
from __future__ import annotations

import functools
from itertools import repeat
from typing import Any

SEPARATORS = ",;|\"'<>()[]{}=&?/\\:\x00"
"""Separators besides whitespace (``str.isspace``, as the regex's ``\\s``)."""
EDGES = ".+@$#%*!~^`-"
"""Characters a token neither starts nor ends with."""


def printed(text: str) -> tuple[Any, Any]:
    """The starts and ends of the tokens of ``text``, in order."""
    import numpy as np  # (a dependency; loaded for long texts only)

    if text.isascii():
        codes = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        kind = _kinds().take(codes)
    else:
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        kind = _kinds().take(np.minimum(codes, 255))
        far = np.flatnonzero(codes >= 128)
        kind[far] = np.where(np.isin(codes[far], _spaces()), 1, 0)
    edge = np.concatenate(([True], kind == 1, [True]))
    change = np.flatnonzero(edge[1:] != edge[:-1])  # runs of non-separators: [start, end)
    begins, stops = change[0::2], change[1::2]
    solid = np.flatnonzero(kind == 0)  # neither separator nor edge
    if not len(solid):
        return solid, solid
    i = np.searchsorted(solid, begins)
    j = np.searchsorted(solid, stops) - 1
    first = solid[np.minimum(i, len(solid) - 1)]
    last = solid[np.maximum(j, 0)] + 1
    keep = (i <= j) & (j >= 0) & (last - first >= 3)
    return first[keep], last[keep]


def known_in(text: str, tokens: list[str], known: Any
             ) -> tuple[list[tuple[int, int, str]], int] | None:
    """The spans of ``text``'s ``tokens`` (``_PRINTED.findall``: the strings, cut in C) that
    are in ``known`` (a set), and how many '@' those spans hold; None if the cut here does not
    give as many tokens (never seen: the two cuts are one rule; then the regex decides)."""
    if known.isdisjoint(tokens):  # (the usual case: no hit, one set operation)
        return [], 0
    import numpy as np

    hit = np.fromiter(map(known.__contains__, tokens), dtype=bool, count=len(tokens))
    starts, ends = printed(text)
    if len(starts) != len(tokens):
        return None
    starts, ends = starts[hit], ends[hit]
    spans = list(zip(starts.tolist(), ends.tolist(), repeat("known")))
    if "@" not in text:
        return spans, 0
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    ats = np.flatnonzero(codes == 64)
    return spans, int((ats.searchsorted(ends) - ats.searchsorted(starts)).sum())


@functools.lru_cache(maxsize=1)
def _kinds() -> Any:
    """Per byte: 0 a token character, 1 a separator, 2 an edge character (codes 128-255 are
    decided apart)."""
    import numpy as np

    table = np.zeros(256, dtype=np.uint8)
    for c in range(128):
        ch = chr(c)
        table[c] = 1 if ch.isspace() or ch in SEPARATORS else 2 if ch in EDGES else 0
    return table


@functools.lru_cache(maxsize=1)
def _spaces() -> Any:
    import numpy as np

    return np.array([c for c in range(128, 0x3001) if chr(c).isspace()], dtype=np.uint32)
