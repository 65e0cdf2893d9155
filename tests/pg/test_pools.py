"""Pools and other PostgreSQL drivers in a real kernel against a real PostgreSQL: asyncpg pools
(``pool.acquire()``, ``pool.execute``/``fetch``, a pool made before the guard loaded),
psycopg_pool's ``ConnectionPool``, and pg8000 (DB-API cursors, ``native.Connection.run``,
prepared statements, its core methods). Every attack of issue 16 is refused with the data,
tables, files and settings unchanged; the everyday statements run with correct results."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel
from tests.pg.conftest import Db
from tests.pg.pgserver import PgServer
from tests.pg.test_asyncpg import ATTACKS as ASYNCPG_ATTACKS
from tests.pg.test_asyncpg import FILE
from tests.pg.test_magic import idle_in_transaction

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(pg: PgServer, work_root: Path) -> Iterator[Kernel]:
    d = work_root / "pg-pools"
    d.mkdir()
    kernel = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb")})
    name = pg.fresh()   # a pool made before the guard loads is guarded when it loads
    r = kernel.run(f"import asyncpg\nearly = await asyncpg.create_pool({_url(pg, name)!r}, "
                   "min_size=1, max_size=1)\nsaved_connect = asyncpg.connect")
    assert r.status == "ok", r.text
    r = kernel.run("%load_ext jupyter_guard")
    assert r.status == "ok", r.text
    yield kernel
    kernel.run("await early.close()")
    kernel.stop()
    pg.drop(name)
    shutil.rmtree(d, ignore_errors=True)


def _url(pg: PgServer, db: str) -> str:
    return f"postgresql://postgres@127.0.0.1:{pg.port}/{db}"


def _unchanged(db: Db) -> None:
    db.intact()
    assert db.query("SELECT sum(amount) FROM orders")[0][0] == db.query(
        "SELECT sum(g * 1.5) FROM generate_series(1, 50000) g")[0][0]
    assert db.query("SELECT count(*) FROM pg_class WHERE relname = 'o2'")[0][0] == 0
    assert not os.path.exists(FILE)
    assert idle_in_transaction(db) == 0


@pytest.mark.parametrize("in_transaction", [False, True], ids=["autocommit", "transaction"])
@pytest.mark.parametrize("cell", ASYNCPG_ATTACKS)
def test_asyncpg_pool_connection_attack_refused(k: Kernel, db: Db, cell: str,
                                                in_transaction: bool) -> None:
    r = k.run(f"pool = await asyncpg.create_pool({_url(db.server, db.name)!r}, min_size=1, "
              "max_size=1)\nconn = await pool.acquire()\ntr = conn.transaction()\n"
              + ("await tr.start()\n" if in_transaction else "") + "print(type(conn).__name__)")
    assert "PoolConnectionProxy" in r.text, r.text
    r = k.run(cell)
    assert r.status == "error", r.text
    assert "Blocked by jupyter_guard" in r.text and "guard-error" not in r.text, r.text
    r = k.run(("await tr.rollback()\n" if in_transaction else "") +
              "await pool.release(conn)\nawait pool.close()")
    assert r.status == "ok", r.text
    _unchanged(db)


POOL_ATTACKS = [
    pytest.param("await pool.execute('DELETE FROM orders WHERE id <= $1', 30000)", id="execute"),
    pytest.param("await pool.fetch('DELETE FROM orders WHERE id > $1 RETURNING id', 0)",
                 id="fetch"),
    pytest.param("await pool.fetchval('WITH d AS (DELETE FROM orders RETURNING *) "
                 "SELECT count(*) FROM d')", id="fetchval-cte"),
    pytest.param("t = 'ord' + 'ers'\nawait pool.execute('TRUNCATE ' + t + ' CASCADE')",
                 id="runtime-sql"),
    pytest.param("await pool.executemany('DELETE FROM orders WHERE id = $1', "
                 "[(i,) for i in range(1, 3001)])", id="executemany"),
    pytest.param("async with pool.acquire() as c:\n"
                 "    await c.execute(\"DO $$ BEGIN EXECUTE 'DROP TABLE orders'; END $$\")",
                 id="acquire-do"),
    pytest.param("q = 'DELETE FROM orders WHERE id < ' + str(30000)\n"
                 "async with pool.acquire() as c:\n    await c.execute(q)", id="acquire-runtime"),
    pytest.param("q = 'DELETE FROM orders WHERE id < ' + str(30000)\nc = await pool.acquire()\n"
                 "async with c.transaction():\n    await c.fetch(q + ' RETURNING id')",
                 id="acquire-transaction-runtime"),
    pytest.param("q = 'DELETE FROM orders WHERE id < ' + str(30000)\nawait pool.fetch(q)",
                 id="pool-runtime"),
    pytest.param("async def init(c):\n    await c.execute('DELETE FROM orders WHERE id > ' + "
                 "str(0))\np2 = await asyncpg.create_pool(URL, min_size=1, max_size=1, "
                 "init=init)", id="init-callback"),
    pytest.param("p2 = await asyncpg.create_pool(URL, min_size=1, max_size=1, "
                 "connect=asyncpg.connect)\nawait p2.execute('ALTER TABLE orders RENAME TO o2')",
                 id="pool-given-connect"),
    pytest.param("import io\nbuf = io.BytesIO()\n"
                 "await pool.copy_from_query('SELECT email FROM customers', output=buf)",
                 id="copy-export"),
]


@pytest.mark.parametrize("cell", POOL_ATTACKS)
def test_asyncpg_pool_methods_attack_refused(k: Kernel, db: Db, cell: str) -> None:
    url = _url(db.server, db.name)
    r = k.run(f"URL = {url!r}\npool = await asyncpg.create_pool(URL, min_size=1, max_size=1)")
    assert r.status == "ok", r.text
    r = k.run(cell)
    assert r.status == "error", r.text
    assert "Blocked by jupyter_guard" in r.text and "guard-error" not in r.text, r.text
    r = k.run("pool.terminate()\nif 'p2' in globals():\n    p2.terminate()\n    del p2")
    assert r.status == "ok", r.text
    _unchanged(db)


def test_asyncpg_pool_everyday_statements_run(k: Kernel, db: Db) -> None:
    r = k.run(f"pool = await asyncpg.create_pool({_url(db.server, db.name)!r}, min_size=1, "
              "max_size=2)\n"
              "print('n =', await pool.fetchval('SELECT count(*) FROM customers WHERE id <= $1',"
              " 10))\n"
              "await pool.execute('DELETE FROM orders WHERE id = $1', 1)\n"
              "async with pool.acquire() as c:\n"
              "    async with c.transaction():\n"
              "        await c.execute('UPDATE customers SET city = $1 WHERE id = 2', 'Oslo')\n"
              "        await c.execute('DELETE FROM orders WHERE id = 2')\n"
              "    print('rows', [r[0] for r in await c.fetch('SELECT id FROM orders "
              "ORDER BY id LIMIT 3')])\n"
              "await pool.executemany('DELETE FROM orders WHERE id = $1', [(3,), (4,)])\n"
              "await pool.close()")
    assert r.status == "ok", r.text
    assert "n = 10" in r.text and "rows [3, 4, 5]" in r.text, r.text
    assert db.count("orders") == 50_000 - 4
    assert db.query("SELECT city FROM customers WHERE id = 2") == [("Oslo",)]
    assert idle_in_transaction(db) == 0


def test_a_pool_made_before_the_guard_is_guarded(k: Kernel) -> None:
    r = k.run("await early.execute('DELETE FROM orders')")
    assert r.status == "error" and "Blocked by jupyter_guard" in r.text, r.text
    r = k.run("t = 'ord' + 'ers'\nasync with early.acquire() as c:\n"
              "    await c.execute('DELETE FROM ' + t + ' WHERE id > 0')")
    assert r.status == "error" and "Blocked by jupyter_guard" in r.text, r.text
    r = k.run("print('left', await early.fetchval('SELECT count(*) FROM orders'))")
    assert "left 50000" in r.text, r.text


SAVED_ROUTES = {
    "connection": "conn = await saved_connect(URL)",
    "pool": "pool = await asyncpg.create_pool(URL, connect=saved_connect, min_size=1, "
            "max_size=1)\nconn = await pool.acquire()",
    "pool-raw-connection": "pool = await asyncpg.create_pool(URL, connect=saved_connect, "
                           "min_size=1, max_size=1)\nconn = (await pool.acquire())._con",
    "wrapped-connect": "async def mine(*a, **kw):\n    return await saved_connect(*a, **kw)\n"
                       "pool = await asyncpg.create_pool(URL, connect=mine, min_size=1, "
                       "max_size=1)\nconn = await pool.acquire()",
}
_CLOSE = ("if 'pool' in globals():\n    pool.terminate()\n    del pool\n"
          "elif 'conn' in globals():\n    conn.terminate()\nif 'conn' in globals():\n"
          "    del conn")


_SAMPLE = ("delete", "runtime-sql", "do-execute", "truncate", "rename", "cursor-write")
SAVED_CASES = [pytest.param(p.values[0], route, id=f"{p.id}-{route}")
               for route in SAVED_ROUTES for p in ASYNCPG_ATTACKS
               if route == "connection" or p.id in _SAMPLE]   # every attack on the plain one


@pytest.mark.parametrize(("cell", "route"), SAVED_CASES)
def test_a_connect_saved_before_the_guard_makes_guarded_connections(
        k: Kernel, db: Db, cell: str, route: str) -> None:
    """``saved_connect`` is the driver's own ``asyncpg.connect``, taken before ``%load_ext``:
    a connection it opens, or a pool given it as ``connect=``, is judged all the same."""
    r = k.run(f"URL = {_url(db.server, db.name)!r}\n{SAVED_ROUTES[route]}\n"
              "print(type(conn).__name__)")
    assert r.status == "ok", r.text
    r = k.run(cell)
    assert r.status == "error", r.text
    assert "Blocked by jupyter_guard" in r.text and "guard-error" not in r.text, r.text
    assert k.run(_CLOSE).status == "ok"
    _unchanged(db)


@pytest.mark.parametrize("route", list(SAVED_ROUTES))
def test_a_connect_saved_before_the_guard_still_runs_everyday_statements(
        k: Kernel, db: Db, route: str) -> None:
    r = k.run(f"URL = {_url(db.server, db.name)!r}\n{SAVED_ROUTES[route]}\n"
              "print('n =', await conn.fetchval('SELECT count(*) FROM customers WHERE id <= $1',"
              " 10))\n"
              "await conn.execute('DELETE FROM orders WHERE id = $1', 1)\n"
              "async with conn.transaction():\n"
              "    await conn.execute('UPDATE customers SET city = $1 WHERE id = 2', 'Oslo')\n"
              "print('rows', [r[0] for r in await conn.fetch('SELECT id FROM orders "
              "ORDER BY id LIMIT 2')])\n"
              "st = await conn.prepare('SELECT name FROM customers WHERE id = $1')\n"
              "print('name', await st.fetchval(3))")
    assert r.status == "ok", r.text
    assert "n = 10" in r.text and "rows [2, 3]" in r.text and "name " in r.text, r.text
    assert k.run(_CLOSE).status == "ok"
    assert db.count("orders") == 50_000 - 1
    assert db.query("SELECT city FROM customers WHERE id = 2") == [("Oslo",)]
    assert idle_in_transaction(db) == 0


PSYCOPG_POOL_ATTACKS = [
    pytest.param("with pool.connection() as c:\n    c.execute('DELETE FROM orders WHERE id <= "
                 "%s', (30000,))", id="param-delete"),
    pytest.param("t = 'ord' + 'ers'\nwith pool.connection() as c:\n"
                 "    c.cursor().execute(f'TRUNCATE {t} CASCADE')", id="runtime-truncate"),
    pytest.param("with pool.connection() as c:\n    c.execute('WITH d AS (DELETE FROM orders "
                 "RETURNING *) SELECT count(*) FROM d')", id="writable-cte"),
    pytest.param("with pool.connection() as c:\n"
                 "    c.execute('SET session_replication_role = replica')", id="replica"),
    pytest.param(f"with pool.connection() as c:\n    c.execute(\"COPY customers TO '{FILE}'\")",
                 id="copy-to-file"),
]


@pytest.mark.parametrize("cell", PSYCOPG_POOL_ATTACKS)
def test_psycopg_pool_attack_refused(k: Kernel, db: Db, cell: str) -> None:
    r = k.run(f"from psycopg_pool import ConnectionPool\npool = ConnectionPool({db.dsn!r}, "
              "min_size=1, max_size=1, open=True)")
    assert r.status == "ok", r.text
    r = k.run(cell)
    assert r.status == "error", r.text
    assert "Blocked by jupyter_guard" in r.text and "guard-error" not in r.text, r.text
    assert k.run("pool.close()").status == "ok"
    _unchanged(db)


def test_psycopg_pool_everyday_statements_run(k: Kernel, db: Db) -> None:
    r = k.run(f"from psycopg_pool import ConnectionPool\npool = ConnectionPool({db.dsn!r}, "
              "min_size=1, max_size=1, open=True)\n"
              "with pool.connection() as c:\n"
              "    print('n =', c.execute('SELECT count(*) FROM customers WHERE id <= %s', "
              "(10,)).fetchone()[0])\n"
              "    c.execute('DELETE FROM orders WHERE id = %s', (1,))\n"
              "    c.execute('CREATE TEMP TABLE scratch AS SELECT 1 AS x')\n"
              "    c.execute('DROP TABLE scratch')\n"
              "pool.close()")
    assert r.status == "ok" and "n = 10" in r.text, r.text
    assert db.count("orders") == 50_000 - 1
    assert idle_in_transaction(db) == 0


PG8000 = {"dbapi": "import pg8000.dbapi\npc = pg8000.dbapi.connect({kw})\ncu = pc.cursor()",
          "legacy": "import pg8000\npc = pg8000.connect({kw})\ncu = pc.cursor()",
          "native": "import pg8000.native\npn = pg8000.native.Connection({kw})"}
PG8000_ATTACKS = [
    pytest.param("dbapi", "cu.execute('DELETE FROM orders WHERE id <= %s', (30000,))\npc.commit()",
                 id="dbapi-param-delete"),
    pytest.param("dbapi", "t = 'ord' + 'ers'\ncu.execute('DELETE FROM ' + t)\npc.commit()",
                 id="dbapi-runtime-sql"),
    pytest.param("dbapi", "cu.execute(\"DO $$ BEGIN EXECUTE 'DROP TABLE orders'; END $$\")\n"
                 "pc.commit()", id="dbapi-do-execute"),
    pytest.param("dbapi", "cu.executemany('DELETE FROM orders WHERE id = %s', "
                 "[(i,) for i in range(1, 3001)])\npc.commit()", id="dbapi-executemany"),
    pytest.param("legacy", "cu.execute('WITH d AS (DELETE FROM orders RETURNING *) "
                 "SELECT count(*) FROM d')\npc.commit()", id="legacy-writable-cte"),
    pytest.param("legacy", "pc.run('ALTER TABLE orders RENAME TO o2')\npc.commit()",
                 id="legacy-run-rename"),
    pytest.param("native", "pn.run('DELETE FROM orders WHERE id <= :n', n=30000)",
                 id="native-param-delete"),
    pytest.param("native", "t = 'ord' + 'ers'\npn.run(f'TRUNCATE {t} CASCADE')",
                 id="native-runtime-truncate"),
    pytest.param("native", "pn.run('SET session_replication_role = replica')", id="native-replica"),
    pytest.param("native", f"pn.run(\"COPY customers TO '{FILE}'\")", id="native-copy-file"),
    pytest.param("native", "st = pn.prepare('DELETE FROM orders WHERE id > :n')\nst.run(n=0)",
                 id="native-prepared"),
    pytest.param("native", "q = 'DELETE FROM ' + 'orders'\npn.execute_simple(q)",
                 id="native-core-method"),
    pytest.param("native", "pn.run('BEGIN')\npn.run('DELETE FROM orders WHERE id > :n', n=0)",
                 id="native-in-transaction"),
]


@pytest.mark.parametrize(("api", "cell"), PG8000_ATTACKS)
def test_pg8000_attack_refused(k: Kernel, db: Db, api: str, cell: str) -> None:
    kw = f"user='postgres', host='127.0.0.1', port={db.server.port}, database={db.name!r}"
    r = k.run(PG8000[api].format(kw=kw))
    assert r.status == "ok", r.text
    r = k.run(cell)
    assert r.status == "error", r.text
    assert "Blocked by jupyter_guard" in r.text and "guard-error" not in r.text, r.text
    r = k.run("pn.close()" if api == "native" else "pc.rollback()\npc.close()")
    assert r.status == "ok", r.text
    _unchanged(db)


def test_pg8000_everyday_statements_run(k: Kernel, db: Db) -> None:
    kw = f"user='postgres', host='127.0.0.1', port={db.server.port}, database={db.name!r}"
    r = k.run(PG8000["dbapi"].format(kw=kw) + "\n" + PG8000["native"].format(kw=kw) + "\n"
              "cu.execute('SELECT count(*) FROM customers WHERE id <= %s', (10,))\n"
              "print('n =', cu.fetchone()[0])\n"
              "cu.execute('DELETE FROM orders WHERE id = %s', (1,))\n"
              "cu.execute('UPDATE customers SET city = %s WHERE id = 2', ('Oslo',))\n"
              "pc.commit()\n"
              "print('names', pn.run('SELECT name FROM customers WHERE id = :i', i=3))\n"
              "pn.run('BEGIN')\npn.run('DELETE FROM orders WHERE id = :i', i=2)\n"
              "pn.run('ROLLBACK')\n"
              "pn.run('CREATE TEMP TABLE scratch AS SELECT 1 AS x')\npn.run('DROP TABLE scratch')\n"
              "pn.run(\"DO $$ BEGIN RAISE NOTICE 'hi'; END $$\")\n"
              "pc.close()\npn.close()")
    assert r.status == "ok", r.text
    assert "n = 10" in r.text and "names [['name 3']]" in r.text, r.text
    assert db.count("orders") == 50_000 - 1                        # 2 was rolled back
    assert db.query("SELECT city FROM customers WHERE id = 2") == [("Oslo",)]
    assert idle_in_transaction(db) == 0


def test_a_pooled_connection_kept_across_cells_is_judged_and_released(k: Kernel, db: Db) -> None:
    """The namespace sweep leaves asyncpg's pool proxy as it is (asyncpg's ``release`` takes
    only its own), and the proxy is still judged in later cells."""
    r = k.run(f"pool = await asyncpg.create_pool({_url(db.server, db.name)!r}, min_size=1, "
              "max_size=1)\nheld = await pool.acquire()")
    assert r.status == "ok", r.text
    r = k.run("print(type(held).__name__)\nq = 'DELETE FROM orders WHERE id > ' + str(0)\n"
              "await held.execute(q)")
    assert "PoolConnectionProxy" in r.text and "Blocked by jupyter_guard" in r.text, r.text
    r = k.run("print('one', await held.execute('DELETE FROM orders WHERE id = 1'))\n"
              "await pool.release(held)\nawait pool.close()")
    assert r.status == "ok" and "one DELETE 1" in r.text, r.text
    assert db.count("orders") == 50_000 - 1
    assert idle_in_transaction(db) == 0
