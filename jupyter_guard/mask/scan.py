"""One scan of a text by every enabled detector, in time linear in the text.

Long texts are first read by RE2 (``google-re2``, a linear-time engine, much faster than
``re`` on text without candidates): chunks where no candidate shape of a detector occurs are
skipped by that detector; the others are scanned by its precise pattern. Short texts, and
every text when RE2 is not installed, are scanned by the precise patterns directly, which are
linear too (see ``patterns``). Both give the same spans (a test compares them).
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from .detect import Detector
from .patterns import MAX_VALUE

try:  # google-re2 ships wheels; without it the precise patterns scan (slower, still linear)
    import re2 as _re2
except ImportError:  # pragma: no cover - depends on the environment
    _re2 = None

RE2_MIN = 2048
"""Texts at least this long are scanned by RE2 (below, the per-call cost of RE2 dominates)."""

CHUNK = 16384
"""Text is judged in chunks of this size: a chunk without any candidate of a detector is
skipped by that detector."""

Span = tuple[int, int, str]


@functools.lru_cache(maxsize=64)
def _compiled(candidate: str) -> Any:
    return _re2.compile(candidate)


def engine() -> str:
    """``"re2"`` or ``"re"``: what scans long texts."""
    return "re2" if _re2 is not None else "re"


def scan_precise(text: str, detectors: Sequence[Detector]) -> list[Span]:
    """Every detector's precise pattern over the whole text."""
    return [(a, b, d.name) for d in detectors for a, b in d.find(text)]


def scan_re2(text: str, detectors: Sequence[Detector]) -> list[Span]:
    """RE2 tells which chunks hold a candidate of a detector; the precise pattern scans those.

    A chunk is scanned with ``MAX_VALUE`` characters past its end (a value may cross it) and
    keeps the values that start inside it. Each chunk is read at most once by RE2 and once by
    each detector whose candidate it holds: linear. (The binding's per-match cost is high, so
    RE2 only answers "any candidate here?" with one search per chunk.)
    """
    n, out = len(text), []
    for det in detectors:
        search, name = _compiled(det.candidate).search, det.name
        for lo in range(0, n, CHUNK):
            hi = min(n, lo + CHUNK)
            if search(text[lo:min(n, hi + MAX_VALUE)]) is None:
                continue
            out += [(a, b, name) for a, b in det.find_in(text, lo, min(n, hi + MAX_VALUE))
                    if a < hi]
    return out


def scan(text: str, detectors: Sequence[Detector]) -> list[Span]:
    """``(start, end, detector)`` of every detected value (may overlap; callers resolve)."""
    if _re2 is not None and len(text) >= RE2_MIN and detectors:
        return scan_re2(text, detectors)
    return scan_precise(text, detectors)
