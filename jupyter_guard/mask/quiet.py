"""The garbage collector held back while a long text is masked: masking a megabyte makes tens
of thousands of short-lived tuples and strings (spans, slices, masks), none of them in a
reference cycle, and each 700 allocations started a young collection (and now and then a full
one over the whole heap): 20-70 ms of a 1 MB call. Automatic collection is paused by setting
the first threshold to 0 (``gc.isenabled`` is not touched, so code that turns the collector
off for its own reasons, around a call that must not collect, keeps it off), and the
thresholds are put back when the last masking thread is done; what became garbage meanwhile
is collected after, as usual.

>>> import gc
>>> before = gc.get_threshold()
>>> with quiet():
...     gc.get_threshold()[0]
0
>>> gc.get_threshold() == before
True
"""
from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_LOCK = threading.RLock()  # (re-entrant: a signal handler may mask text in the same thread)
_HELD: list[tuple[int, ...]] = []
"""The thresholds to put back, once per masking call in progress (all the first one's)."""


@contextmanager
def quiet() -> Iterator[None]:
    """No automatic collection inside (nested and concurrent uses count: the last one out
    puts the thresholds back as the first one in found them)."""
    with _LOCK:
        saved = _HELD[0] if _HELD else gc.get_threshold()
        _HELD.append(saved)
        gc.set_threshold(0, *saved[1:])
    try:
        yield
    finally:
        with _LOCK:
            _HELD.pop()
            if not _HELD:
                gc.set_threshold(*saved)
