"""The known nine-digit values (SSNs) as one sorted integer array, kept up to date by merging the
batches the set of known values adds (``known_set.Values.readers``), not by sorting the whole
set again whenever it changed: a fetch-then-write loop over 2 million known values paid 1-2 s
a write to rebuild it. Read by ``file_pieces`` (numbers cut into pieces) and ``known_cut``
(a value with a digit cut at one end, written as a decimal fraction).

A reset of the set (a removal, a clear) or batches left unread past
``known_set.JOURNAL_MAX`` rebuild the array from the whole set once.

>>> from jupyter_guard.hooks.known_set import Values
>>> v = Values(); f = Follow()
>>> v.update(["123-45-6789", "user@x.io"]); f.of(v, set()).tolist()
[123456789]
>>> v.update(["100000005", "987654321"]); f.of(v, {"987654321"}).tolist()
[100000005, 123456789]
>>> v.discard("100000005"); f.of(v, set()).tolist()
[123456789, 987654321]
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from typing import Any

import numpy as np

NAME = "ints"
"""This reader's name in ``Values.readers``."""
_SSN = re.compile(r"[0-9]{9}|[0-9]{3}-[0-9]{2}-[0-9]{4}")
_EMPTY = np.empty(0, dtype=np.int64)


def _ints(batch: Iterable[Any], spelt: AbstractSet[str]) -> np.ndarray:
    """The nine-digit values of ``batch`` (as read: not in ``spelt``), sorted, once each."""
    fit = _SSN.fullmatch
    ints = [int(v.replace("-", "")) for v in batch
            if isinstance(v, str) and len(v) in (9, 11) and fit(v) and v not in spelt]
    return np.unique(np.array(ints, dtype=np.int64)) if ints else _EMPTY


class Follow:
    """The sorted array of one set's nine-digit values, merged batch by batch."""

    def __init__(self) -> None:
        self.array = _EMPTY
        self.state: tuple[int, int] = (0, -1)   # (the set's id, its resets)

    def of(self, values: Any, spelt: AbstractSet[str]) -> np.ndarray:
        """The array for ``values`` (``spelt``: its forms, not read: a number backwards)."""
        readers = getattr(values, "readers", None)
        state = (id(values), getattr(values, "resets", 0))
        if readers is None:   # a plain set (a test's): the whole of it, each time
            self.array, self.state = _ints(values, spelt), (0, -1)
            return self.array
        if state != self.state or readers.get(NAME) is None:
            readers[NAME] = []   # (first: a batch added meanwhile is read twice, not lost)
            self.array, self.state = _ints(list(values), spelt), state
        elif readers[NAME]:
            batches, readers[NAME] = readers[NAME], []
            new = _ints((v for batch in batches for v in batch), spelt)
            if len(new):   # (M log N lookups and one copy: no sort of the N known)
                at = np.searchsorted(self.array, new)
                fresh = at == len(self.array)
                fresh[~fresh] = self.array[at[~fresh]] != new[~fresh]
                self.array = np.insert(self.array, at[fresh], new[fresh])
        return self.array


FOLLOW = Follow()


def known(values: Any, spelt: AbstractSet[str]) -> np.ndarray | None:
    """``FOLLOW.of``, None where no nine-digit value is known."""
    arr = FOLLOW.of(values, spelt)
    return arr if len(arr) else None
