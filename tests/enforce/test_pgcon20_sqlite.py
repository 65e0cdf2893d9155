"""Inference through the user's own constraints on SQLite (issue 15, red team 19's "still open:
SQLite"), in a real guarded kernel on a real SQLite file made outside the guard.

``CREATE TEMP TABLE c (x TEXT CHECK (x <> G))`` then ``INSERT INTO c SELECT ssn FROM customers``
fails exactly when ``G`` is an SSN; ``CHECK (x < mid)`` bisects one customer's SSN; a ``UNIQUE``
table of guesses filled with ``INSERT OR IGNORE`` or ``ON CONFLICT DO NOTHING`` counts matches;
a trigger that ``RAISE``s on ``NEW.x = G`` judges the same way. Each is refused as ``inference``
before it runs: no answer and no constraint's verdict in any message, the judging table
unchanged. Twins: a ``CHECK`` on amounts, plain values in a constrained temporary table, a
``UNIQUE`` key on ids filled from customers' ids run with SQLite's own answers.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.enforce.constraint_attacks import ATTACKS as SHARED
from tests.enforce.constraint_attacks import (
    BISECTION,
    TWINS,
    Attack,
    G,
    judged,
    refused,
    twin_cell,
)
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

N = 300
VERDICTS = ("ANSWER", "constraint failed", "IntegrityError", "ORACLE-HIT")


def _expected(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as s:
        rows = [tuple(r) for r in s.execute(sql).fetchall()]
    s.close()
    return rows


@pytest.fixture(scope="module")
def k(kernel: Kernel) -> Kernel:
    path = kernel.workdir / "shop.sqlite"
    with sqlite3.connect(path) as s:   # made outside the guard
        s.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, ssn TEXT, "
                  "city TEXT)")
        s.executemany("INSERT INTO customers VALUES (?, ?, ?, ?)", [
            (i, f"user{i}@example.com", str(100000000 + i), ("Paris", "Lyon", "Nice")[i % 3])
            for i in range(1, N + 1)])
        s.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, amount REAL)")
        s.executemany("INSERT INTO orders VALUES (?, ?)", [(i, i * 1.5) for i in range(1, 2001)])
    s.close()
    kernel.ok("import sqlite3\ns = sqlite3.connect('shop.sqlite', isolation_level=None)\n"
              "s.execute('PRAGMA foreign_keys = ON')\n"
              "Violation = sqlite3.IntegrityError\n"
              "def q(sql):\n    return s.execute(sql).fetchall()")
    kernel.path = path   # type: ignore[attr-defined]
    return kernel


# the attacks SQLite has in its own spelling (``INSERT OR IGNORE``, an index in ``temp``, a
# trigger's ``RAISE``), beside the ones both databases share
ATTACKS: dict[str, Attack] = {
    **SHARED,
    "named-check-in-main": (f"CREATE TABLE c4 (x TEXT, CONSTRAINT c4g CHECK (x <> '{G}'))",
                            "INSERT INTO main.c4 SELECT ssn FROM customers", "c4", 0),
    "unique-or-ignore": (f"CREATE TEMP TABLE u1 (x TEXT UNIQUE); INSERT INTO u1 VALUES ('{G}')",
                         "INSERT OR IGNORE INTO u1 SELECT ssn FROM customers", "u1", 1),
    "unique-on-conflict": (f"CREATE TEMP TABLE u2 (x TEXT PRIMARY KEY); "
                           f"INSERT INTO u2 VALUES ('{G}')",
                           "INSERT INTO u2 SELECT ssn FROM customers WHERE true "
                           "ON CONFLICT DO NOTHING", "u2", 1),
    "integer-primary-key": (f"CREATE TEMP TABLE u3 (x INTEGER PRIMARY KEY); "
                            f"INSERT INTO u3 VALUES ({G})",
                            "INSERT INTO u3 SELECT CAST(ssn AS INTEGER) FROM customers", "u3", 1),
    "guess-into-a-key-over-ssns": ("CREATE TEMP TABLE u4 (x TEXT); "
                                   "INSERT INTO u4 SELECT ssn FROM customers; "
                                   "CREATE UNIQUE INDEX temp.u4i ON u4 (x)",
                                   f"INSERT OR IGNORE INTO u4 VALUES ('{G}')", "u4", N),
    "trigger-raise": (("CREATE TEMP TABLE t1 (x TEXT)",
                       "CREATE TEMP TRIGGER t1g BEFORE INSERT ON t1 "
                       f"WHEN NEW.x = '{G}' BEGIN SELECT RAISE(ABORT, 'ORACLE-HIT'); END"),
                      "INSERT INTO t1 SELECT ssn FROM customers", "t1", 0),
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_a_judging_constraint_over_sensitive_values_is_refused(k: Kernel, name: str) -> None:
    judged(k, ATTACKS[name], VERDICTS)


def test_the_check_bisection_stops_at_its_first_insert(k: Kernel) -> None:
    refused(k.run(BISECTION), VERDICTS)


@pytest.mark.parametrize("name", list(TWINS))
def test_an_honest_constrained_write_runs_with_sqlites_answer(k: Kernel, name: str) -> None:
    source = TWINS[name][2]
    want = source if isinstance(source, list) else _expected(k.path, source)  # type: ignore[attr-defined]
    r = k.ok(twin_cell(name, amount="REAL", ignore="INSERT OR IGNORE", on_conflict=""))
    assert f"ANSWER {want!r}" in r.stream, r.everything()
