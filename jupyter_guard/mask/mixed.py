"""Long text dense with values of several kinds (a table of e-mails, SSNs and phones printed
whole), masked in bulk: one RE2 set pass says which kinds have candidates; the numpy finders
(``shapes``, or ``native`` passes) give their values as arrays, the span scanner those of the
kinds without a finder (few, in text like this) and the ``KNOWN`` finders theirs; ``merge``
resolves them all as spans are resolved and gives each value's mask: a block, then one range
of the text (under ``partial``, ``redact`` or ``null``). The result is one numpy gather of the
text's bytes and the blocks'.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import bank as _bank  # noqa: F401 - registers the numpy finders in shapes
from . import finders as _finders  # noqa: F401 - (the same)
from . import merge, native, scan, shapes
from .scan import CHUNK, FEW, _which_for
from .strategy import SPELT

LONGEST = (1 << 31) - 1024
"""Longer texts are left to the span path (offsets here are 32-bit)."""


def mask_mixed(text: str, settings: Any, engine: str = "",
               known: list[Any] | None = None) -> str | None:
    """``text`` with every detected value (and each of ``known``, the ``KNOWN`` finders'
    spans) masked as ``mask_text`` masks them, or None where ``dense_values`` cannot tell."""
    found = dense_values(text, settings, engine, known)
    return None if found is None else mask_upto(text, found, len(text))


Values = tuple[Any, Any, tuple[Any, Any, tuple[str, ...]]]
"""Starts and ends of the values ``mask_text`` masks (by start, not overlapping), and their
masks (``merge.Masks``: each one's block, where the text it keeps starts, and the masks of
their own listed after the blocks: digests)."""


def dense_values(text: str, settings: Any, engine: str = "",
                 known: list[Any] | Callable[[], list[Any] | None] | None = None
                 ) -> Values | None:
    """The values in ``text`` as ``mask_text`` finds them (with the ``known`` spans, or those
    ``known()`` gives, asked only once the text is found dense; None from it: decline), or None
    where this path cannot tell: a finder declines, a value's mask is not a block and one
    range of the text (``merge``), or the first chunk holds few places where values match.
    ``engine``: ``"shapes"`` (numpy) or ``"native"`` (RE2 through pyarrow, only if loaded); by
    default the first that answers. Kinds without a finder there (``secret``, IPs) come from
    the span scanner."""
    detectors = settings.enabled
    head = stand_in(text[:CHUNK]) if detectors and len(text) <= LONGEST else None
    if head is None:
        return None
    engines = [engine] if engine else ["shapes", "native"]
    if not native.available() and "native" in engines:
        engines.remove("native")
    which = _which_for(detectors)
    first = which(head)  # text dense with values has some in its first chunk
    kinds = frozenset().union(*(_KINDS[e] for e in engines))
    firsts = [detectors[i] for i in sorted(first or ()) if detectors[i].name in kinds - _ALONE]
    if not firsts or not _dense_start(head, firsts):
        return None  # a value or two at the start of long text: the span path is cheaper
    raw = stand_in(text)
    if raw is None:
        return None
    if callable(known):
        known = known()
        if known is None:  # (the caller cannot tell: text to normalise)
            return None
    source = text
    if not text.isascii():  # the finders and the span scanner read the stand-in
        text = raw.decode("ascii")
    present = [detectors[i] for i in sorted(which(raw))]  # detector order: ties as before
    names = [d.name for d in present] + (["known"] if known else [])
    plan = [_plan(n, settings.strategy_for(detector=n), kinds) for n in names]
    if known and plan[-1] == "partial" and any(s[2] == SPELT for s in known):
        return None   # a known value spelt otherwise is masked whole: the span path does it
    found = None
    for name in engines:
        found = _found(name, present, text, raw)
        if found is not None:
            break
    if found is None or (known and not _add(found, known, len(text))):
        return None
    np = native._np()
    starts = np.concatenate([s for s, _ in found])
    ends = np.concatenate([e for _, e in found])
    # (few values or none, as in text dense with look-alikes the validators reject, are
    # answered too: the passes are paid, and the span path would read every look-alike again)
    kinds_ = np.concatenate([np.full(len(s), k) for k, (s, _) in enumerate(found)])
    keep = merge.resolve(starts, ends, kinds_)  # as ``text.resolve``: the earlier one is kept
    starts, ends, kinds_ = starts[keep], ends[keep], kinds_[keep]
    masks = merge.masks(np.frombuffer(raw, dtype=np.uint8), starts, ends, kinds_, plan,
                        source, settings.salt)
    return None if masks is None else (starts, ends, masks)


def _plan(name: str, strategy: str, finders: frozenset[str]) -> str:
    """How ``merge.masks`` masks a kind's values."""
    if strategy == "partial" and name in finders and name in _LAST4 | {"email"}:
        return "email" if name == "email" else "last4"
    return strategy  # (an IPv4 address may be short: ``partial`` keeps nothing of it)


_ALONE = frozenset({"ipv6"})
"""Kinds whose dense values alone do not make text dense here: IPv6 addresses alone are
masked faster from one ``split`` pass (``bulk.mask_alone``); among other kinds' values, their
finder reads them."""
_LAST4 = frozenset({"ssn", "phone", "card", "iban"})
"""Kinds whose values are never short nor hold an '@' (``bulk.LAST4``): ``partial`` keeps
their last four characters."""


def _add(found: list[Any], spans: list[Any], n: int) -> bool:
    """``spans`` as one more kind of ``found`` (False: they cannot be)."""
    got = merge.arrays(spans, n)
    if got is not None:
        found.append(got)
    return got is not None


def _dense_start(head: bytes, present: list[Any]) -> bool:
    """Whether the first chunk holds more than ``FEW`` places where a value of the kinds
    present there matches (then the whole text is read in numpy)."""
    t, count = shapes.Text(head), 0
    for d in present:
        got = shapes.FINDERS[d.name](t)
        if got is None:  # (the finder cannot tell: the whole text decides)
            return True
        count += len(got[0])
    return count > FEW


def mask_upto(text: str, found: Values, end: int) -> str:
    """``text[:end]`` with the values of ``found`` that end by ``end`` masked."""
    np = native._np()
    starts, ends, (block, tails, extra) = found
    if len(ends) and ends[-1] > end:
        keep = ends <= end
        starts, ends, block, tails = starts[keep], ends[keep], block[keep], tails[keep]
    if not len(starts):  # (look-alikes only: nothing to cut)
        return text[:end]
    code = "utf-8" if text.isascii() else "utf-32-le"  # one unit per character
    blocks = (*merge.BLOCKS, *extra)
    data = np.frombuffer(text[:end].encode(code, _PASS) + "".join(blocks).encode(code, _PASS),
                         dtype=np.uint8 if code == "utf-8" else np.uint32)
    return _gather(data, end, starts, tails, block, code, blocks)


_PASS = "surrogatepass"
"""Lone surrogates (text decoded with ``surrogateescape``) are one unit each, kept as they are."""


def stand_in(text: str) -> bytes | None:
    """``text`` as ASCII bytes, one per character, that every detector reads as it reads
    ``text``: the patterns are ASCII-only (``re.ASCII``), so a character past ASCII is in none
    of their classes but the negated ones, as ``\\x01`` is (a lone surrogate too); one that
    ``str.strip`` removes (``partial`` strips values) becomes ``\\x1c``, which it removes too
    and ``\\s`` does not match."""
    if text.isascii():
        return text.encode("ascii")
    np = native._np()
    wide = np.frombuffer(text.encode("utf-32-le", _PASS), dtype=np.uint32)
    out = wide.astype(np.uint8)
    far = np.flatnonzero(wide >= 128)
    out[far] = np.where(np.isin(wide[far], _SPACES), 0x1C, 0x01)
    return bytes(out.tobytes())


def _sizes(blocks: tuple[str, ...], code: str) -> list[int]:
    """Each of ``blocks``' length in units of ``code`` (digests are ASCII: one byte a character)."""
    if code != "utf-8":
        return list(map(len, blocks))
    head = len(merge.BLOCKS)
    rest = blocks[head:]
    joined = "".join(rest)
    if joined.isascii():
        return [len(b.encode(code)) for b in blocks[:head]] + list(map(len, rest))
    # each character's UTF-8 length (a lone surrogate: 3, as ``surrogatepass`` writes it),
    # summed per mask: no encoding per mask (a masked value of decoded text has one each)
    np = native._np()
    wide = np.frombuffer(joined.encode("utf-32-le", _PASS), dtype=np.uint32)
    width = np.concatenate(([0], np.cumsum(1 + (wide >= 0x80) + (wide >= 0x800)
                                           + (wide >= 0x10000), dtype=np.int64)))
    lengths = np.fromiter(map(len, rest), dtype=np.int64, count=len(rest))
    stops = np.cumsum(lengths)
    sizes: list[int] = (width[stops] - width[stops - lengths]).tolist()
    return [len(b.encode(code)) for b in blocks[:head]] + sizes


_SPACES = [c for c in range(128, 0x3001) if chr(c).isspace()]
_KINDS = {"shapes": frozenset(shapes.FINDERS), "native": frozenset(native.SHAPE)}


def _found(engine: str, present: list[Any], text: str, raw: bytes) -> list[Any] | None:
    """Each present detector's value starts and ends, by ``engine`` (those without a pass
    there: by the span scanner); None where a pass declines."""
    found = []
    t = shapes.Text(raw) if engine == "shapes" else None
    for d in present:
        if d.name not in _KINDS[engine]:
            got = merge.arrays(scan.scan(text, (d,), False), len(text))  # (copies: resolve)
        elif t is not None:
            got = shapes.values(d.name, t)
        else:
            got = native.arrays(d.name, d.words, text, 0, len(text))
        if got is None:
            return None
        found.append(got)
    return found


def _gather(data: Any, n: int, starts: Any, tails: Any, block: Any, code: str,
            blocks: tuple[str, ...]) -> str:
    """The text cut at the values: from 0 to the first value, each value's mask, from its tail
    to the next value, ..., to the end. ``data`` is the text's units followed by the blocks'
    (``code``: UTF-8 for ASCII text, else UTF-32), so every piece is one range of it and the
    result one numpy gather."""
    np = native._np()
    sizes = np.array(_sizes(blocks, code), dtype=np.int32)
    m = len(starts)
    first = np.empty(2 * m + 1, dtype=np.int32)  # (texts here are under 2 GB: ``LONGEST``)
    size = np.empty(2 * m + 1, dtype=np.int32)
    first[0::2] = np.concatenate(([0], tails))
    size[0::2] = np.concatenate((starts, [n])) - first[0::2]
    first[1::2] = n + (np.cumsum(sizes) - sizes)[block]
    size[1::2] = sizes[block]
    at = np.cumsum(size) - size  # where each piece starts in the result
    index = np.repeat(first - at, size) + np.arange(int(size.sum()), dtype=np.int32)
    return str(data[index].tobytes().decode(code, _PASS))
