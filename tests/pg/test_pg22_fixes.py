"""PostgreSQL parity (issue 15, red team 21), in real guarded kernels on the real server:

- a constraint's ``DETAIL`` row (``Failing row contains (100000001, null).``, ``Key (x)=(…)``)
  is masked whatever its values' shape, through psycopg, psycopg2, pg8000 and asyncpg;
- after an error aborts the user's transaction, a write gets the driver's own "transaction is
  aborted" error (it is not run), never a rule of the guard's; after a rollback it runs;
- an honest de-duplicating fill of an empty key (``INSERT INTO k SELECT DISTINCT email FROM
  customers``) runs, while its attack twins (a guess beside the values, a child table of the
  source, a view shadowing it, another session's uncommitted guess) stay refused.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kernelutil import Reply
from tests.pg.conftest import pg_kernel
from tests.pg.pgserver import PgServer

pytestmark = pytest.mark.kernel

ROUTES = {
    "psycopg": "import psycopg\npg = psycopg.connect({dsn!r}, autocommit=True)\n"
               "def q(sql):\n    cur = pg.execute(sql)\n"
               "    return [tuple(r) for r in cur.fetchall()] if cur.description else None",
    "psycopg2": "import psycopg2\npg = psycopg2.connect({dsn!r})\npg.autocommit = True\n"
                "def q(sql):\n    cur = pg.cursor()\n    cur.execute(sql)\n"
                "    return [tuple(r) for r in cur.fetchall()] if cur.description else None",
    "pg8000": "import pg8000.dbapi\npg = pg8000.dbapi.connect(user='postgres', host='127.0.0.1', "
              "port={port}, database={db!r})\npg.autocommit = True\n"
              "def q(sql):\n    cur = pg.cursor()\n    cur.execute(sql)\n"
              "    return [tuple(r) for r in cur.fetchall()] if cur.description else None",
    "asyncpg": "import asyncpg, asyncio\n"
               "ac = await asyncpg.connect('postgresql://postgres@127.0.0.1:{port}/{db}')\n"
               "def q(sql):\n    raise RuntimeError('use await ac')",
}
# the raw SSNs of the customers the DETAIL tests touch (the warehouse's nine-digit form)
IDS = (1, 2, 3, 4)


def sent(r: Reply) -> str:
    """Every message of the cell but its echoed input, and the reply."""
    return json.dumps([m["content"] for m in r.messages if m["msg_type"] != "execute_input"]
                      + [r.reply], default=str, ensure_ascii=False)


@pytest.fixture(scope="module", params=list(ROUTES))
def k(pg: PgServer, work_root: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    setup = ("CREATE TABLE nn (a text, b text NOT NULL);"
             "CREATE TABLE ck (a text, b int CHECK (b > 0));"
             "CREATE TABLE nn2 (a text, b text NOT NULL);"
             "INSERT INTO nn2 SELECT ssn, 'x' FROM customers WHERE id = 3;"
             "ALTER TABLE customers ALTER city SET NOT NULL")
    with pg_kernel(pg, work_root / f"pg22-{request.param}", ROUTES[request.param],
                   setup) as kernel:
        kernel.route = request.param
        kernel.raw = [s for (s,) in pg.query(
            f"SELECT ssn FROM customers WHERE id IN {IDS}", db=kernel.db)]
        yield kernel


def _call(k: Any, sql: str) -> str:
    return f"await ac.execute({sql!r})" if k.route == "asyncpg" else f"q({sql!r})"


@pytest.mark.parametrize("sql,error", [
    ("INSERT INTO nn SELECT ssn, NULL FROM customers WHERE id = 1", "not-null"),
    ("INSERT INTO ck SELECT ssn, -1 FROM customers WHERE id = 2", "check constraint"),
    ("UPDATE nn2 SET b = NULL WHERE b = 'x'", "not-null"),   # the row holds customer 3's SSN, named nowhere
    ("UPDATE customers SET city = NULL WHERE id = 4", "not-null"),   # a plain column's error
])
def test_a_failing_row_is_masked_whatever_its_shape(k: Any, sql: str, error: str) -> None:
    r = k.run(_call(k, sql))
    text = sent(r)
    assert r.status == "error", text[-800:]
    if k.route != "pg8000":   # pg8000's error is its fields' dict: each quoted field is masked
        assert error in text and "Failing row contains" in text, text[-800:]
    leaked = [v for v in k.raw if v in text]
    assert not leaked, (leaked, text[-800:])
    assert "\u2588" in text or k.route == "pg8000"   # masked, not dropped (pg8000: see above)
    assert k.pg.query("SELECT count(*) FROM nn2 WHERE b IS NULL", db=k.db) == [(0,)]


def test_a_failing_row_of_plain_values_written_in_the_statement_is_shown(k: Any) -> None:
    r = k.run(_call(k, "INSERT INTO ck VALUES ('plain-4242', -5)"))
    assert r.status == "error" and "plain-4242" in sent(r)


AFTER_ABORT = {
    "psycopg": ("import psycopg\npt = psycopg.connect({dsn!r})\n", "pt.execute({s!r})",
                "psycopg.errors.InFailedSqlTransaction"),
    "psycopg2": ("import psycopg2\npt = psycopg2.connect({dsn!r})\n",
                 "pt.cursor().execute({s!r})", "InFailedSqlTransaction"),
}


@pytest.mark.parametrize("route", list(AFTER_ABORT))
def test_a_write_after_an_aborted_transaction_gets_the_drivers_error(
        pg: PgServer, work_root: Path, route: str) -> None:
    connect, run, name = AFTER_ABORT[route]
    with pg_kernel(pg, work_root / f"pg22-abort-{route}", connect) as kk:
        # a failed write is undone to its savepoint by the effect check: a failed read aborts
        fail = kk.run(run.format(s="SELECT 1/0"))
        assert fail.status == "error" and "division by zero" in sent(fail)
        for s in ("UPDATE customers SET city = 'Rome' WHERE id = 5",
                  "INSERT INTO customers (id, name) SELECT 20001, name FROM customers "
                  "WHERE id = 6"):
            r = kk.run(run.format(s=s))
            text = sent(r)
            assert r.status == "error" and "transaction is aborted" in text, text[-800:]
            # the driver's own error, or the guard's naming the fix (a cell judged whole)
            assert name.rsplit(".", 1)[-1] in text or "roll it back" in text, text[-800:]
            assert "catalog unreadable" not in text and "bulk-change" not in text
            assert "guard failed" not in text and "[inference]" not in text, text[-800:]
        # a cell is judged before it runs: the rollback in a cell of its own, then the write
        kk.ok("pt.rollback()")
        kk.ok(run.format(s="UPDATE customers SET city = 'Rome' WHERE id = 5") + "\npt.commit()")
        assert pg.query("SELECT city FROM customers WHERE id = 5", db=kk.db) == [("Rome",)]


FILL = "INSERT INTO k SELECT DISTINCT email FROM customers"


@pytest.fixture()
def kf(pg: PgServer, work_root: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    with pg_kernel(pg, work_root / f"pg22-fill-{uuid.uuid4().hex[:12]}", ROUTES["psycopg"],
                   "CREATE TABLE k (email text PRIMARY KEY)") as kernel:
        yield kernel


def test_an_honest_fill_of_an_empty_key_runs(kf: Any) -> None:
    kf.ok(f"q({FILL!r})")
    assert kf.pg.query("SELECT count(*) FROM k", db=kf.db) == [(10_000,)]
    kf.blocked("q(\"INSERT INTO k VALUES ('user12@example.com')\")", "inference")   # filled now
    kf.blocked(f"q({FILL!r})", "inference")   # again: no longer empty


@pytest.mark.parametrize("setup", [
    "q(\"INSERT INTO k VALUES ('user12@example.com')\")",     # a guess beside the values
    "q('CREATE TABLE kid () INHERITS (customers)')\n"         # a child the source reads
    "q(\"INSERT INTO kid (id, email) VALUES (99999, 'user12@example.com')\")",
    "q(\"CREATE TEMP VIEW customers AS SELECT id, email FROM public.customers "
    "UNION ALL SELECT 0, 'user12@example.com'\")",            # a view shadowing the source
], ids=["guess-beside", "inherited-child", "temp-view"])
def test_a_key_judging_a_guess_stays_refused(kf: Any, setup: str) -> None:
    kf.run(setup)
    kf.blocked(f"q({FILL.replace('DISTINCT ', '')!r})", "inference")
    assert kf.pg.query("SELECT count(*) FROM k WHERE email <> 'user12@example.com'",
                       db=kf.db) == [(0,)]


def test_another_sessions_uncommitted_guess_keeps_the_key_judged(kf: Any) -> None:
    import psycopg

    with psycopg.connect(kf.pg.dsn(kf.db)) as other:   # outside the kernel, not committed
        other.execute("INSERT INTO k VALUES ('user12@example.com')")
        kf.blocked(f"q({FILL!r})", "inference")
        other.rollback()
    kf.ok(f"q({FILL!r})")   # alone and empty again: the honest fill runs
    assert kf.pg.query("SELECT count(*) FROM k", db=kf.db) == [(10_000,)]
