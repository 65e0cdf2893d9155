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

from tests.kernelutil import Kernel, Reply

pytestmark = pytest.mark.kernel

N = 300
G = "100000012"   # customer 12's SSN
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
              "def q(sql):\n    return s.execute(sql).fetchall()")
    kernel.path = path   # type: ignore[attr-defined]
    return kernel


def refused(r: Reply) -> None:
    """Refused by ``inference``; no constraint's verdict and no answer in any message."""
    seen = r.everything() + "\n" + repr(r.reply)
    assert r.status == "error" and "[inference]" in r.everything(), seen
    assert not any(v in seen for v in VERDICTS), seen


def ddl(sql: str) -> str:
    return "".join(f"q({st.strip()!r})\n" for st in sql.split(";") if st.strip())


def count(k: Kernel, table: str) -> int:
    r = k.ok(f"print('ROWS', q('SELECT count(*) FROM {table}'))")
    return int(r.stream.split("ROWS [(")[1].split(",")[0])


TRIGGER = ("CREATE TEMP TABLE t1 (x TEXT)", "CREATE TEMP TRIGGER t1g BEFORE INSERT ON t1 "
           f"WHEN NEW.x = '{G}' BEGIN SELECT RAISE(ABORT, 'ORACLE-HIT'); END")

# (setup, attack, table the attack writes, rows it holds before): the setup alone runs
ATTACKS = {
    "check-member": (f"CREATE TEMP TABLE c1 (x TEXT CHECK (x <> '{G}'))",
                     "INSERT INTO c1 SELECT ssn FROM customers", "c1", 0),
    "check-bisect-one-person": ("CREATE TEMP TABLE c2 (x TEXT CHECK (x < '100000150'))",
                                "INSERT INTO c2 SELECT ssn FROM customers WHERE id = 77", "c2", 0),
    "check-table-level": (f"CREATE TEMP TABLE c3 (id INT, x TEXT, CHECK (x <> '{G}'))",
                          "INSERT INTO c3 (id, x) SELECT id, ssn FROM customers", "c3", 0),
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
    "foreign-key": (f"CREATE TEMP TABLE g1 (x TEXT PRIMARY KEY); INSERT INTO g1 VALUES ('{G}'); "
                    "CREATE TEMP TABLE f1 (y TEXT REFERENCES g1 (x))",
                    "INSERT INTO f1 SELECT ssn FROM customers WHERE id = 12", "f1", 0),
    "trigger-raise": ("; ".join(TRIGGER), "INSERT INTO t1 SELECT ssn FROM customers", "t1", 0),
    "update-into-a-key": (f"CREATE TEMP TABLE k1 (id INT, x TEXT UNIQUE); "
                          f"INSERT INTO k1 VALUES (1, '{G}'), (2, NULL)",
                          "UPDATE k1 SET x = (SELECT ssn FROM customers WHERE id = 12) "
                          "WHERE id = 2", "k1", 2),
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_a_judging_constraint_over_sensitive_values_is_refused(k: Kernel, name: str) -> None:
    setup, attack, table, before = ATTACKS[name]
    k.ok(ddl(setup) if "TRIGGER" not in setup else "".join(f"q({t!r})\n" for t in TRIGGER))
    refused(k.run(ddl(attack) + "print('ANSWER')"))
    assert count(k, table) == before   # nothing written


def test_the_check_bisection_stops_at_its_first_insert(k: Kernel) -> None:
    refused(k.run(
        "lo, hi = 100000000, 100010000\nn = 0\nwhile lo < hi:\n    mid = (lo + hi + 1) // 2\n"
        "    n += 1\n    q(f'CREATE TEMP TABLE b_{n} (x INTEGER CHECK (x < {mid}))')\n"
        "    try:\n        q(f'INSERT INTO b_{n} SELECT CAST(ssn AS INTEGER) FROM customers "
        "WHERE id = 77')\n        hi = mid - 1\n"
        "    except sqlite3.IntegrityError:\n        lo = mid\n"
        "print('ANSWER', lo)"))


def test_a_check_on_amounts_takes_an_insert_select(k: Kernel) -> None:
    want = _expected(k.path, "SELECT count(*), sum(amount) FROM orders "  # type: ignore[attr-defined]
                     "WHERE amount < 1000")
    r = k.ok(ddl("CREATE TEMP TABLE h1 (id INT, amount REAL CHECK (amount < 1000))")
             + ddl("INSERT INTO h1 SELECT id, amount FROM orders WHERE amount < 1000")
             + "print('ANSWER', q('SELECT count(*), sum(amount) FROM h1'))")
    assert f"ANSWER {want!r}" in r.stream, r.everything()


def test_plain_values_go_into_a_constrained_temporary_table(k: Kernel) -> None:
    r = k.ok(ddl("CREATE TEMP TABLE h2 (code TEXT CHECK (code <> 'XX') UNIQUE)")
             + ddl("INSERT OR IGNORE INTO h2 VALUES ('FR'), ('DE')")
             + ddl("INSERT OR IGNORE INTO h2 VALUES ('FR')")
             + "print('ANSWER', q('SELECT code FROM h2 ORDER BY code'))")
    assert "ANSWER [('DE',), ('FR',)]" in r.stream, r.everything()


def test_a_unique_key_on_ids_filled_from_customers_works(k: Kernel) -> None:
    want = _expected(k.path, "SELECT count(*), sum(id) FROM customers "  # type: ignore[attr-defined]
                     "WHERE city = 'Lyon'")
    r = k.ok(ddl("CREATE TEMP TABLE h3 (id INT UNIQUE, city TEXT CHECK (city <> 'Rome'))")
             + ddl("INSERT INTO h3 SELECT id, city FROM customers WHERE city = 'Lyon'")
             + ddl("INSERT OR IGNORE INTO h3 SELECT id, city FROM customers WHERE city = 'Lyon'")
             + "print('ANSWER', q('SELECT count(*), sum(id) FROM h3'))")
    assert f"ANSWER {want!r}" in r.stream, r.everything()


def test_ssns_into_an_unconstrained_temporary_table_are_kept(k: Kernel) -> None:
    r = k.ok(ddl("CREATE TEMP TABLE h4 (id INT, x TEXT)")
             + ddl("INSERT INTO h4 SELECT id, ssn FROM customers")
             + "print('ANSWER', q('SELECT count(*) FROM h4'))")
    assert f"ANSWER [({N},)]" in r.stream, r.everything()
