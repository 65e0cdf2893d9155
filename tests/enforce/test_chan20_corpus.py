"""False positives of the joined reading across cells (``shown_pieces.Run.boundary``), measured
on a corpus of honest short-number output (tables of small ints, the suite's rows, counters one
a line, progress lines, shapes, small matrices, digits one a line, epochs, row ids with counts,
flags), each cell's messages read as ``sent_pieces`` reads them with a cell's start between
cells; the attack twin: known values printed three digits or one digit a cell.

    .venv/bin/python -m pytest tests/enforce/test_chan20_corpus.py
"""
from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from jupyter_guard.hooks import exits
from jupyter_guard.hooks.shown_pieces import Run, tokens


@pytest.fixture
def known() -> Iterator[None]:
    saved = set(exits.known)
    yield
    exits.known.clear()
    exits.known.update(saved)


def corpus(rng: random.Random, cells: int) -> list[list[str]]:
    out: list[list[str]] = []
    for _ in range(cells):
        kind = rng.randrange(10)
        if kind == 0:   # table of small ints
            n = rng.randrange(1, 6)
            out.append([str([tuple(rng.randrange(10) for _ in range(3)) for _ in range(n)])])
        elif kind == 1:   # the suite's rows
            out.append(["[(0, '1', '1'), (1, '2', '2'), (2, '3', '3')]"])
        elif kind == 2:   # a counter, one line a message
            a = rng.randrange(100)
            out.append([f"{i}\n" for i in range(a, a + rng.randrange(1, 12))])
        elif kind == 3:   # progress lines
            t = rng.choice([10, 100, 300, 1000])
            out.append([f"{i}/{t}\n" for i in range(0, t, max(1, t // 7))])
        elif kind == 4:   # a shape, a length, a count
            out.append([rng.choice([f"({rng.randrange(1000)}, {rng.randrange(20)})",
                                    str(rng.randrange(1000)), str(rng.randrange(10))])])
        elif kind == 5:   # a small matrix
            r = rng.randrange(1, 5)
            out.append(["\n".join(" ".join(str(rng.randrange(100)) for _ in range(4))
                                  for _ in range(r))])
        elif kind == 6:   # digits one a line
            out.append([f"{rng.randrange(10)}\n" for _ in range(rng.randrange(1, 9))])
        elif kind == 8:   # row ids and small counts
            out.append([str([(1000 + rng.randrange(300), rng.randrange(3))
                             for _ in range(rng.randrange(1, 3))])])
        elif kind == 9:   # zeros and ones (flags, empty counts)
            out.append([" ".join(rng.choice("0001") for _ in range(rng.randrange(1, 6)))])
        else:   # epochs
            out.append([f"Epoch {e} {rng.randrange(100)} {rng.randrange(10)}\n"
                        for e in range(rng.randrange(1, 4))])
    return out

def hits(cells: list[list[str]], cross: bool) -> int:
    run, n, found = Run(), 0, 0
    for cell in cells:
        if cross:   # (else no boundary at all: the runs go on as before chan20)
            run.boundary()
        for text in cell:
            n += 1
            h, _ = run.feed(tokens(text), n)
            found += h is not None
    return found

def attack(values: list[str], per: int) -> int:
    """A value printed ``per`` characters a cell."""
    run, n, found = Run(), 0, 0
    for v in values:
        for i in range(0, len(v), per):
            run.boundary()
            n += 1
            h, _ = run.feed(tokens(v[i:i + per] + "\n"), n)
        found += h is not None
    return found


def test_honest_short_numbers_over_cells_complete_no_random_ssn(known: None) -> None:
    rng = random.Random(20)
    values = [f"{rng.randrange(10**8, 10**9)}" for _ in range(10_000)]
    exits.known.clear()
    exits.remember(values)
    assert hits(corpus(random.Random(1), 3000), True) == 0
    assert attack(values[:50], 3) == attack(values[:50], 1) == 50


def test_the_dense_test_warehouse_finds_fewer_than_runs_that_ignore_cells(known: None) -> None:
    """SSNs ``100000000 + n``: every run of zeros after a one begins one. Cells of nothing but
    such digits still spell them (as an attack would); tables of short numbers no longer do."""
    values = [f"{100000000 + n:09d}" for n in range(300)]
    exits.known.clear()
    exits.remember(values)
    cells = corpus(random.Random(1), 3000)
    assert hits(cells, True) < hits(cells, False)
    assert attack(values[:50], 3) == attack(values[:50], 1) == 50
