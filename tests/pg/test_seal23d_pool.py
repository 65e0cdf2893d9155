"""asyncpg pools' table of guarded views (a pooled connection -> the view its pool proxy's calls
go through) was a module-level dict a cell could fill in place, with no audit event: a raw
connection set as its own view. It is held in a sealed weak table now, filled only by the
guard's code. Names are built at run time (rot13), so that only the run-time layer sees it."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel
from tests.pg.conftest import Db
from tests.pg.pgserver import PgServer
from tests.pg.test_magic import idle_in_transaction

pytestmark = pytest.mark.kernel

FILL = ("import codecs, sys\nR = lambda s: codecs.decode(s, 'rot13')\n"
        "m = sys.modules[R('whclgre_thneq.pbaarpgvbaf.qoncv_nflapct_cbby')]\n"
        "raw = getattr(c, R('_pba'))\n"
        "try:\n    getattr(m, R('_THNEQRQ'))[raw] = raw\n    print('tamper set')\n"
        "except Exception as e:\n    print('tamper failed:', type(e).__name__)\n")


@pytest.fixture(scope="module")
def k(pg: PgServer, work_root: Path) -> Iterator[Kernel]:
    d = work_root / "pg-seal23d"
    d.mkdir()
    kernel = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb")})
    r = kernel.run("import asyncpg\n%load_ext jupyter_guard")
    assert r.status == "ok", r.text
    yield kernel
    kernel.stop()


def _url(db: Db) -> str:
    return f"postgresql://postgres@127.0.0.1:{db.server.port}/{db.name}"


def test_a_filled_view_table_does_not_let_a_delete_through(k: Kernel, db: Db) -> None:
    r = k.run(f"pool = await asyncpg.create_pool({_url(db)!r}, min_size=1, max_size=1)\n"
              "c = await pool.acquire()\n" + FILL +
              "await c.execute('DELETE FROM orders WHERE id <= 30000')")
    text = r.text
    k.run("await pool.release(c)\npool.terminate()")
    assert "tamper set" not in text, text
    assert "Blocked by jupyter_guard" in text, text
    db.intact()
    assert idle_in_transaction(db) == 0


def test_pooled_statements_still_run(k: Kernel, db: Db) -> None:
    r = k.run(f"pool = await asyncpg.create_pool({_url(db)!r}, min_size=1, max_size=1)\n"
              "async with pool.acquire() as c:\n"
              "    await c.execute('DELETE FROM orders WHERE id = $1', 1)\n"
              "    print('n', await c.fetchval('SELECT count(*) FROM orders'))\n"
              "print('m', await pool.fetchval('SELECT count(*) FROM customers WHERE id <= 5'))\n"
              "await pool.close()")
    assert r.status == "ok", r.text
    assert "n 49999" in r.text and "m 5" in r.text, r.text
    assert db.count("orders") == 50_000 - 1
