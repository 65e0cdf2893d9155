"""``known_ints`` (``file_pieces._known``) follows the known set's batches: after fetches, a
removal, and more batches left unread than the set keeps, the merged array is the one a full
rebuild gives (the known nine-digit values as read, sorted, once each)."""
from __future__ import annotations

import random

import numpy as np

from jupyter_guard.hooks import exits, file_pieces, known_ints, known_set
from tests.enforce.known_values import remembering


def _whole() -> list[int]:
    return sorted({int(v.replace("-", "")) for v in exits.known
                   if known_ints._SSN.fullmatch(v) and v not in exits.spelt})


def test_the_merged_array_is_the_rebuilt_one() -> None:
    rng = random.Random(19)
    with remembering([f"{rng.randint(100000000, 899999999)}" for _ in range(2000)]):
        first = file_pieces._known()
        assert first is not None and first.tolist() == _whole()
        for _ in range(5):   # fetches between writes
            exits.remember([f"{rng.randint(1, 899):03d}-{rng.randint(1, 99):02d}-"
                            f"{rng.randint(1, 9999):04d}" for _ in range(300)])
            arr = file_pieces._known()
            assert arr is not None and arr.tolist() == _whole()
            assert bool(np.all(np.diff(arr) > 0))
        exits.known.discard(next(v for v in exits.known if v.isdigit() and len(v) == 9))
        arr = file_pieces._known()
        assert arr is not None and arr.tolist() == _whole()   # a removal: rebuilt
        for i in range(known_set.JOURNAL_MAX + 5):   # more batches than kept: rebuilt
            exits.remember([f"{200000000 + i * 977:09d}"])
        arr = file_pieces._known()
        assert arr is not None and arr.tolist() == _whole()
