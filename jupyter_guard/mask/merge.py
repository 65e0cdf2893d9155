"""Spans of kinds without a numpy finder (known values from the ``KNOWN`` finders, ``secret``
and IP values from the span scanner) merged into the finders' arrays, as ``text.resolve``
merges spans, and the mask of every value as the span path's masker makes it.

Each mask is a block (``████``, ``█████`` or nothing) followed by a range of the text that
ends at the value's end: ``partial`` keeps an e-mail-like value's domain (from its last
``@``), a long value's last ``KEEP`` characters, a short one's nothing; ``redact`` and
``null`` keep nothing; ``hash`` is a mask of its own per distinct value (its digest, listed
after the blocks; the values told apart in numpy, ``same_values``), keeping nothing. So every
value is one ``(start, end, block, tail)`` row and the text is cut in one gather
(``mixed.mask_upto``). A long value that ends in whitespace (``partial_value`` strips it, then
keeps the four characters before it: not one range) is left to the span path: None.
"""
from __future__ import annotations

import functools
from operator import itemgetter
from typing import Any

from .shapes import _np
from .strategy import BLOCK, EMAIL_BLOCK, KEEP, MIN_PARTIAL, hash_values

Span = tuple[int, int, str]
BLOCKS = (BLOCK, EMAIL_BLOCK, "")
"""The blocks a mask starts with, by the number in a mask's ``block``."""
_SPACE = bytes([9, 10, 11, 12, 13, 28, 29, 30, 31, 32])
"""The ASCII characters ``str.strip`` removes (``str.isspace``)."""


def arrays(known: list[Span], n: int) -> tuple[Any, Any] | None:
    """Starts and ends of ``known`` spans (in a text ``n`` long), or None for an empty or
    out-of-range one (no finder gives those; the span path copes with anything)."""
    np = _np()
    if not known:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts, ends = column(known, 0), column(known, 1)
    if len(starts) and ((ends <= starts).any() or starts.min() < 0 or ends.max() > n):
        return None
    return starts, ends


def column(spans: list[Span], k: int) -> Any:
    """The ``k``-th number of every span, as an array: read in C without the transposition
    ``zip(*spans)`` makes (~4 ms for 60,000 spans against ~1.5)."""
    np = _np()
    return np.fromiter(map(_ITEMS[k], spans), np.int64, count=len(spans))


_ITEMS = (itemgetter(0), itemgetter(1), itemgetter(2))


def resolve(starts: Any, ends: Any, kinds: Any) -> Any:
    """The indices ``text.resolve`` keeps of spans listed as the detectors' (by kind, each
    kind's in text order) then the known ones (``kinds``: the list position of each span's
    kind): by start, the longest first, the earlier kind first; an exact copy of a span is
    dropped as its twin keeps it out; overlaps one by one (``shapes.unnested``)."""
    from .shapes import unnested

    np = _np()
    order = np.lexsort((kinds, -ends, starts))
    s, e = starts[order], ends[order]
    if len(s) > 1:
        twin = np.concatenate(([False], (s[1:] == s[:-1]) & (e[1:] == e[:-1])))
        order, s, e = order[~twin], s[~twin], e[~twin]
    keep = unnested(s, e)
    return order if keep is None else order[keep]


def masks(data: Any, starts: Any, ends: Any, kinds: Any, plan: list[str],
          text: str = "", salt: str = "") -> Masks | None:
    """The mask of each value (``block``, ``tail``, ``extra``): ``plan`` says for each kind
    ``email`` or ``last4`` (a finder's values under ``partial``: e-mails hold one '@'),
    ``partial``, ``redact``, ``null`` or ``hash`` (of the values in ``text``, with ``salt``:
    ``extra`` lists the digests, ``block`` numbers ``BLOCKS`` then them); None where a mask is
    no block and one range (see above)."""
    np = _np()
    block = np.zeros(len(starts), dtype=np.int32)
    tail = ends - KEEP
    extra: list[str] = []
    for k, how in enumerate(plan):
        mine = kinds == k
        if not mine.any() or how == "last4":
            continue
        if how == "email":  # from its '@'
            ats = np.flatnonzero(data == 64)
            block[mine], tail[mine] = 1, ats[np.searchsorted(ats, starts[mine])]
        elif how == "partial":
            got = partial(data, starts[mine], ends[mine])
            if got is None:
                return None
            block[mine], tail[mine] = got
        elif how == "hash":
            tail[mine] = ends[mine]
            groups = same_values(text, starts[mine], ends[mine])
            if groups is not None:  # each distinct value sliced and digested once
                first, which = groups
                block[mine] = which + (len(BLOCKS) + len(extra))
                extra += hash_values(list(map(text.__getitem__, map(
                    slice, starts[mine][first].tolist(), ends[mine][first].tolist()))), salt,
                    distinct=True)
                continue
            values = list(map(text.__getitem__, map(slice, starts[mine].tolist(),
                                                    ends[mine].tolist())))
            distinct = dict.fromkeys(values)
            tail[mine] = ends[mine]
            if len(distinct) >= len(values) // 2:  # (mostly distinct: a digest each)
                block[mine] = np.arange(len(values)) + (len(BLOCKS) + len(extra))
                extra += hash_values(values, salt, len(distinct) == len(values))
                continue
            # repeated values (a key in every row): each distinct one's digest listed once
            number = dict(zip(distinct, range(len(BLOCKS) + len(extra), 1 << 62)))
            block[mine] = np.fromiter(map(number.__getitem__, values), np.int32, len(values))
            extra += hash_values(list(distinct), salt, distinct=True)
        else:
            block[mine], tail[mine] = (0 if how == "redact" else 2), ends[mine]
    return block, tail, tuple(extra)


DISTINCT_WIDE = 80
"""Values at most this long are told apart in numpy (``same_values``); longer ones by a dict."""


def same_values(text: str, starts: Any, ends: Any) -> tuple[Any, Any] | None:
    """The values of ``text`` at ``starts``/``ends`` told apart without a Python string per
    value: one value of each distinct one (its index) and each value's number among those, or
    None for values too long. Each value's characters are read as 64-bit words (those past
    its end as 0) and folded into a key with its length; values whose keys are all unequal
    are all distinct, else every value is compared with its key's value (where two unequal
    values share a key, None: a dict decides).

    >>> import numpy as np
    >>> first, which = same_values("ab ab cd", np.array([0, 3, 6]), np.array([2, 5, 8]))
    >>> len(first), bool(which[0] == which[1] != which[2])
    (2, True)
    """
    np = _np()
    n = len(starts)
    size = ends - starts
    if n < 2 or int(size.max()) > DISTINCT_WIDE:
        return None
    units = (np.frombuffer(text.encode("ascii"), dtype=np.uint8) if text.isascii() else
             np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32))
    per = 8 // units.itemsize  # characters a 64-bit word holds
    width = -(-int(size.max()) // per) * per
    ahead = np.concatenate((units, np.zeros(width, dtype=units.dtype)))
    words = np.lib.stride_tricks.sliding_window_view(ahead, width)[starts].view(np.uint64)
    for k in range(words.shape[1]):  # (characters past a value's end read 0)
        words[:, k] &= _low(units.itemsize).take(np.clip(size - k * per, 0, per))
    key = size.astype(np.uint64)
    for k in range(words.shape[1]):
        key = key * _MIX + words[:, k]
    if (key == key[0]).all():  # (one value repeated)
        first, which = np.zeros(1, dtype=np.int64), np.zeros(n, dtype=np.int64)
    else:
        order = key.argsort()
        ordered = key[order]
        new = np.concatenate(([True], ordered[1:] != ordered[:-1]))
        if new.all():  # (no two keys equal: no two values equal)
            return np.arange(n), np.arange(n)
        which = np.empty(n, dtype=np.int64)
        which[order] = np.cumsum(new) - 1
        first = order[new]  # (one value of each key: the others are compared with it)
    same = (size[first][which] == size).all() and (words[first][which] == words).all()
    return (first, which) if same else None


_MIX = 0x9E3779B97F4A7C15
"""An odd 64-bit multiplier: a key is a value's words folded as ``key * _MIX + word``."""
_LOW: dict[int, Any] = {}
"""Per character width (bytes): the mask of a word's first ``c`` characters, by ``c`` (made at
the first use: importing this module must not import numpy, which a guarded child's first
write does not need)."""


def _low(w: int) -> Any:
    low = _LOW.get(w)
    if low is None:
        low = _LOW[w] = _np().array([(1 << (8 * w * c)) - 1 for c in range(8 // w + 1)],
                                    dtype="uint64")
    return low

Masks = tuple[Any, Any, tuple[str, ...]]
"""Each value's block (a number: ``BLOCKS``, then the strings listed third) and where the range
of the text kept after it starts (it ends at the value's end)."""



def partial(data: Any, starts: Any, ends: Any) -> tuple[Any, Any] | None:
    """``strategy.partial_value`` of the values at ``starts``/``ends`` of the text's bytes
    ``data``, as masks (blocks and tails); None if a long value ends in whitespace."""
    np = _np()
    if not len(starts):
        return np.zeros(0, dtype=np.int32), starts
    ats = np.flatnonzero(data == 64)  # '@': the last one in the value (``rfind``)
    at = _before(ats, ends, starts)
    dots = np.flatnonzero(data == 46)  # a '.' from that '@' on
    j = np.searchsorted(dots, at)
    dot = np.where(j < len(dots), dots[np.minimum(j, len(dots) - 1)] if len(dots) else ends,
                   ends)
    email = (at > starts) & (dot < ends)
    space = _space()
    if not (space.take(data.take(starts)) | space.take(data.take(ends - 1))).any():
        last, size = ends - 1, ends - starts  # no whitespace at an edge: nothing to strip
    else:
        solid = np.flatnonzero(~space.take(data))  # what ``str.strip`` keeps is between the
        first = solid[np.minimum(np.searchsorted(solid, starts), max(len(solid) - 1, 0))] \
            if len(solid) else ends  # first and the last of these in the value
        last = _before(solid, ends, starts - 1)
        size = np.where((first < ends) & (last >= starts), last + 1 - first, 0)
    long = size >= MIN_PARTIAL
    if (~email & long & (last < ends - 1)).any():
        return None
    return email.astype(np.int32), np.where(email, at, np.where(long, ends - KEEP, ends))


def _before(where: Any, ends: Any, none: Any) -> Any:
    """For each end, the last of the ascending positions ``where`` before it (``none`` where
    there is none)."""
    np = _np()
    i = np.searchsorted(where, ends) - 1
    return np.where(i >= 0, where[np.maximum(i, 0)], none) if len(where) else none


@functools.lru_cache(maxsize=1)
def _space() -> Any:
    np = _np()
    return np.frombuffer(bytes(1 if c in _SPACE else 0 for c in range(256)), dtype=bool)
