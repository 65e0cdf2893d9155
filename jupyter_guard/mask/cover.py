"""Cards inside IBANs, in bulk: every IBAN holds a run of digits shaped like a card that the
Luhn check rejects, and a card could start inside such a rejected match, so the card pass
used to go value by value through text dense with IBANs. A card starting inside an IBAN that
is kept is dropped when spans are resolved (the IBAN starts first), so where each such
rejected match lies inside an accepted IBAN, no card can reach past that IBAN's end, and
every IBAN relied on is sure to be kept, the one-``split`` card spans are the same.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from . import bulk
from .detect import Detector

Span = tuple[int, int, str]
Spans = list[tuple[int, int]]
DenseFn = Callable[..., list[Span]]


def covered(det: Detector, text: str, pos: int, endpos: int, cover: tuple[Any, Any]
            ) -> tuple[Spans, Any] | None:
    """``bulk.spans(det, …)`` where every rejected match lies inside one of ``cover``'s spans
    (start and end arrays, by start, not overlapping), with the indices of the cover spans
    relied on; None where one does not (or where ``bulk.parts`` gives none)."""
    got = bulk.parts(det, text, pos, endpos, hidden=True)
    if got is None:
        return None
    base, between, heads, values, ok = got
    np = bulk._numpy()
    if ok is None:
        return bulk._spans_of(got), np.zeros(0, dtype=np.int64)
    lengths = np.zeros(2 * len(values), dtype=np.int64)
    lengths[0::2] = np.fromiter(bulk._gaps(between, heads), dtype=np.int64, count=len(values))
    lengths[1::2] = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    offsets = np.concatenate(([base], base + np.cumsum(lengths)))
    starts, ends, keep = offsets[1::2], offsets[2::2], np.asarray(ok, dtype=bool)
    cover_starts, cover_ends = cover
    k = np.searchsorted(cover_starts, starts[~keep], side="right") - 1
    if (k < 0).any() or (cover_ends[np.maximum(k, 0)] < ends[~keep]).any():
        return None
    used = k  # (repeats are harmless below)
    if not _sealed(text, cover_ends[used]):
        return None
    return list(zip(starts[keep].tolist(), ends[keep].tolist())), used


def _sealed(text: str, ends: Any) -> bool:
    """Whether no card reaches past any of ``ends``: an IBAN ends before neither a word
    character nor '-', so a card could go on only through a space followed by a digit."""
    np = bulk._numpy()
    if not text.isascii():
        return not any(text[e:e + 1] == " " and text[e + 1:e + 2].isdigit()
                       for e in ends.tolist())
    data = np.frombuffer(text.encode("ascii") + b"\0\0", dtype=np.uint8)
    nxt = data[ends + 1]
    return not ((data[ends] == 32) & (nxt >= 48) & (nxt <= 57)).any()


def _kept(cover_starts: Any, relied: Any, others: list[Span]) -> bool:
    """Whether each relied-on cover span is kept when spans are resolved: no span of
    ``others`` starts at or before it and ends after its start."""
    if not others or not len(relied):
        return True
    np = bulk._numpy()
    pairs = np.array([(a, b) for a, b, _ in others], dtype=np.int64)
    pairs = pairs[np.argsort(pairs[:, 0], kind="stable")]
    reach = np.maximum.accumulate(pairs[:, 1])
    starts = cover_starts[relied]
    k = np.searchsorted(pairs[:, 0], starts, side="right")
    return bool((np.where(k > 0, reach[np.maximum(k - 1, 0)], -1) <= starts).all())


def dense_all(text: str, detectors: Sequence[Detector], dense: dict[int, list[tuple[int, int]]],
              found: list[list[Span]], one: DenseFn) -> None:
    """``found[i] += one(text, detectors[i], ranges)`` for each dense detector; the cards
    after the IBANs, with them as cover (``one`` takes the bulk function to use)."""
    names = [d.name for d in detectors]
    card = names.index("card") if "card" in names else -1
    iban = names.index("iban") if "iban" in names else -1
    for i, ranges in dense.items():
        if i != card or iban < 0:
            found[i] += one(text, detectors[i], ranges)
    if card not in dense or iban < 0:
        return
    np = bulk._numpy()
    starts, ends, _ = zip(*found[iban]) if found[iban] else ((), (), ())
    # one kind's spans never overlap: sorted by start, a repeated start is a repeated span
    first, at = np.unique(np.array(starts, dtype=np.int64), return_index=True)
    cover = (first, np.array(ends, dtype=np.int64)[at])
    relied: list[Any] = []

    def spans(det: Detector, text_: str, pos: int, endpos: int) -> Spans:
        got = covered(det, text_, pos, endpos, cover) if len(first) else None
        if got is None:
            return bulk.spans(det, text_, pos, endpos)
        relied.append(got[1])
        return got[0]

    cards = one(text, detectors[card], dense[card], spans)
    if relied:
        others = [s for j, f in enumerate(found) if j != iban for s in f] + cards
        if not _kept(cover[0], np.concatenate(relied), others):
            cards = one(text, detectors[card], dense[card])  # an IBAN may be dropped
    found[card] += cards
