"""Long texts where one kind of value is alone and dense (a column printed whole): found by a
few RE2 set passes, so the caller can mask its values from one ``split`` pass.

A text where other kinds have a few candidates beside the dense one (random tokens, some of
them shaped like an IBAN's start or a phone) counts as alone where ``gate.clear`` shows each
other kind holds no value there: the dense kind's split then replaces the chunk-by-chunk scan
of every kind (1 MB of key-like tokens: ~80 -> ~45 ms).
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from . import gate, scan
from .detect import Detector
from .patterns import PREFILTER
from .scan import CHUNK, FEW, _candidates, _which_for


def alone(text: str, detectors: Sequence[Detector]) -> Detector | None:
    """The one detector with candidates in a long text, where they are ``dense`` and no other
    detector has any (its first chunk, then one RE2 set pass over it all, ~2 ms per MB), or
    has candidates but surely no value (``_beside``); None otherwise, or where RE2 cannot read
    the text (not installed, a lone surrogate)."""
    if scan.engine() != "re2" or not detectors:
        return None
    which = _which_for(detectors)
    try:
        head = text[:CHUNK]  # (the whole text is copied only if its head has a candidate)
        first: list[int] = which(head.encode("ascii") if head.isascii() else head) or []
        if not first:
            return None
        data: Any = text.encode("ascii") if text.isascii() else text
        if len(first) > 1:
            return _beside(text, data, detectors, first)
        if not dense(data, detectors[first[0]]):
            return None
        if _only(data, detectors, first[0]):
            return detectors[first[0]]
        return _beside(text, data, detectors, first)
    except UnicodeEncodeError:  # a lone surrogate: RE2 reads UTF-8 only
        return None


def _only(data: Any, detectors: Sequence[Detector], k: int) -> bool:
    """Whether the detectors' RE2 set finds ``[k]`` in ``data``: no other detector's prefilter
    matches anywhere and ``k``'s does. Each is one search that stops at its first match (the
    set reads the whole text: where another kind shows early, ~10 ms a MB was spent for a
    None known after its first tens of KB)."""
    raw = data if isinstance(data, bytes) else data.encode("utf-8")
    pre = tuple(PREFILTER.get(d.name, d.candidate) for d in detectors)
    others = pre[:k] + pre[k + 1:]
    return not (others and _found(_any_of(others), raw)) and _found(pre[k], raw)


def _beside(text: str, data: Any, detectors: Sequence[Detector], first: Sequence[int]
            ) -> Detector | None:
    """The one detector of ``first`` (those with candidates in the first chunk) that is
    ``dense``, where every other detector surely has no value in ``text``: none has more than
    ``FEW`` candidates in the first chunk, RE2 lists at most ``BESIDE`` of each one's
    prefilter in all of it (every listing done before any chunk is confirmed: a kind with
    many gives up early), and no chunk they touch holds a value (``gate.clean``); else None.
    Then ``scan`` of all detectors finds that one's values only: what ``alone`` promises.
    Each prefilter is listed on its own: one alternation of them all is read again from each
    match to the end of a run one of them could still match (quadratic on long runs)."""
    head = data[:CHUNK]
    many = [j for j in first if _more_than(FEW, detectors[j].candidate, head)]
    if len(many) != 1 or not dense(data, detectors[many[0]]):
        return None
    k = many[0]
    listed = []  # (the kinds seen in the first chunk first: the likelier to have many)
    for j in sorted(range(len(detectors)), key=lambda j: j not in first):
        if j != k:
            d = detectors[j]
            chunks = gate.touched(PREFILTER.get(d.name, d.candidate), data, BESIDE)
            if chunks is None:
                return None
            listed.append((d, chunks))
    return detectors[k] if all(gate.clean(text, d, c) for d, c in listed) else None


BESIDE = 512
"""Most prefilter candidates of another kind beside the dense one that are confirmed (chunk by
chunk, as ``gate``): past this the text is left to ``scan``. At most ``BESIDE / FEW`` chunks
then need a precise pass (~0.3 ms each), against ~30 ms saved a MB where they hold no value."""


def _more_than(most: int, candidate: str, data: Any) -> bool:
    """Whether ``candidate`` has more than ``most`` matches in ``data`` (listing stops there)."""
    return sum(1 for _ in zip(_candidates(candidate, data), range(most + 1))) > most


@functools.lru_cache(maxsize=32)
def _any_of(patterns: tuple[str, ...]) -> str:
    return "|".join(f"(?:{p})" for p in patterns)


def _found(pattern: str, raw: bytes) -> bool:
    """Whether ``pattern`` matches anywhere in ``raw`` (UTF-8), as a set member would."""
    return bool(scan._compiled(pattern)._regexp.Match(scan._UNANCHORED, raw, 0, len(raw))[0][0]
                >= 0)


SAMPLES = 8
"""How many chunks ``dense`` looks at."""


def dense(data: Any, det: Detector) -> bool:
    """Whether ``det`` has more than ``FEW`` candidates in each of ``SAMPLES`` chunks spread over
    a long text (``data``: the text, or its bytes if ASCII). Then one precise pass over all of
    it costs less than confirming candidates one by one; where they are few, RE2 skips the
    text between them."""
    n = len(data)
    step = max(CHUNK, n // SAMPLES)
    for lo in range(0, max(n - CHUNK, 0) + 1, step):
        if not _more_than(FEW, det.candidate, data[lo:lo + CHUNK]):
            return False
    return True
