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
from . import known as _known
from . import native, shapes
from .scan import CHUNK, FEW, _which_for
from .strategy import BLOCK, EMAIL_BLOCK, KEEP

MIN_VALUES = 64
"""Fewer values than this are left to the span path (its per-value cost is small then)."""
LONGEST = (1 << 31) - 1024
"""Longer texts are left to the span path (offsets here are 32-bit)."""


def mask_mixed(text: str, settings: Any, engine: str = "",
               known: list[Any] | None = None) -> str | None:
    """``text`` with every detected value (and each of ``known``, the ``KNOWN`` finders'
    spans) masked as ``mask_text`` masks them, or None where ``dense_values`` cannot tell."""
    found = dense_values(text, settings, engine, known)
    return None if found is None else mask_upto(text, found, len(text))


Values = tuple[Any, Any, tuple[Any, Any]]
"""Starts and ends of the values ``mask_text`` masks (by start, not overlapping), and their
masks: whether each is the e-mail block, and where the text it keeps starts (to its end)."""


def dense_values(text: str, settings: Any, engine: str = "",
                 known: list[Any] | None = None) -> Values | None:
    """The values in ``text`` as ``mask_text`` finds them (with the ``known`` spans), or None
    where this path cannot tell: a kind without a finder has a candidate, a strategy other than
    partial applies, or a finder declines. ``engine``: ``"shapes"`` (numpy) or ``"native"``
    (RE2 through pyarrow, only if loaded); by default the first that answers."""
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
    names = [d.name for d in present] + (["known"] if known else [])
    if any(settings.strategy_for(detector=n) != "partial" for n in names):
        return None
    found = None
    for name in engines:
        found = _found(name, present, text, raw)
        if found is not None:
            break
    if found is None:
        return None
    if known:
        got = _known.arrays(known, len(text))
        if got is None:
            return None
        found.append(got)
    np = native._np()
    starts = np.concatenate([s for s, _ in found])
    ends = np.concatenate([e for _, e in found])
    kinds = np.concatenate([np.full(len(s), k) for k, (s, _) in enumerate(found)])
    if len(starts) < MIN_VALUES:
        return None
    keep = _known.resolve(starts, ends, kinds)  # as ``text.resolve``: the earlier one is kept
    starts, ends, kinds = starts[keep], ends[keep], kinds[keep]
    data = np.frombuffer(raw, dtype=np.uint8)
    email = np.array([n == "email" for n in names] + [False])[kinds]
    tails = ends - KEEP  # partial: the mask, then the value's last four characters
    if email.any():  # an e-mail keeps its domain: from its '@' (it holds exactly one)
        ats = np.flatnonzero(data == 64)
        tails[email] = ats[np.searchsorted(ats, starts[email])]
    if known:
        mine = kinds == len(present)
        got = _known.tails(data, starts[mine], ends[mine])
        if got is None:
            return None
        email[mine], tails[mine] = got
    return starts, ends, (email, tails)


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
    starts, ends, (email, tails) = found
    if len(ends) and ends[-1] > end:
        keep = ends <= end
        starts, ends, email, tails = starts[keep], ends[keep], email[keep], tails[keep]
    data = np.frombuffer(text[:end].encode("ascii") + _BLOCKS, dtype=np.uint8)
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
