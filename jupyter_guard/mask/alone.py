"""Long texts where one kind of value is alone and dense (a column printed whole): found by a
few RE2 set passes, so the caller can mask its values from one ``split`` pass.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from . import scan
from .detect import Detector
from .patterns import PREFILTER
from .scan import CHUNK, FEW, _candidates, _which_for


def alone(text: str, detectors: Sequence[Detector]) -> Detector | None:
    """The one detector with candidates in a long text, where they are ``dense`` and no other
    detector has any (its first chunk, then one RE2 set pass over it all, ~2 ms per MB); None
    otherwise, or where RE2 cannot read the text (not installed, a lone surrogate)."""
    if scan.engine() != "re2" or not detectors:
        return None
    which = _which_for(detectors)
    try:
        head = text[:CHUNK]  # (the whole text is copied only if its head has one kind)
        first = which(head.encode("ascii") if head.isascii() else head) or []
        if len(first) != 1:
            return None
        data: Any = text.encode("ascii") if text.isascii() else text
        if not dense(data, detectors[first[0]]):
            return None
        return detectors[first[0]] if _only(data, detectors, first[0]) else None
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
        found = _candidates(det.candidate, data[lo:lo + CHUNK])
        if sum(1 for _ in zip(found, range(FEW + 1))) <= FEW:
            return False
    return True
