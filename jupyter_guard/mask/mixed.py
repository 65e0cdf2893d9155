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
from .scan import CHUNK, FEW, _which_for
from .strategy import BLOCK, EMAIL_BLOCK, KEEP

MIN_VALUES = 64
"""Fewer values than this are left to the span path (its per-value cost is small then)."""
LONGEST = (1 << 31) - 1024
"""Longer texts are left to the span path (offsets here are 32-bit)."""


def mask_mixed(text: str, settings: Any, engine: str = "") -> str | None:
    """``text`` with every detected value masked (as ``mask_text`` masks it), or None where
    ``dense_values`` cannot tell."""
    found = dense_values(text, settings, engine)
    return None if found is None else mask_upto(text, found, len(text))


Values = tuple[Any, Any, Any]
"""Starts and ends of the values ``mask_text`` masks (by start, not overlapping), and which
are e-mails."""


def dense_values(text: str, settings: Any, engine: str = "") -> Values | None:
    """The values in ``text`` as ``mask_text`` finds them, or None where this path cannot tell:
    a kind without a finder has a candidate, a strategy other than partial applies, or a
    finder declines. ``engine``: ``"shapes"`` (numpy) or ``"native"`` (RE2 through pyarrow,
    only if loaded); by default the first that answers."""
    detectors, head = settings.enabled, text[:CHUNK]
    if not detectors or len(text) > LONGEST or not head.isascii():
        return None
    engines = [engine] if engine else ["shapes", "native"]
    if not native.available() and "native" in engines:
        engines.remove("native")
    which = _which_for(detectors)
    first = which(head.encode("ascii"))  # text dense with values has some in its first chunk
    kinds = frozenset().union(*(_KINDS[e] for e in engines))
    if not first or any(detectors[i].name not in kinds for i in first) or not text.isascii():
        return None
    if not _dense_start(head, [detectors[i] for i in first]):
        return None  # a value or two at the start of long text: the span path is cheaper
    raw = text.encode("ascii")
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
    return starts, ends, np.array([d.name == "email" for d in present])[kinds]


def _dense_start(head: str, present: list[Any]) -> bool:
    """Whether the first chunk holds more than ``FEW`` places where a value of the kinds
    present there matches (then the whole text is read in numpy)."""
    t, count = shapes.Text(head.encode("ascii")), 0
    for d in present:
        got = shapes.FINDERS[d.name](t)
        if got is None:  # (the finder cannot tell: the whole text decides)
            return True
        count += len(got[0])
    return count > FEW


def mask_upto(text: str, found: Values, end: int) -> str:
    """``text[:end]`` with the values of ``found`` that end by ``end`` masked (partial)."""
    np = native._np()
    starts, ends, email = found
    if len(ends) and ends[-1] > end:
        keep = ends <= end
        starts, ends, email = starts[keep], ends[keep], email[keep]
    data = np.frombuffer(text[:end].encode("ascii") + _BLOCKS, dtype=np.uint8)
    tails = ends - KEEP  # partial: the mask, then the value's last four characters
    if email.any():  # an e-mail keeps its domain: from its '@' (it holds exactly one)
        ats = np.flatnonzero(data[:end] == 64)
        tails[email] = ats[np.searchsorted(ats, starts[email])]
    return _gather(data, end, starts, tails, email)


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
    first = np.empty(2 * m + 1, dtype=np.int32)  # (texts here are under 2 GB: ``LONGEST``)
    size = np.empty(2 * m + 1, dtype=np.int32)
    first[0::2] = np.concatenate(([0], tails))
    size[0::2] = np.concatenate((starts, [n])) - first[0::2]
    first[1::2] = np.where(email, n + block, n)
    size[1::2] = np.where(email, email_block, block)
    at = np.cumsum(size) - size  # where each piece starts in the result
    index = np.repeat(first - at, size) + np.arange(int(size.sum()), dtype=np.int32)
    return str(data[index].tobytes().decode("utf-8"))
