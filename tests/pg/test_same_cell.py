"""A connection made in the same cell as its statements, and a name rebound in that cell, in a
real kernel against a real PostgreSQL. The cell's text is judged before anything runs, when the
new connection does not exist yet: its SQL must reach the driver's run-time judge (in the
connection's own dialect, with its parameters bound and its rows measured), never be judged in
DuckDB's dialect or counted on whatever the name held before the cell."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel
from tests.pg.conftest import Db
from tests.pg.pgserver import PgServer
from tests.pg.test_magic import idle_in_transaction

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "pg-same-cell"
    d.mkdir()
    kernel = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb")})
    r = kernel.run("%load_ext jupyter_guard")
    assert r.status == "ok", r.text
    yield kernel
    kernel.stop()
    shutil.rmtree(d, ignore_errors=True)


def _fill(cell: str, pg: PgServer, db: str, op: str = "=") -> str:
    kw = f"user='postgres', host='127.0.0.1', port={pg.port}, database={db!r}"
    url = f"postgresql://postgres@127.0.0.1:{pg.port}/{db}"
    return (cell.replace("{KW}", kw).replace("{DSN}", repr(pg.dsn(db)))
            .replace("{URL}", repr(url)).replace("{OP}", op))


# Each cell opens its connection and runs a parameterised DELETE of ``id {OP} 1``.
ROUTES = [
    pytest.param("import pg8000.dbapi\npc = pg8000.dbapi.connect({KW})\ncu = pc.cursor()\n"
                 "cu.execute('DELETE FROM orders WHERE id {OP} %s', (1,))\npc.commit()\npc.close()",
                 id="pg8000-dbapi"),
    pytest.param("import pg8000\npc = pg8000.connect({KW})\ncu = pc.cursor()\n"
                 "cu.execute('DELETE FROM orders WHERE id {OP} %s', (1,))\npc.commit()\npc.close()",
                 id="pg8000-legacy"),
    pytest.param("import pg8000.dbapi as pgd\ncu = pgd.connect({KW}).cursor()\n"
                 "cu.execute('DELETE FROM orders WHERE id {OP} %s', (1,))\ncu.connection.commit()",
                 id="pg8000-alias-chain"),
    pytest.param("import pg8000.native\npn = pg8000.native.Connection({KW})\n"
                 "pn.run('DELETE FROM orders WHERE id {OP} :i', i=1)\n"
                 "pn.close()", id="pg8000-native"),
    pytest.param("import psycopg\ncon = psycopg.connect({DSN})\n"
                 "con.execute('DELETE FROM orders WHERE id {OP} %s', (1,))\ncon.commit()\n"
                 "con.close()", id="psycopg"),
    pytest.param("import psycopg\nwith psycopg.connect({DSN}) as con:\n"
                 "    with con.cursor() as cur:\n"
                 "        cur.execute('DELETE FROM orders WHERE id {OP} %(i)s', {'i': 1})", id="psycopg-with"),
    pytest.param("import psycopg2\ncon = psycopg2.connect({DSN})\ncur = con.cursor()\n"
                 "cur.execute('DELETE FROM orders WHERE id {OP} %s', (1,))\ncon.commit()\n"
                 "con.close()", id="psycopg2"),
    pytest.param("from psycopg_pool import ConnectionPool\npool = ConnectionPool({DSN}, "
                 "min_size=1, max_size=1, open=True)\nwith pool.connection() as c:\n"
                 "    c.execute('DELETE FROM orders WHERE id {OP} %s', (1,))\npool.close()",
                 id="psycopg-pool"),
    pytest.param("import asyncpg\ncon = await asyncpg.connect({URL})\n"
                 "await con.execute('DELETE FROM orders WHERE id {OP} $1', 1)\n"
                 "await con.close()", id="asyncpg"),
]


@pytest.fixture(autouse=True)
def _fresh_names(k: Kernel) -> None:
    """No name a test uses is left from an earlier test: each cell meets them new."""
    r = k.run("for _n in ('pc', 'pn', 'con', 'cu', 'cur', 'pgd', 'other', 'make', 'pool', 'c'):\n"
              "    globals().pop(_n, None)")
    assert r.status == "ok", r.text


@pytest.mark.parametrize("cell", ROUTES)
def test_a_one_row_delete_on_a_connection_made_in_the_cell_runs(k: Kernel, db: Db,
                                                                cell: str) -> None:
    r = k.run(_fill(cell, db.server, db.name, "="))
    assert r.status == "ok", r.text
    assert db.count("orders") == 50_000 - 1
    assert db.query("SELECT count(*) FROM orders WHERE id = 1") == [(0,)]
    assert idle_in_transaction(db) == 0


@pytest.mark.parametrize("cell", ROUTES)
def test_a_bulk_delete_on_a_connection_made_in_the_cell_is_refused(k: Kernel, db: Db,
                                                                   cell: str) -> None:
    r = k.run(_fill(cell, db.server, db.name, ">="))
    assert r.status == "error", r.text
    assert "Blocked by jupyter_guard [bulk-change]" in r.text, r.text
    k.run("for _c in ('pc', 'pn', 'con', 'cu.connection', 'pool'):\n    try:\n        eval(_c).close()\n"
          "    except Exception:\n        pass")
    db.intact()
    assert idle_in_transaction(db) == 0


def test_rows_are_counted_on_the_new_connection_not_what_the_name_held(k: Kernel,
                                                                       db: Db) -> None:
    """``con`` held a DuckDB connection whose ``orders`` has 5,000 rows with id 1; the cell
    rebinds it to PostgreSQL, where ``id = 1`` is one row."""
    r = k.run("import duckdb\ncon = duckdb.connect()\n"
              "con.execute('CREATE TABLE orders AS SELECT 1 AS id FROM range(5000)')")
    assert r.status == "ok", r.text
    r = k.run(_fill("import psycopg\ncon = psycopg.connect({DSN}, autocommit=True)\n"
                    "print(con.execute('DELETE FROM orders WHERE id = 1').rowcount)\n"
                    "con.close()", db.server, db.name))
    assert r.status == "ok", r.text
    assert r.text.strip().endswith("1"), r.text
    assert db.count("orders") == 50_000 - 1


@pytest.mark.parametrize("rebind", [
    pytest.param("con = psycopg.connect({DSN}, autocommit=True)", id="assign"),
    pytest.param("con, other = psycopg.connect({DSN}, autocommit=True), 1", id="tuple"),
    pytest.param("def make():\n    return psycopg.connect({DSN}, autocommit=True)\n"
                 "con = make()", id="factory"),
])
def test_a_bulk_delete_counted_as_none_on_the_old_object_is_refused(k: Kernel, db: Db,
                                                                     rebind: str) -> None:
    """The old DuckDB ``orders`` has one row, and ``id > 1`` matches none of it: the new
    connection's 49,999 rows are what the guard must count."""
    r = k.run("import duckdb, psycopg\ncon = duckdb.connect()\n"
              "con.execute('CREATE TABLE orders AS SELECT 1 AS id')")
    assert r.status == "ok", r.text
    r = k.run(_fill(rebind + "\ncon.execute('DELETE FROM orders WHERE id > 1')", db.server,
                    db.name))
    assert r.status == "error" and "Blocked by jupyter_guard" in r.text, r.text
    k.run("con.close()")
    db.intact()
    assert idle_in_transaction(db) == 0
