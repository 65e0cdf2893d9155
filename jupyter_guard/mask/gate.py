"""Whether a long text where one kind alone has candidates surely holds no value of it.

``alone`` picks the one detector with candidates in a long text; its values are then found by
one precise pass in ``re`` (``bulk``). Text full of that kind's look-alikes (cards after
commas or glued to other digits, which the card pattern's boundaries refuse) holds a handful of
candidates of the looser prefilter, yet that pass reads the whole megabyte to find nothing:
~40-50 ms. Here RE2 lists the prefilter's candidates (~2 ms a megabyte without any); where
there are at most ``CAP``, only the chunks they touch are confirmed (as ``scan.first`` does),
and where none holds a value the text is returned as it is. More candidates: the question is
given up at once (a text full of values costs ``CAP`` RE2 searches, ~0.1 ms).
"""
from __future__ import annotations

from typing import Any

from . import scan
from .detect import Detector
from .pairs import forget
from .patterns import MAX_VALUE, PREFILTER
from .scan import CHUNK

CAP = 64
"""Most prefilter candidates whose chunks are confirmed; past this nothing is known."""


def clear(text: str, det: Detector) -> bool:
    """True only where ``scan(text, [det])`` is surely empty: ``det``'s prefilter has at most
    ``CAP`` candidates in ``text`` and none of the chunks they touch holds a value. False where
    RE2 cannot read the text (not installed, a lone surrogate), where a value is found, or
    where there are more candidates (then nothing is known).

    >>> from jupyter_guard.mask.detect import get_detectors
    >>> card, = get_detectors(("card",))
    >>> clear("4111 1111 1111 1111," * 4000, card), clear("4111 1111 1111 1111 " * 4000, card)
    (True, False)
    """
    if scan.engine() != "re2":
        return False
    try:
        return _clear(text, det)
    except UnicodeEncodeError:  # a lone surrogate: RE2 reads UTF-8 only
        return False
    finally:
        forget()  # (the pairs of this text's long runs, as ``scan.first``)


def _clear(text: str, det: Detector) -> bool:
    data: Any = text.encode("ascii") if text.isascii() else text  # (bytes: offsets the same)
    chunks = touched(PREFILTER.get(det.name, det.candidate), data)
    return chunks is not None and clean(text, det, chunks)


def touched(pattern: str, data: Any, cap: int = CAP) -> list[int] | None:
    """The chunks where a match of ``pattern`` (a prefilter) may start in ``data`` (the text,
    or its bytes if ASCII), in order, where RE2 lists at most ``cap`` matches; None where it
    lists more."""
    chunks: set[int] = set()
    for k, (a, b) in enumerate(scan._candidates(pattern, data)):
        if k >= cap:
            return None
        # every value starts at a prefilter candidate's start or one past it (the card
        # prefilter reads the character before); a candidate this pass skipped (leftmost
        # first, not overlapping) starts inside one it listed: every chunk from a to b
        chunks.update(range(a // CHUNK, (b + 1) // CHUNK + 1))
    return sorted(chunks)


def clean(text: str, det: Detector, chunks: list[int]) -> bool:
    """Whether none of ``chunks`` holds a value of ``det`` starting in it (each confirmed as
    ``scan`` confirms it)."""
    n = len(text)
    data = scan._Ascii(text) if text.isascii() else text
    for c in chunks:
        lo, hi = c * CHUNK, min(n, (c + 1) * CHUNK)
        if lo >= n:
            break
        window = data[lo:min(n, hi + MAX_VALUE)]
        got = scan._confirm(text, det, window, lo, hi)
        if got is None:  # many candidates in the chunk: one precise pass over it
            got = scan._dense(text, det, [(lo, hi)])
        if got:
            return False
    return True
