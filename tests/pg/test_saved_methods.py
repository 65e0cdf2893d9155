"""Driver methods taken from their class, before ``%load_ext`` (kept in a variable) or after
(``psycopg.Cursor.execute(cur, sql)``), in a real kernel against a real PostgreSQL: the attacks
of issue 16 are refused with the data unchanged, and the same methods still run everyday
statements with correct results. A method applied to an object that merely forwards to a
connection is refused."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel
from tests.pg.conftest import Db, saved_before_load
from tests.pg.pgserver import PgServer
from tests.pg.test_magic import idle_in_transaction

pytestmark = pytest.mark.kernel

SAVED = ("import psycopg, asyncpg\n"
         "cur_execute, cur_many = psycopg.Cursor.execute, psycopg.Cursor.executemany\n"
         "con_execute = psycopg.Connection.execute\n"
         "acur_execute = psycopg.AsyncCursor.execute\n"
         "cur_stream, cur_copy = psycopg.Cursor.stream, psycopg.Cursor.copy\n"
         "acur_stream, acur_copy = psycopg.AsyncCursor.stream, psycopg.AsyncCursor.copy\n"
         "import types\nbody_copy = types.FunctionType(psycopg.Cursor.execute.__code__, "
         "psycopg.Cursor.execute.__globals__)\n"
         "a_execute, a_fetch = asyncpg.Connection.execute, asyncpg.connection.Connection.fetch\n"
         "a_fetchval, a_many = asyncpg.Connection.fetchval, asyncpg.Connection.executemany\n"
         "saved_connect = asyncpg.connect")


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    with saved_before_load(work_root, "pg-saved-methods", SAVED) as kernel:
        yield kernel


def _open(pg: PgServer, db: str) -> str:
    url = f"postgresql://postgres@127.0.0.1:{pg.port}/{db}"
    return (f"con = psycopg.connect({pg.dsn(db)!r})\ncur = con.cursor()\n"
            f"acon = await psycopg.AsyncConnection.connect({pg.dsn(db)!r}, autocommit=True)\n"
            f"acur = acon.cursor()\nac = await asyncpg.connect({url!r})\n"
            f"raw_ac = await saved_connect({url!r})")


_CLOSE = ("con.rollback()\ncon.close()\nawait acon.close()\nawait ac.close()\n"
          "await raw_ac.close()")

ATTACKS = [
    pytest.param("cur_execute(cur, 'DELETE FROM orders WHERE id > 20000')\ncon.commit()",
                 id="psycopg-saved-cursor-execute"),
    pytest.param("cur_many(cur, 'DELETE FROM orders WHERE id > %s', [(20000,)])\ncon.commit()",
                 id="psycopg-saved-executemany"),
    pytest.param("con_execute(con, 'WITH d AS (DELETE FROM orders RETURNING *) "
                 "SELECT count(*) FROM d')\ncon.commit()", id="psycopg-saved-connection-cte"),
    pytest.param("psycopg.Cursor.execute(cur, 'DELETE FROM orders')\ncon.commit()",
                 id="psycopg-class-method-after-load"),
    pytest.param("await acur_execute(acur, 'DELETE FROM orders WHERE id > 20000')",
                 id="psycopg-saved-async-cursor"),
    pytest.param("list(cur_stream(cur, 'DELETE FROM orders WHERE id > 20000 RETURNING id'))\n"
                 "con.commit()", id="psycopg-saved-stream"),
    pytest.param("list(cur_stream(cur.connection.cursor(), 'WITH d AS (DELETE FROM orders "
                 "RETURNING 1) SELECT 1 FROM d'))\ncon.commit()", id="psycopg-saved-stream-raw"),
    pytest.param("with cur_copy(cur.connection.cursor(), 'COPY (DELETE FROM orders RETURNING id) "
                 "TO STDOUT') as cp:\n    n = sum(1 for _ in cp.rows())\ncon.commit()",
                 id="psycopg-saved-copy-raw"),
    # a copy of psycopg's own code made before load: libpq below it refuses the SQL
    pytest.param("body_copy(cur.connection.cursor(), 'DELETE FROM orders', None, prepare=None, "
                 "binary=None)\ncon.commit()",
                 id="psycopg-code-copied-before-load"),
    pytest.param("async for r in acur_stream(acur, 'DELETE FROM orders WHERE id > 20000 "
                 "RETURNING id'):\n    pass", id="psycopg-saved-async-stream"),
    pytest.param("async with acur_copy(acur.connection.cursor(), 'COPY (DELETE FROM orders "
                 "RETURNING id) TO STDOUT') as cp:\n    n = [r async for r in cp.rows()]",
                 id="psycopg-saved-async-copy-raw"),
    pytest.param("await a_execute(ac, 'DELETE FROM orders WHERE id > 20000')",
                 id="asyncpg-saved-execute"),
    pytest.param("await a_fetch(ac, 'DELETE FROM orders WHERE id > 0 RETURNING id')",
                 id="asyncpg-saved-fetch"),
    pytest.param("await a_fetchval(ac, 'WITH d AS (DELETE FROM orders RETURNING *) "
                 "SELECT count(*) FROM d')", id="asyncpg-saved-fetchval-cte"),
    pytest.param("await a_many(ac, 'DELETE FROM orders WHERE id > $1', [(20000,)])",
                 id="asyncpg-saved-executemany"),
    pytest.param("await a_execute(raw_ac, 'DELETE FROM orders')",
                 id="asyncpg-saved-method-on-saved-connect"),
    pytest.param("await asyncpg.Connection.execute(ac, 'DELETE FROM orders')",
                 id="asyncpg-class-method-after-load"),
    pytest.param("class Fwd:\n    def __init__(s, c):\n        s._c = c\n"
                 "    def __getattr__(s, n):\n        return getattr(s._c, n)\n"
                 "await a_execute(Fwd(raw_ac), 'DELETE FROM orders')", id="asyncpg-forwarder"),
    pytest.param("class Fwd:\n    def __init__(s, c):\n        s._c = c\n"
                 "    def __getattr__(s, n):\n        return getattr(s._c, n)\n"
                 "cur_execute(Fwd(cur), 'DELETE FROM orders')\ncon.commit()",
                 id="psycopg-forwarder"),
]


@pytest.mark.parametrize("cell", ATTACKS)
def test_a_method_taken_from_the_class_is_judged(k: Kernel, db: Db, cell: str) -> None:
    r = k.run(_open(db.server, db.name))
    assert r.status == "ok", r.text
    r = k.run(cell)
    assert r.status == "error", r.text
    assert "Blocked by jupyter_guard" in r.text and "guard-error" not in r.text, r.text
    r = k.run(_CLOSE)
    assert r.status == "ok", r.text
    db.intact()
    assert idle_in_transaction(db) == 0


def test_methods_taken_from_the_class_still_run_everyday_statements(k: Kernel, db: Db) -> None:
    r = k.run(_open(db.server, db.name))
    assert r.status == "ok", r.text
    r = k.run("cur_execute(cur, 'DELETE FROM orders WHERE id = %s', (1,))\n"
              "print('psycopg', cur.rowcount)\n"
              "print('read', con_execute(con, 'SELECT count(*) FROM customers').fetchone()[0])\n"
              "con.commit()\n"
              "await acur_execute(acur, 'DELETE FROM orders WHERE id = 2')\n"
              "print('async', acur.rowcount)\n"
              "print('asyncpg', await a_execute(ac, 'DELETE FROM orders WHERE id = $1', 3))\n"
              "print('saved', await a_execute(raw_ac, 'DELETE FROM orders WHERE id = 4'))\n"
              "print('val', await a_fetchval(ac, 'SELECT count(*) FROM orders'))\n"
              "print('rows', [r['id'] for r in await a_fetch(ac, "
              "'SELECT id FROM orders WHERE id <= 6 ORDER BY id')])")
    assert r.status == "ok", r.text
    for line in ("psycopg 1", "read 10000", "async 1", "asyncpg DELETE 1", "saved DELETE 1",
                 "val 49996", "rows [5, 6]"):
        assert line in r.text, r.text
    r = k.run(_CLOSE)
    assert r.status == "ok", r.text
    assert db.count("orders") == 50_000 - 4
    assert idle_in_transaction(db) == 0


def test_saved_stream_and_copy_still_run_everyday_statements(k: Kernel, db: Db) -> None:
    """``stream`` and ``copy`` taken from the class before ``%load_ext`` (a generator and a
    context manager) read with correct results, on the guarded cursor and on the raw one."""
    r = k.run(_open(db.server, db.name))
    assert r.status == "ok", r.text
    r = k.run("print('stream', sum(1 for _ in cur_stream(cur, "
              "'SELECT id FROM orders WHERE id <= 10')))\n"
              "raw = cur.connection.cursor()\n"
              "print('raw', [r[0] for r in cur_stream(raw, 'SELECT id FROM orders WHERE id <= 3 "
              "ORDER BY id')])\n"
              "with cur_copy(raw, 'COPY (SELECT id FROM orders WHERE id <= 5) TO STDOUT') as cp:\n"
              "    print('copy', sum(1 for _ in cp.rows()))\n"
              "cur.execute('DELETE FROM orders WHERE id = %s', (1,))\ncon.commit()\n"
              "print('astream', len([r async for r in acur_stream(acur, "
              "'SELECT id FROM orders WHERE id <= 7')]))\n"
              "async with acur_copy(acur, 'COPY (SELECT id FROM orders WHERE id <= 4) TO STDOUT')"
              " as cp:\n    print('acopy', len([r async for r in cp.rows()]))")
    assert r.status == "ok", r.text
    for line in ("stream 10", "raw [1, 2, 3]", "copy 5", "astream 6", "acopy 3"):
        assert line in r.text, r.text
    r = k.run(_CLOSE)
    assert r.status == "ok", r.text
    assert db.count("orders") == 50_000 - 1
    assert idle_in_transaction(db) == 0


@pytest.mark.parametrize("swap", [
    pytest.param("asyncpg.Connection.execute.__code__ = (lambda self, *a, **k: None).__code__",
                 id="code"),
    pytest.param("import types\nsetattr(a_execute, '__code__', types.FunctionType("
                 "(lambda: 0).__code__, {}).__code__)", id="setattr-code"),
])
def test_the_routed_code_cannot_be_swapped(k: Kernel, db: Db, swap: str) -> None:
    """The cell that swaps a routed method's code is refused as tampering, and the saved method
    is still judged in the next cell."""
    r = k.run(swap)
    assert r.status == "error" and "self-protection" in r.text, r.text
    r = k.run(_open(db.server, db.name))
    assert r.status == "ok", r.text
    r = k.run("await a_execute(ac, 'DELETE FROM orders')")
    assert r.status == "error" and "Blocked by jupyter_guard" in r.text, r.text
    r = k.run(_CLOSE)
    assert r.status == "ok", r.text
    db.intact()


def test_a_routed_method_replaced_on_its_class_is_put_back(k: Kernel, db: Db) -> None:
    """Setting a class attribute raises no audit event: the routed method is put back before
    the next cell, which is judged."""
    r = k.run("import asyncpg.connection as m\nkept = m.Connection.fetch\n"
              "m.Connection.fetch = lambda self, *a, **k: None")
    r = k.run(_open(db.server, db.name) + "\nprint(m.Connection.fetch is kept)\n"
              "await m.Connection.fetch(ac, 'DELETE FROM orders WHERE id > 0 RETURNING id')")
    assert r.status == "error" and "True" in r.text and "Blocked by jupyter_guard" in r.text, \
        r.text
    r = k.run(_CLOSE)
    assert r.status == "ok", r.text
    db.intact()


PG2_SPELLINGS = [
    pytest.param("psycopg2.extensions.cursor.execute(k2, 'DELETE FROM orders WHERE id > 20000')",
                 id="extensions-cursor"),
    pytest.param("from psycopg2.extensions import cursor as C\nC.execute(k2, 'DELETE FROM orders')",
                 id="imported-class"),
    pytest.param("f = psycopg2.extras.DictCursor.execute\nf(k2, 'DELETE FROM orders WHERE id > 0')",
                 id="extras-saved-in-cell"),
    pytest.param("psycopg2.extensions.connection.cursor(c2, cursor_factory=psycopg2.extensions"
                 ".cursor).execute('DELETE FROM orders')", id="plain-cursor-from-class"),
]


@pytest.mark.parametrize("cell", PG2_SPELLINGS)
def test_psycopg2_methods_taken_from_the_class_are_refused(k: Kernel, db: Db, cell: str) -> None:
    """psycopg2's methods are C code the guard cannot route: spelled from the class in the cell,
    the cell is refused before it runs; the bound method on the cursor still runs."""
    r = k.run(f"import psycopg2, psycopg2.extensions, psycopg2.extras\n"
              f"c2 = psycopg2.connect({db.server.dsn(db.name)!r})\nk2 = c2.cursor()")
    assert r.status == "ok", r.text
    r = k.run(cell + "\nc2.commit()")
    assert r.status == "error" and "Blocked by jupyter_guard [self-protection]" in r.text, r.text
    r = k.run("k2.execute('DELETE FROM orders WHERE id = %s', (1,))\nc2.commit()\n"
              "print('one', k2.rowcount)\nc2.close()")
    assert r.status == "ok" and "one 1" in r.text, r.text
    assert db.count("orders") == 50_000 - 1
    assert idle_in_transaction(db) == 0
