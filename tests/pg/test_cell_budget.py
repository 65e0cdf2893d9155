"""``max_affected_rows`` is a cell's budget per table on PostgreSQL whatever runs the statements:
``%%guarded_sql`` (run twice or in a loop from one Python cell), asyncpg (a loop of one-row
deletes, tasks on several connections) and psycopg, counted together. In a real kernel on a
real PostgreSQL (a fresh database each): every attack ends the cell in error naming the cell's
count, with at most ``max_affected_rows`` (1000) rows of ``orders`` gone; the everyday twins
run with exact counts, and the next cell has a budget of its own."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel
from tests.pg.conftest import Db
from tests.pg.test_magic import idle_in_transaction

pytestmark = pytest.mark.kernel

SETUP = ("import asyncio, asyncpg, psycopg\nip = get_ipython()\n"
         "ac = await asyncpg.connect(PGURL)\ncon = psycopg.connect(DSN)\ncur = con.cursor()")
CLOSE = "await ac.close()\ncon.rollback()\ncon.close()"

ATTACKS = [
    pytest.param("ip.run_cell_magic('guarded_sql', URL, 'DELETE FROM orders WHERE id <= 900')\n"
                 "ip.run_cell_magic('guarded_sql', URL, "
                 "'DELETE FROM orders WHERE id > 900 AND id <= 1800')", id="magic-twice"),
    pytest.param("for i in range(1, 1201):\n"
                 "    ip.run_cell_magic('guarded_sql', URL, "
                 "f'DELETE FROM orders WHERE id = {i}')", id="magic-loop"),
    pytest.param("cur.execute('DELETE FROM orders WHERE id <= 900'); con.commit()\n"
                 "ip.run_cell_magic('guarded_sql', URL, "
                 "'DELETE FROM orders WHERE id > 900 AND id <= 1800')", id="psycopg-then-magic"),
    pytest.param("for i in range(1, 1201):\n"
                 "    await ac.execute('DELETE FROM orders WHERE id = $1', i)",
                 id="asyncpg-loop"),
    pytest.param("await ac.execute('UPDATE orders SET amount = amount + 1 WHERE id <= 900')\n"
                 "await ac.execute('UPDATE orders SET amount = amount + 1 "
                 "WHERE id > 900 AND id <= 1800')", id="asyncpg-updates"),
    pytest.param("await ac.execute('DELETE FROM orders WHERE id <= 900')\n"
                 "cur.execute('DELETE FROM orders WHERE id > 900 AND id <= 1800'); con.commit()",
                 id="asyncpg-then-psycopg"),
    pytest.param("cs = [await asyncpg.connect(PGURL) for _ in range(5)]\n"
                 "async def rm(c, lo):\n"
                 "    await c.execute(f'DELETE FROM orders WHERE id > {lo} AND id <= {lo + 300}')\n"
                 "try:\n"
                 "    await asyncio.gather(*(rm(c, n * 300) for n, c in enumerate(cs)))\n"
                 "finally:\n"
                 "    [await c.close() for c in cs]", id="asyncpg-tasks"),
]


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "pg-cell-budget"
    d.mkdir()
    kernel = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb"),
                        "JUPYTER_GUARD_POLICY": None})
    try:
        r = kernel.run("%load_ext jupyter_guard")
        assert r.status == "ok", r.text
        yield kernel
    finally:
        kernel.stop()


def _open(k: Kernel, db: Db) -> None:
    url = f"postgresql://postgres@127.0.0.1:{db.server.port}/{db.name}"
    r = k.run(f"URL = {db.url!r}\nPGURL = {url!r}\nDSN = {db.dsn!r}\n" + SETUP)
    assert r.status == "ok", r.text


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@pytest.mark.parametrize("cell", ATTACKS)
def test_rows_count_per_cell_across_routes(k: Kernel, db: Db, cell: str) -> None:
    _open(k, db)
    r = k.run(cell, timeout=300)
    text = _plain(r.everything())
    assert r.status == "error", text[-600:]
    assert "[bulk-change]" in text and "in this cell" in text, text[-600:]
    assert k.run(CLOSE).status == "ok"
    assert db.count("orders") >= 49_000
    assert db.count("customers") == 10_000
    assert idle_in_transaction(db) == 0


def test_everyday_cells_within_the_budget_run(k: Kernel, db: Db) -> None:
    _open(k, db)
    r = k.run("for i in range(1, 11):\n"
              "    await ac.execute('DELETE FROM orders WHERE id = $1', i)\n"
              "for i in range(11, 21):\n"
              "    ip.run_cell_magic('guarded_sql', URL, f'DELETE FROM orders WHERE id = {i}')\n"
              "ip.run_cell_magic('guarded_sql', URL, "
              "'DELETE FROM orders WHERE id > 100 AND id <= 500')\n"
              "await ac.execute('UPDATE orders SET amount = 0 WHERE id > 500 AND id <= 900')\n"
              "print('left', await ac.fetchval('SELECT count(*) FROM orders'))")
    assert r.status == "ok", _plain(r.everything())[-600:]
    assert "left 49580" in r.text, r.text
    # the next cell has its own budget: 900 more rows run there
    r = k.run("ip.run_cell_magic('guarded_sql', URL, "
              "'DELETE FROM orders WHERE id > 1000 AND id <= 1900')")
    assert r.status == "ok", _plain(r.everything())[-600:]
    r = k.run("print('del', await ac.execute('DELETE FROM orders WHERE id > 2000 AND id <= 2900'))")
    assert r.status == "ok" and "del DELETE 900" in r.text, _plain(r.everything())[-600:]
    assert k.run(CLOSE).status == "ok"
    assert db.count("orders") == 50_000 - 20 - 400 - 900 - 900
    assert idle_in_transaction(db) == 0
