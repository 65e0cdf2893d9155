"""Long text dense with values of several kinds (a table of e-mails, SSNs and phones printed
whole), masked in bulk: one RE2 set pass says which kinds have candidates; where each of them
has a ``native`` pass, their values come as arrays, are merged in numpy and, where no two
overlap (then resolving keeps them all), cut out of the text with one ``join``. Only for the
partial strategy, whose masks keep a value's tail: the text from that tail on to the next value
is one range, and the result one numpy gather of the text's bytes and the masks'.
"""
from __future__ import annotations

from typing import Any

from . import bank as _bank  # noqa: F401 - registers the numpy finders in shapes
from . import finders as _finders  # noqa: F401 - (the same)
from . import native, shapes
from .scan import CHUNK, _which_for
from .strategy import BLOCK, EMAIL_BLOCK, KEEP

MIN_VALUES = 64
"""Fewer values than this are left to the span path (its per-value cost is small then)."""


def mask_mixed(text: str, settings: Any, engine: str = "") -> str | None:
    """``text`` with every detected value masked (as ``mask_text`` masks it), or None where
    this path cannot tell: a kind without a finder has a candidate, a strategy other than
    partial applies, two values overlap, or a finder declines. ``engine``: ``"shapes"``
    (numpy) or ``"native"`` (RE2 through pyarrow, only if loaded); by default the first
    that answers."""
    detectors = settings.enabled
    if not detectors or not text.isascii():
        return None
    engines = [engine] if engine else ["shapes", "native"]
    if not native.available() and "native" in engines:
        engines.remove("native")
    which, raw = _which_for(detectors), text.encode("ascii")
    first = which(raw[:CHUNK])  # text dense with values has some in its first chunk
    kinds = frozenset().union(*(_KINDS[e] for e in engines))
    if not first or any(detectors[i].name not in kinds for i in first):
        return None
    hits = which(raw)
    present = [detectors[i] for i in sorted(hits)]  # detector order: ties resolve as before
    if any(settings.strategy_for(detector=d.name) != "partial" for d in present):
        return None
    found = None
    for name in engines:
        found = _found(name, present, text, raw)
        if found is not None:
            break
    if found is None:
        return None
    np = native._np()
    starts = np.concatenate([s for s, _ in found])
    ends = np.concatenate([e for _, e in found])
    kinds = np.concatenate([np.full(len(s), k) for k, (s, _) in enumerate(found)])
    if len(starts) < MIN_VALUES:
        return None
    order = np.lexsort((kinds, -ends, starts))  # by start, the longest first, then by kind
    starts, ends, kinds = starts[order], ends[order], kinds[order]
    keep = shapes.unnested(starts, ends)  # values overlap: the earlier (longer) one is kept
    if keep is not None:
        starts, ends, kinds = starts[keep], ends[keep], kinds[keep]
    email = np.array([d.name == "email" for d in present])[kinds]
    data = np.frombuffer(raw + _BLOCKS, dtype=np.uint8)
    n = len(text)
    tails = ends - KEEP  # partial: the mask, then the value's last four characters
    if email.any():  # an e-mail keeps its domain: from its '@' (it holds exactly one)
        ats = np.flatnonzero(data[:n] == 64)
        tails[email] = ats[np.searchsorted(ats, starts[email])]
    return _gather(data, n, starts, tails, email)


_BLOCKS = (BLOCK + EMAIL_BLOCK).encode("utf-8")
_KINDS = {"shapes": frozenset(shapes.FINDERS), "native": frozenset(native.SHAPE)}


def _found(engine: str, present: list[Any], text: str, raw: bytes) -> list[Any] | None:
    """Each present detector's value starts and ends, by ``engine``; None where a detector
    has no pass there or its pass declines."""
    if any(d.name not in _KINDS[engine] for d in present):
        return None
    found = []
    t = shapes.Text(raw) if engine == "shapes" else None
    for d in present:
        got = (shapes.values(d.name, t) if t is not None
               else native.arrays(d.name, d.words, text, 0, len(text)))
        if got is None:
            return None
        found.append(got)
    return found


def _gather(data: Any, n: int, starts: Any, tails: Any, email: Any) -> str:
    """The text cut at the values: from 0 to the first value, each value's mask, from its tail
    to the next value, ..., to the end. ``data`` is the text's bytes followed by the two masks'
    (UTF-8), so every piece is one range of it and the result one numpy gather."""
    np = native._np()
    block, email_block = len(BLOCK.encode("utf-8")), len(EMAIL_BLOCK.encode("utf-8"))
    m = len(starts)
    first = np.empty(2 * m + 1, dtype=np.int32)  # (texts here are under 2 GB: pyarrow's
    size = np.empty(2 * m + 1, dtype=np.int32)  # string arrays hold at most that)
    first[0::2] = np.concatenate(([0], tails))
    size[0::2] = np.concatenate((starts, [n])) - first[0::2]
    first[1::2] = np.where(email, n + block, n)
    size[1::2] = np.where(email, email_block, block)
    at = np.cumsum(size) - size  # where each piece starts in the result
    index = np.repeat(first - at, size) + np.arange(int(size.sum()), dtype=np.int32)
    return str(data[index].tobytes().decode("utf-8"))
