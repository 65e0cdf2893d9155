"""The known values are bounded by the memory they take (``exits.MAX_KNOWN_BYTES``, counted in
``exits.held``), not only by their number (``MAX_KNOWN``): a fetch of long values fills them
with few values. Past the bound nothing more is remembered, ``exits.full`` says so, and the
PostgreSQL route refuses the fetch (``pg_values.remember`` is False: ``pg_results`` raises
``guard-error``, ``tests/pg/test_big_results.py``) rather than hand out values the exits would
not know."""
from __future__ import annotations

import random
from typing import Any

import pytest

from jupyter_guard.connections import pg_values
from jupyter_guard.hooks import exits
from tests.enforce.test_remember_batch import fresh_exits  # noqa: F401 - the fixture


def _long(r: random.Random, n: int, size: int) -> list[str]:
    return ["".join(r.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=size)) for _ in range(n)]


def test_held_counts_characters_and_values(fresh_exits: Any) -> None:  # noqa: F811
    assert exits.held[0] == 0
    exits.remember(["abcd" * 25])   # one value of 100 characters and its reverse
    assert exits.held[0] == 2 * (100 * exits.BYTES_PER_CHAR + exits.BYTES_PER_VALUE)
    before = exits.held[0]
    exits.remember([str(100000000 + g * 7) for g in range(100)])   # numbers: forms, packed
    per_number = (exits.held[0] - before) / 100
    assert 5 * (exits.BYTES_PER_CHAR * 9 + exits.BYTES_PER_VALUE) < per_number < 6000   # (forms)
    exits.known.clear()
    assert not exits.full() and exits.held[0] == 0   # emptied: nothing held


def test_long_values_fill_the_bound_with_few_values(fresh_exits: Any,  # noqa: F811
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    r = random.Random(2)
    monkeypatch.setattr(exits, "MAX_KNOWN_BYTES", 8 << 20)
    first = _long(r, 100, 1000)   # 100 values of 1,000 characters: ~9.6 MB held with reverses
    exits.remember(first)
    assert first[0] in exits.known and exits.full()
    assert exits.counted[0] == 100 < exits.MAX_KNOWN   # (the count alone would take 2 million)
    known = set(exits.known)
    later = _long(r, 10, 1000)
    exits.remember(later)   # past the bound: nothing more is remembered ...
    assert set(exits.known) == known
    assert pg_values.remember(later) is False   # ... and the PostgreSQL fetch is refused
    assert pg_values.remember([]) is True       # (nothing to remember: nothing refused)
    exits.known.clear()
    assert pg_values.remember(later) is True and later[0] in exits.known   # room again


def test_below_the_bound_everything_is_remembered(fresh_exits: Any,  # noqa: F811
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The benign twin: a fetch that fits is remembered whole, the next one too."""
    r = random.Random(3)
    monkeypatch.setattr(exits, "MAX_KNOWN_BYTES", 64 << 20)
    for _ in range(3):
        batch = _long(r, 100, 1000)
        assert pg_values.remember(batch) is True
        assert set(batch) <= exits.known
    assert not exits.full()
