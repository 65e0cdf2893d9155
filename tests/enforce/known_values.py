"""Values made known to this process's guard for a test, as a cell's read of a sensitive column
would make them, with the known-value finders plugged into ``mask_text``; everything put back
afterwards (the known values another test left, the lengths, the finders)."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from jupyter_guard.hooks import exits
from jupyter_guard.mask import text as mask_text_module


@contextmanager
def remembering(values: Iterable[Any]) -> Iterator[None]:
    """Only ``values`` known (and their forms) for the time of the block."""
    saved, lens = set(exits.known), set(exits.lengths)
    exits.known.clear()
    exits.remember(list(values))
    finders = [f for f in (exits.known_spans, exits.grouped_spans)
               if f not in mask_text_module.KNOWN]
    mask_text_module.KNOWN.extend(finders)
    try:
        yield
    finally:
        for f in finders:
            mask_text_module.KNOWN.remove(f)
        exits.known.clear()
        exits.known.update(saved)
        exits.lengths.clear()
        exits.lengths.update(lens)
