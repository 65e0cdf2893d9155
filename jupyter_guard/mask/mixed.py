"""Long text dense with values of several kinds (a table of e-mails, SSNs and phones printed
whole), masked in bulk: one RE2 set pass says which kinds have candidates; where each of them
has a ``native`` pass, their values come as arrays, are merged in numpy and, where no two
overlap (then resolving keeps them all), cut out of the text with one ``join``. Only for the
partial strategy, whose masks keep a value's tail: the text from that tail on to the next value
is one slice.
"""
from __future__ import annotations

from typing import Any

from . import native
from .scan import CHUNK, _which_for
from .strategy import BLOCK, EMAIL_BLOCK, KEEP

MIN_VALUES = 64
"""Fewer values than this are left to the span path (its per-value cost is small then)."""


def mask_mixed(text: str, settings: Any) -> str | None:
    """``text`` with every detected value masked (as ``mask_text`` masks it), or None where
    this path cannot tell: a kind without a native pass has a candidate, a strategy other
    than partial applies, two values overlap, or any check of ``native`` declines."""
    detectors = settings.enabled
    if not detectors or not native.available() or not text.isascii():
        return None
    which, data = _which_for(detectors), text.encode("ascii")
    first = which(data[:CHUNK])  # text dense with values has some in its first chunk
    if not first or any(detectors[i].name not in native.SHAPE for i in first):
        return None
    hits = which(data)
    present = [detectors[i] for i in sorted(hits)]  # detector order: ties resolve as before
    if any(d.name not in native.SHAPE or settings.strategy_for(detector=d.name) != "partial"
           for d in present):
        return None
    np = native._np()
    found = [native.arrays(d.name, d.words, text, 0, len(text)) for d in present]
    if any(f is None for f in found):
        return None
    starts = np.concatenate([s for s, _ in found])
    ends = np.concatenate([e for _, e in found])
    kinds = np.concatenate([np.full(len(s), k) for k, (s, _) in enumerate(found)])
    if len(starts) < MIN_VALUES:
        return None
    order = np.lexsort((kinds, -ends, starts))  # by start, the longest first, then by kind
    starts, ends, kinds = starts[order], ends[order], kinds[order]
    if (starts[1:] < ends[:-1]).any():
        return None  # values overlap: resolving decides which one is kept
    email = np.array([d.name == "email" for d in present])[kinds]
    tails = ends - KEEP  # partial: the mask, then the value's last four characters
    if email.any():  # an e-mail keeps its domain: from its '@' (it holds exactly one)
        data = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        ats = np.flatnonzero(data == 64)
        tails[email] = ats[np.searchsorted(ats, starts[email])]
    cut_from = [0, *tails.tolist()]
    cut_to = [*starts.tolist(), len(text)]
    pieces: list[str] = [""] * (2 * len(starts) + 1)
    pieces[0::2] = map(text.__getitem__, map(slice, cut_from, cut_to))
    pieces[1::2] = map((BLOCK, EMAIL_BLOCK).__getitem__, email.tolist())
    return "".join(pieces)
