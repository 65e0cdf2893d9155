"""Values found in decoded text put back on the text as written (entities and URL escapes
decoded, zero-width characters dropped, dashes folded: ``normalize``), as arrays.

The numpy finders read the decoded text (``mixed.dense_values``); each value is then moved by
the length the tokens before it gained or lost. A value with no changed token and no folded
character in it is the same characters in both texts, so its mask (a block and a range of the
text) is moved with it. The few others (a value written with an entity, a zero-width character
inside it) are mapped one by one as ``Normalized.span`` maps spans, and their masks (made from
the decoded text, as the span path makes them) are listed after the blocks. Where two values
then overlap (two values in one decoded token), None: the span path decides.

>>> from jupyter_guard.mask.normalize import normalize
>>> from jupyter_guard.mask.shapes import _np
>>> np = _np()
>>> norm = normalize("&amp; 123-45-6789 x&#64;y.com")
>>> found = (np.array([2, 14]), np.array([13, 21]), (np.array([0, 1]), np.array([9, 15]), ()))
>>> starts, ends, (block, tails, extra) = mapped("&amp; 123-45-6789 x&#64;y.com", norm, found)
>>> starts.tolist(), ends.tolist(), tails.tolist(), block.tolist(), extra
([6, 18], [17, 29], [13, 29], [0, 3], ('█████@y.com',))
"""
from __future__ import annotations

from typing import Any

from .merge import BLOCKS
from .mixed import Values
from .normalize import Normalized
from .shapes import _np


def mapped(text: str, norm: Normalized, found: Values) -> Values | None:
    """``found`` (values of ``norm.text``: starts, ends, masks) as values of ``text``, or None
    where two of them overlap there."""
    np = _np()
    starts, ends, (block, tails, extra) = found
    clean = np.ones(len(starts), dtype=bool)
    shift: Any = 0
    if norm.source:
        norm_at, orig_at = (np.array(a, dtype=np.int64) for a in norm.pieces)
        gain = np.diff(orig_at, append=len(norm.source)) - np.diff(norm_at, append=len(norm.text))
        changed = np.concatenate(([0], np.cumsum(gain != 0)))
        first = np.maximum(np.searchsorted(norm_at, starts, "right") - 1, 0)
        last = np.maximum(np.searchsorted(norm_at, ends, "left") - 1, 0)
        clean = changed[last + 1] == changed[first]  # no changed piece from first to last
        shift = (orig_at - norm_at)[first]
    x, y, tail = starts + shift, ends + shift, tails + shift
    folded = norm.source or norm.text  # one character for one with ``text``
    if folded is not text:
        where = np.flatnonzero(_units(text) != _units(folded))
        clean &= np.searchsorted(where, x) == np.searchsorted(where, y)
    more: list[str] = []
    if not clean.all():
        block = block.copy()
        blocks = (*BLOCKS, *extra)
        for k in np.flatnonzero(~clean).tolist():
            a, b = int(starts[k]), int(ends[k])
            x[k], y[k] = norm.span(a, b)
            tail[k] = y[k]
            more.append(blocks[block[k]] + norm.text[int(tails[k]):b])
            block[k] = len(blocks) + len(more) - 1
    if len(x) > 1 and (x[1:] < y[:-1]).any():
        return None
    return x, y, (block, tail, (*extra, *more))


def _units(text: str) -> Any:
    """One number per character of ``text`` (lone surrogates too)."""
    np = _np()
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
