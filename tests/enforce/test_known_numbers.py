"""``known_numbers.printed_forms`` (four printed forms of many numbers, in numpy) gives Python's
own text for every number: of every length, around 2**53 (where floats stop being exact) and
past it, zero, and leading-zero values' numbers."""
from __future__ import annotations

import random

from jupyter_guard.hooks.known_numbers import EXACT, printed_forms


def test_printed_forms_are_pythons() -> None:
    r = random.Random(4)
    numbers = [r.randrange(10 ** r.randrange(1, 41)) for _ in range(30000)]
    numbers += [0, 1, 9, 10, 999, 1000, 10 ** 15, EXACT - 1, EXACT, EXACT + 1, 10 ** 16 - 1,
                10 ** 16, 10 ** 40 - 1, int("012345678")]
    got = printed_forms(numbers)
    want = ([repr(float(n)) for n in numbers], [f"{float(n):.18e}" for n in numbers],
            [f"{n:,}" for n in numbers], [f"{n:_}" for n in numbers])
    for g, w in zip(got, want):
        assert len(g) == len(numbers)
        assert sorted(g) == sorted(w)


def test_no_numbers() -> None:
    assert printed_forms([]) == ([], [], [], [])
