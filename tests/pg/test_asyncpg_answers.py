"""asyncpg decides with the facts psycopg's decision reads (``dbapi_asyncpg_answers``), in a real
kernel on a real server, outside and inside the user's own transaction: a DELETE is counted
before it runs (also on a postgres_fdw foreign table, whose rows no effect check measures), a
predicate on a whole row is every column of its table (``inference``), and a table made from a
sensitive column keeps its taint when read back. The benign twins run with correct results."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel
from tests.pg.conftest import Db
from tests.pg.pgserver import PgServer
from tests.pg.redpg16b_corpus import FDW, SSN

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(pg: PgServer, work_root: Path) -> Iterator[Kernel]:
    d = work_root / "pg-asyncpg-answers"
    d.mkdir()
    kernel = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb"),
                        "JUPYTER_GUARD_POLICY": None})
    r = kernel.run("%load_ext jupyter_guard\nimport asyncpg")
    assert r.status == "ok", r.text
    yield kernel
    kernel.stop()
    shutil.rmtree(d, ignore_errors=True)


def _connect(k: Kernel, db: Db, in_transaction: bool) -> None:
    r = k.run(f"conn = await asyncpg.connect('postgresql://postgres@127.0.0.1:{db.server.port}/"
              f"{db.name}')\ntr = conn.transaction()\n" +
              ("await tr.start()\n" if in_transaction else "") + "print(type(conn).__name__)")
    assert "GuardedAsyncpg" in r.text, r.text


def _end(k: Kernel, in_transaction: bool) -> None:
    r = k.run(("await tr.commit()\n" if in_transaction else "") + "await conn.close()")
    assert r.status == "ok", r.text


@pytest.mark.parametrize("in_transaction", [False, True], ids=["autocommit", "transaction"])
def test_delete_counted_before_it_runs(k: Kernel, db: Db, in_transaction: bool) -> None:
    """A DELETE of 49,990 rows is refused by its bounded count (no rows touched); one of three
    rows runs, and the user's transaction stays usable after the guard's reads."""
    db.query(FDW.format(port=db.server.port, db=db.name))
    _connect(k, db, in_transaction)
    for table in ("orders", "remote.orders"):
        r = k.run(f"await conn.execute('DELETE FROM {table} WHERE id > 10')")
        assert r.status == "error" and "Blocked by jupyter_guard" in r.text, r.text
        assert "1000" in r.text and "guard-error" not in r.text, r.text
    r = k.run("print(await conn.execute('DELETE FROM orders WHERE id <= 3'))\n"
              "print('left', await conn.fetchval('SELECT count(*) FROM orders'))")
    assert r.status == "ok" and "DELETE 3" in r.text and "left 49997" in r.text, r.text
    _end(k, in_transaction)
    assert db.count("orders") == 49_997


def test_whole_row_predicates(k: Kernel, db: Db) -> None:
    """A whole row of ``customers`` compared with a constant compares its SSN: refused; the same
    on ``orders`` (no sensitive column) runs and counts right."""
    _connect(k, db, False)
    for sql in ("SELECT count(*) FROM customers c WHERE c::text LIKE '%100000005%'",
                "SELECT count(*) FROM customers c WHERE to_jsonb(c) @> '{\"ssn\": \"100000005\"}'"):
        r = k.run(f"print(await conn.fetch({sql!r}))")
        assert r.status == "error" and "inference" in r.text, r.text
    sql = "SELECT count(*) FROM orders o WHERE o::text LIKE '(1%'"
    want = db.query(sql)[0][0]
    r = k.run(f"print('n', await conn.fetchval({sql!r}))")
    assert r.status == "ok" and f"n {want}" in r.text, r.text
    _end(k, False)


def test_table_made_from_a_sensitive_column(k: Kernel, db: Db) -> None:
    """``CREATE TABLE … AS SELECT ssn`` read back shows no raw SSN; a table made from ``city``
    reads back as it is."""
    _connect(k, db, False)
    r = k.run("await conn.execute('CREATE TABLE leak AS SELECT ssn AS v, city FROM customers')\n"
              "print(await conn.fetch('SELECT v, city FROM leak ORDER BY v LIMIT 3'))")
    assert not SSN.search(r.text), r.text
    assert r.status == "error" or "\u2588" in r.text, r.text
    r = k.run("await conn.execute('CREATE TABLE towns AS SELECT city AS v FROM customers')\n"
              "print(await conn.fetch('SELECT v FROM towns WHERE v = $1 LIMIT 1', 'Lyon'))")
    assert r.status == "ok" and "v='Lyon'" in r.text, r.text
    _end(k, False)
