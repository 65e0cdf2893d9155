"""asyncpg in a real kernel against a real PostgreSQL: every statement goes through the same
decision and effect check as psycopg's (top-level ``await``), outside and inside the user's own
transaction; the everyday statements that look like the attacks run with correct results."""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel
from tests.pg.conftest import Db
from tests.pg.pgserver import PgServer
from tests.pg.test_magic import idle_in_transaction

FILE = f"/tmp/jg-asyncpg-{uuid.uuid4().hex}.csv"


@pytest.fixture(scope="module")
def k(pg: PgServer, work_root: Path) -> Iterator[Kernel]:
    d = work_root / "pg-asyncpg"
    d.mkdir()
    kernel = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb")})
    name = pg.fresh()   # a connection opened before the guard loads is wrapped when it loads
    r = kernel.run(f"import asyncpg\nearly = await asyncpg.connect({_dsn(pg, name)!r})")
    assert r.status == "ok", r.text
    r = kernel.run("%load_ext jupyter_guard")
    assert r.status == "ok", r.text
    yield kernel
    kernel.run("await early.close()")
    kernel.stop()
    pg.drop(name)
    shutil.rmtree(d, ignore_errors=True)


def _dsn(pg: PgServer, db: str, user: str = "postgres") -> str:
    return f"postgresql://{user}@127.0.0.1:{pg.port}/{db}"


def _connect(k: Kernel, db: Db, in_transaction: bool) -> None:
    r = k.run(f"conn = await asyncpg.connect({_dsn(db.server, db.name)!r})\n"
              "tr = conn.transaction()\n" + ("await tr.start()\n" if in_transaction else "") +
              "print(type(conn).__name__, conn.__class__.__name__)")
    assert "GuardedAsyncpg Connection" in r.text, r.text


ATTACKS = [
    pytest.param("await conn.execute('DELETE FROM orders WHERE id <= 30000')", id="delete"),
    pytest.param("await conn.execute('DELETE FROM orders WHERE id <= $1', 30000)",
                 id="param-delete-measured"),
    pytest.param("await conn.fetch('DELETE FROM orders WHERE id > $1 RETURNING id', 0)",
                 id="fetch-delete"),
    pytest.param("t = 'ord' + 'ers'\nawait conn.execute('DELETE FROM ' + t)", id="runtime-sql"),
    pytest.param("await conn.fetchval('WITH d AS (DELETE FROM orders RETURNING *) "
                 "SELECT count(*) FROM d')", id="writable-cte"),
    pytest.param("await conn.fetchrow('WITH d AS (DELETE FROM orders WHERE id > $1 RETURNING *) "
                 "SELECT count(*) FROM d', 0)", id="writable-cte-param"),
    pytest.param("await conn.execute(\"DO $$ BEGIN EXECUTE 'DROP TABLE orders'; END $$\")",
                 id="do-execute"),
    pytest.param("await conn.execute(\"DO $$ BEGIN EXECUTE 'DELETE FROM ' || "
                 "quote_ident('orders'); END $$\")", id="do-dynamic"),
    pytest.param(f"await conn.execute(\"COPY customers TO '{FILE}'\")", id="copy-to-file"),
    pytest.param(f"await conn.execute(\"COPY (SELECT email FROM customers) TO PROGRAM "
                 f"'cat > {FILE}'\")", id="copy-to-program"),
    pytest.param("await conn.execute('SET session_replication_role = replica')", id="replica"),
    pytest.param("await conn.fetchval(\"SELECT set_config('session_replication_role', "
                 "'replica', false)\")", id="set-config"),
    pytest.param("await conn.execute('ALTER TABLE orders RENAME TO o2')", id="rename"),
    pytest.param("await conn.execute('TRUNCATE orders CASCADE')", id="truncate"),
    pytest.param("await conn.executemany('DELETE FROM orders WHERE id = $1', "
                 "[(i,) for i in range(1, 3001)])", id="executemany"),
    pytest.param("st = await conn.prepare('DELETE FROM orders WHERE id > $1')\n"
                 "await st.fetch(0)", id="prepared"),
    pytest.param("import io\nbuf = io.BytesIO()\n"
                 "await conn.copy_from_query('SELECT email FROM customers', output=buf)",
                 id="copy-export"),
    pytest.param("import io\nbuf = io.BytesIO()\nawait conn.copy_from_table('customers', "
                 "output=buf)", id="copy-table-export"),
    pytest.param("cur = conn.cursor('DELETE FROM orders RETURNING id')", id="cursor-write"),
]


@pytest.mark.parametrize("in_transaction", [False, True], ids=["autocommit", "transaction"])
@pytest.mark.parametrize("cell", ATTACKS)
def test_asyncpg_attack_refused(k: Kernel, db: Db, cell: str, in_transaction: bool) -> None:
    _connect(k, db, in_transaction)
    r = k.run(cell)
    assert r.status == "error", r.text
    assert "Blocked by jupyter_guard" in r.text and "guard-error" not in r.text, r.text
    r = k.run(("await tr.rollback()\n" if in_transaction else "") + "await conn.close()")
    assert r.status == "ok", r.text
    db.intact()
    assert db.query("SELECT sum(amount) FROM orders")[0][0] == db.query(
        "SELECT sum(g * 1.5) FROM generate_series(1, 50000) g")[0][0]
    assert db.query("SELECT count(*) FROM pg_class WHERE relname = 'o2'")[0][0] == 0
    assert not os.path.exists(FILE)


@pytest.mark.parametrize("in_transaction", [False, True], ids=["autocommit", "transaction"])
def test_asyncpg_everyday_statements_run(k: Kernel, db: Db, in_transaction: bool) -> None:
    _connect(k, db, in_transaction)
    r = k.run("print('n =', await conn.fetchval('SELECT count(*) FROM customers WHERE id <= $1',"
              " 10))\n"
              "print('row', tuple(await conn.fetchrow('SELECT id, city FROM customers "
              "WHERE id = $1', 3)))\n"
              "await conn.execute('DELETE FROM orders WHERE id = $1', 1)\n"
              "await conn.execute('UPDATE customers SET city = $1 WHERE id = 2', 'Oslo')\n"
              "await conn.executemany('DELETE FROM orders WHERE id = $1', [(2,), (3,)])\n"
              "await conn.execute('CREATE TEMP TABLE scratch AS SELECT id FROM orders "
              "ORDER BY id LIMIT 5')\n"
              "print('rows', [r[0] for r in await conn.fetch('SELECT id FROM scratch "
              "ORDER BY id')])\n"
              "await conn.execute('DROP TABLE scratch')\n"
              "await conn.execute(\"DO $$ BEGIN RAISE NOTICE 'hi'; END $$\")\n"
              "await conn.execute('INSERT INTO customers (id, name, city) VALUES ($1, $2, $3) "
              "ON CONFLICT (id) DO UPDATE SET city = excluded.city', 4, 'x', 'Rome')\n"
              "st = await conn.prepare('SELECT name FROM customers WHERE id = $1')\n"
              "print('names', [await st.fetchval(i) for i in (1, 2)])\n"
              "import io\nbuf = io.BytesIO()\n"
              "await conn.copy_from_table('orders', columns=['id', 'amount'], output=buf)\n"
              "print('copied', buf.getvalue().count(b'\\n'))\n"
              + ("await tr.commit()\n" if in_transaction else ""))
    assert r.status == "ok", r.text
    names = [n for (n,) in db.query("SELECT name FROM customers WHERE id IN (1, 2) ORDER BY id")]
    assert "n = 10" in r.text and "rows [4, 5, 6, 7, 8]" in r.text, r.text
    assert f"names {names}" in r.text and "copied 49997" in r.text, r.text
    assert db.count("orders") == 50_000 - 3
    assert db.query("SELECT city FROM customers WHERE id IN (2, 4) ORDER BY id") == [
        ("Oslo",), ("Rome",)]
    assert db.query("SELECT count(*) FROM pg_class WHERE relname = 'scratch'")[0][0] == 0
    assert idle_in_transaction(db) == 0
    r = k.run("await conn.close()")
    assert r.status == "ok", r.text


def test_connection_opened_before_the_guard_is_wrapped(k: Kernel) -> None:
    r = k.run("print(type(early).__name__)")
    assert "GuardedAsyncpg" in r.text, r.text
    r = k.run("await early.execute('DELETE FROM orders')")
    assert r.status == "error" and "Blocked by jupyter_guard" in r.text, r.text
    r = k.run("print('left', await early.fetchval('SELECT count(*) FROM orders'))")
    assert "left 50000" in r.text, r.text


def test_asyncpg_function_that_writes_is_measured(k: Kernel, db: Db) -> None:
    """``SELECT f()`` where f deletes rows: a read by its text, measured by its effect."""
    db.query("CREATE FUNCTION del_orders(n int) RETURNS int LANGUAGE sql AS "
             "'DELETE FROM orders WHERE id <= n RETURNING 1'")
    _connect(k, db, False)
    for cell in ("await conn.fetchval('SELECT del_orders($1)', 30000)",
                 "await conn.fetch('SELECT name FROM customers WHERE id = $1 "
                 "AND del_orders(30000) > 0', 1)"):
        r = k.run(cell)
        assert r.status == "error" and "Blocked by jupyter_guard" in r.text, r.text
        assert "orders" in r.text and "guard-error" not in r.text, r.text
    r = k.run("print('one', await conn.fetchval('SELECT del_orders($1)', 1))")
    assert r.status == "ok" and "one 1" in r.text, r.text
    k.run("await conn.close()")
    assert db.count("orders") == 49_999
