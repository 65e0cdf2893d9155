"""psycopg's asyncio connections in a real kernel against a real PostgreSQL: every statement goes
through the same decision and effect check as a synchronous cursor (top-level ``await``)."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel
from tests.pg.conftest import Db
from tests.pg.pgserver import PgServer
from tests.pg.test_magic import idle_in_transaction


@pytest.fixture(scope="module")
def k(pg: PgServer, work_root: Path) -> Iterator[Kernel]:
    d = work_root / "pg-async"
    d.mkdir()
    kernel = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb"),
                        "JUPYTER_GUARD_USER": "alice"})
    name = pg.fresh()   # a connection opened before the guard loads is wrapped when it loads
    r = kernel.run(f"import psycopg\nearly = await psycopg.AsyncConnection.connect("
                   f"{pg.dsn(name)!r}, autocommit=True)")
    assert r.status == "ok", r.text
    r = kernel.run("%load_ext jupyter_guard")
    assert r.status == "ok", r.text
    yield kernel
    kernel.run("await early.close()")
    kernel.stop()
    pg.drop(name)
    shutil.rmtree(d, ignore_errors=True)


def _connect(k: Kernel, db: Db, autocommit: bool) -> None:
    r = k.run(f"aconn = await psycopg.AsyncConnection.connect({db.dsn!r}, "
              f"autocommit={autocommit})\nprint(type(aconn).__name__, aconn.__class__.__name__)")
    assert "GuardedAsyncDbapi AsyncConnection" in r.text, r.text


ATTACKS = [
    pytest.param("await aconn.execute('DELETE FROM orders WHERE id <= 30000')", id="delete"),
    pytest.param("cur = aconn.cursor()\nawait cur.execute('DELETE FROM orders WHERE id <= %s', "
                 "(30000,))", id="param-delete-measured"),
    pytest.param("t = 'ord' + 'ers'\nawait aconn.execute('DELETE FROM ' + t)", id="runtime-sql"),
    pytest.param("await aconn.execute('WITH d AS (DELETE FROM orders RETURNING *) "
                 "SELECT count(*) FROM d')", id="writable-cte"),
    pytest.param("await aconn.execute(\"DO $$ BEGIN EXECUTE 'DELETE FROM ' || "
                 "quote_ident('orders'); END $$\")", id="do-dynamic"),
    pytest.param("await aconn.execute('SET session_replication_role = replica')", id="replica"),
    pytest.param("await aconn.execute('ALTER TABLE orders RENAME TO o2')", id="rename"),
    pytest.param("async with aconn.cursor() as c:\n    await c.executemany("
                 "'DELETE FROM orders WHERE id = %s', [(i,) for i in range(1, 3001)])",
                 id="executemany"),
    pytest.param("async with aconn.cursor() as c:\n    async with c.copy("
                 "'COPY customers (email) TO STDOUT') as cp:\n        data = [r async for r in "
                 "cp]", id="copy-export"),
]


@pytest.mark.parametrize("autocommit", [True, False], ids=["autocommit", "transaction"])
@pytest.mark.parametrize("cell", ATTACKS)
def test_async_attack_refused(k: Kernel, db: Db, cell: str, autocommit: bool) -> None:
    _connect(k, db, autocommit)
    r = k.run(cell)
    assert r.status == "error", r.text
    assert "Blocked by jupyter_guard" in r.text and "guard-error" not in r.text, r.text
    r = k.run("await aconn.rollback()\nawait aconn.close()")
    assert r.status == "ok", r.text
    db.intact()
    assert db.query("SELECT sum(amount) FROM orders")[0][0] == db.query(
        "SELECT sum(g * 1.5) FROM generate_series(1, 50000) g")[0][0]
    assert db.query("SELECT count(*) FROM pg_class WHERE relname = 'o2'")[0][0] == 0


@pytest.mark.parametrize("autocommit", [True, False], ids=["autocommit", "transaction"])
def test_async_everyday_statements_run(k: Kernel, db: Db, autocommit: bool) -> None:
    _connect(k, db, autocommit)
    r = k.run("cur = await aconn.execute('SELECT count(*) FROM customers WHERE id <= %s', (10,))\n"
              "print('n =', (await cur.fetchone())[0])\n"
              "await aconn.execute('DELETE FROM orders WHERE id = %s', (1,))\n"
              "async with aconn.cursor() as c:\n"
              "    await c.execute('UPDATE customers SET city = %(c)s WHERE id = 2', {'c': 'Oslo'})\n"
              "    await c.executemany('DELETE FROM orders WHERE id = %s', [(2,), (3,)])\n"
              "    await c.execute('CREATE TEMP TABLE scratch AS SELECT id FROM orders LIMIT 5')\n"
              "    await c.execute('SELECT id FROM scratch ORDER BY id')\n"
              "    print('rows', [row async for row in c])\n"
              "await aconn.execute(\"DO $$ BEGIN RAISE NOTICE 'hi'; END $$\")\n"
              "await aconn.commit()")
    assert r.status == "ok", r.text
    assert "n = 10" in r.text and "rows [(4,), (5,), (6,), (7,), (8,)]" in r.text, r.text
    assert db.count("orders") == 50_000 - 3
    assert db.query("SELECT city FROM customers WHERE id = 2") == [("Oslo",)]
    assert idle_in_transaction(db) == 0
    r = k.run("await aconn.close()")
    assert r.status == "ok", r.text


def test_connection_opened_before_the_guard_is_wrapped(k: Kernel) -> None:
    r = k.run("print(type(early).__name__)")
    assert "GuardedAsyncDbapi" in r.text, r.text
    r = k.run("await early.execute('DELETE FROM orders')")
    assert r.status == "error" and "Blocked by jupyter_guard" in r.text, r.text
    r = k.run("cur = await early.execute('SELECT count(*) FROM orders')\n"
              "print('left', (await cur.fetchone())[0])")
    assert "left 50000" in r.text, r.text
