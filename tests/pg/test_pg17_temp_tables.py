"""Temporary tables and views, and names another schema shadows, on PostgreSQL (psycopg, a real
kernel on a real server): session-local objects are no hiding place.

Guess tables: a temporary table (``CREATE TEMP TABLE g AS VALUES ('…')``, ``INSERT INTO
pg_temp.g``) or view holding only the attacker's guesses, compared with ``ssn``, is refused
(``inference``, no count printed). Copies: a temporary table or view that renamed ``ssn``
(``CREATE TEMP TABLE t AS SELECT id, ssn AS x FROM customers``), or a table named like a plain
one in a schema put first on ``search_path``, hands out no raw SSN when read and printed. Twins:
a temporary table of plain values joins and prints with the right answers."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pg.conftest import PSYCOPG, pg_kernel
from tests.pg.pgserver import PgServer

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(pg: PgServer, work_root: Path) -> Iterator[Any]:
    with pg_kernel(pg, work_root / "pg17-temp", PSYCOPG) as kernel:
        kernel.towns = pg.query("SELECT count(*) FROM customers WHERE city IN ('Lyon', 'Nice')",
                                db=kernel.db)[0][0]
        yield kernel


def _ask(sql: str) -> str:
    return f"c = pg.cursor()\nc.execute({sql!r})\nprint('ANSWER', c.fetchall())"


def _name() -> str:
    return "t" + uuid.uuid4().hex[:8]


GUESSES = [
    pytest.param("CREATE TEMP TABLE {t} AS VALUES ('{g}')", "column1", id="temp-ctas-values"),
    pytest.param("CREATE TEMP TABLE {t}(s text); INSERT INTO pg_temp.{t} VALUES ('{g}')", "s",
                 id="temp-insert-pg_temp"),
    pytest.param("CREATE TEMP VIEW {t} AS SELECT '{g}'::text AS s", "s", id="temp-view"),
    pytest.param("CREATE TEMP TABLE {t} AS SELECT '{g}'::text AS s", "s", id="temp-ctas-select"),
]


@pytest.mark.parametrize("make,col", GUESSES)
@pytest.mark.parametrize("probe", [
    "SELECT count(*) FROM customers WHERE ssn IN (SELECT {c} FROM {t})",
    "SELECT count(*) FROM customers c JOIN {t} g ON c.ssn = g.{c}",
])
def test_a_temporary_guess_table_is_refused(k: Any, make: str, col: str, probe: str) -> None:
    t = _name()
    r = k.run("\n".join(f"pg.execute({s.strip()!r})"
                        for s in make.format(t=t, g=k.ssns[0]).split(";")))
    assert r.status == "ok", r.text
    r = k.run(_ask(probe.format(t=t, c=col)))
    assert r.status == "error" and "inference" in r.text, r.text
    assert "ANSWER" not in r.stream


def test_a_temporary_table_of_plain_values_joins(k: Any) -> None:
    t = _name()
    r = k.run(f"pg.execute('CREATE TEMP TABLE {t}(s text)')\n"
              f"pg.execute(\"INSERT INTO {t} VALUES ('Lyon'), ('Nice')\")")
    assert r.status == "ok", r.text
    r = k.run(_ask(f"SELECT count(*) FROM customers c JOIN {t} g ON c.city = g.s"))
    assert r.status == "ok" and f"ANSWER [({k.towns},)]" in r.stream, r.text


COPIES = [
    pytest.param("CREATE TEMP TABLE {t} AS SELECT id, ssn AS x FROM customers", "{t}",
                 id="temp-ctas"),
    pytest.param("CREATE TEMP VIEW {t} AS SELECT id, ssn AS x FROM customers", "{t}",
                 id="temp-view"),
    pytest.param("CREATE TEMP TABLE {t}(id int, x text); INSERT INTO {t} SELECT id, ssn FROM "
                 "customers", "{t}", id="temp-insert-select"),
    pytest.param("CREATE TEMP TABLE orders AS SELECT id, ssn AS x FROM customers", "orders",
                 id="temp-shadows-orders"),
    pytest.param("CREATE SCHEMA {t}; CREATE TABLE {t}.orders AS SELECT id, ssn AS x FROM "
                 "customers; SET search_path = {t}, public", "orders", id="schema-first"),
]


@pytest.mark.parametrize("make,read", COPIES)
def test_a_renamed_copy_is_not_printed_raw(k: Any, make: str, read: str) -> None:
    t = _name()
    r = k.run("\n".join(f"pg.execute({s.strip()!r})" for s in make.format(t=t).split(";")))
    assert r.status == "ok", r.text
    try:
        r = k.run(f"c = pg.cursor()\nc.execute('SELECT x FROM {read.format(t=t)} ORDER BY id "
                  "LIMIT 3')\nrows = c.fetchall()\nprint(rows)")
        assert not any(s in r.everything() for s in k.ssns), r.everything()
    finally:
        k.run("pg.execute('RESET search_path')\npg.execute('DROP TABLE IF EXISTS pg_temp.orders')")


def test_a_temporary_values_table_of_plain_values_joins(k: Any) -> None:
    t = _name()
    r = k.run(f"pg.execute(\"CREATE TEMP TABLE {t} AS VALUES ('Lyon'), ('Nice')\")")
    assert r.status == "ok", r.text
    r = k.run(_ask(f"SELECT count(*) FROM customers c JOIN {t} g ON c.city = g.column1"))
    assert r.status == "ok" and f"ANSWER [({k.towns},)]" in r.stream, r.text


def test_a_temporary_table_named_customers_holding_guesses_is_refused(k: Any) -> None:
    """``pg_temp`` is searched first: a temporary ``customers`` whose ``ssn`` holds guesses
    is no real table of customers, and a join of it with ``public.customers`` on ``ssn`` is
    inference, not a join between two sensitive columns."""
    r = k.run(f"pg.execute(\"CREATE TEMP TABLE customers AS SELECT '{k.ssns[0]}'::text AS ssn\")")
    assert r.status == "ok", r.text
    try:
        r = k.run(_ask("SELECT count(*) FROM public.customers c JOIN customers g "
                       "ON c.ssn = g.ssn"))
        assert r.status == "error" and "inference" in r.text, r.text
        assert "ANSWER" not in r.stream
    finally:
        k.run("pg.execute('DROP TABLE IF EXISTS pg_temp.customers')")
    r = k.run(_ask(f"SELECT count(*) FROM customers WHERE ssn = '{k.ssns[1]}'"))
    assert r.status == "error" and "inference" in r.text, r.text   # dropped: the real one again
    r = k.run("c = pg.cursor()\nc.execute('SELECT id, ssn FROM customers ORDER BY id LIMIT 3')\n"
              "print(c.fetchall())")   # the twin: the real table again, masked as ever
    assert r.status == "ok", r.text
    assert not any(s in r.everything() for s in k.ssns), r.everything()


def test_a_guess_table_dropped_on_commit_is_refused(k: Any) -> None:
    r = k.run("with pg.transaction():\n"
              f"    pg.execute(\"CREATE TEMP TABLE g ON COMMIT DROP AS VALUES ('{k.ssns[0]}')\")\n"
              "    c = pg.cursor()\n"
              "    c.execute('SELECT count(*) FROM customers WHERE ssn IN (SELECT column1 FROM g)')\n"
              "    print('ANSWER', c.fetchall())")
    assert r.status == "error" and "inference" in r.text, r.text
    assert "ANSWER" not in r.stream


def test_a_renamed_temporary_copy_is_refused_at_a_file(k: Any, tmp_path: Path) -> None:
    t = _name()
    r = k.run(f"pg.execute('CREATE TEMP TABLE {t} AS SELECT id, ssn AS x FROM customers')\n"
              f"c = pg.cursor()\nc.execute('SELECT x FROM {t} ORDER BY id LIMIT 3')\n"
              "xs = [r[0] for r in c.fetchall()]")
    assert r.status == "ok", r.text
    out = tmp_path / "x.txt"
    r = k.run(f"open({str(out)!r}, 'w').write(','.join(xs))")
    assert r.status == "error", r.text
    assert not out.exists() or k.ssns[0] not in out.read_text()


def test_a_plain_table_dropped_on_commit_joins(k: Any) -> None:
    r = k.run("with pg.transaction():\n"
              "    pg.execute(\"CREATE TEMP TABLE p ON COMMIT DROP AS VALUES ('Lyon'), ('Nice')\")\n"
              "    c = pg.cursor()\n"
              "    c.execute('SELECT count(*) FROM customers c JOIN p ON c.city = p.column1')\n"
              "    print('ANSWER', c.fetchall())")
    assert r.status == "ok" and f"ANSWER [({k.towns},)]" in r.stream, r.text
