"""The driver's object behind a guarded PostgreSQL connection, in a real kernel.

pyodbc's connection and cursor are C objects the guard wraps at ``connect()`` only: a raw one
runs what it is given, unjudged. A cell reached it through the proxy (a bound method's
``__self__``, a cursor's ``connection``, ``_jg_con``, the judge's ``raw``), and psycopg's judge
table was a module-level weak table a cell could fill. Names are built at run time (rot13), so
that only the run-time layer sees what the cell does.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel
from tests.pg.conftest import Db
from tests.pg.pgserver import PgServer
from tests.pg.test_odbc import odbc_dsn

pytestmark = pytest.mark.kernel

SETUP = ("import codecs, sys, pyodbc, psycopg\nR = lambda s: codecs.decode(s, 'rot13')\n"
         "%load_ext jupyter_guard")
DELETE = "raw.execute('DELETE FROM orders WHERE id <= 30000')\n"


@pytest.fixture(scope="module")
def k(pg: PgServer, work_root: Path) -> Iterator[Kernel]:
    d = work_root / "pg-seal23e"
    d.mkdir()
    kernel = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb")})
    r = kernel.run(SETUP)
    assert r.status == "ok", r.text
    yield kernel
    kernel.stop()


ODBC = [
    pytest.param("raw = con.getinfo.__self__\n", id="connection-bound-self"),
    pytest.param("raw = con.cursor().skip.__self__\n", id="cursor-bound-self"),
    pytest.param("raw = con.cursor().connection\n", id="cursor-connection"),
    pytest.param("raw = getattr(con, R('_wt_pba'))\n", id="read-connection"),
    pytest.param("raw = getattr(con, R('_wt_purpx')).raw\n", id="judge-raw"),
    pytest.param("raw = type(con)(con.cursor().connection, None)\n", id="own-proxy"),
]


@pytest.mark.parametrize("reach", ODBC)
def test_a_raw_pyodbc_connection_deletes_nothing(k: Kernel, db: Db, reach: str) -> None:
    """Before: each reach but the last (which took its connection from the cursor) handed out
    the raw pyodbc object and the DELETE of 30,000 rows ran unjudged."""
    r = k.run(f"con = pyodbc.connect({odbc_dsn(db)!r}, autocommit=True)\n" + reach + DELETE)
    text = r.text
    k.run("con.close()")
    assert r.status == "error", text   # refused, or no raw object to run it on
    db.intact()


def test_pyodbc_through_the_proxy_still_works(k: Kernel, db: Db) -> None:
    r = k.run(f"con = pyodbc.connect({odbc_dsn(db)!r}, autocommit=True)\ncur = con.cursor()\n"
              "cur.execute('DELETE FROM orders WHERE id = 1')\n"
              "c2 = cur.connection\nn = c2.cursor().execute('SELECT count(*) FROM orders').fetchval()\n"
              "print('n', n, isinstance(c2, pyodbc.Connection), con.getinfo(pyodbc.SQL_DBMS_NAME))\n"
              "con.close()")
    assert r.status == "ok", r.text
    assert "n 49999 True PostgreSQL" in r.text, r.text
    assert db.count("orders") == 49_999


FILL = ("m = sys.modules[R('whclgre_thneq.pbaarpgvbaf.qoncv_cflpbct')]\n"
        "j = sys.modules[R('whclgre_thneq.pbaarpgvbaf.qoncv')]\n"
        "class Lenient:\n"
        "    def __call__(s, query, params, call, **kw):\n"
        "        with getattr(j, R('whqtrq_ba'))(raw):\n            return call()\n"
        "raw = psycopg.connect({dsn!r}, autocommit=True)\n"
        "try:\n    getattr(m, R('_FLAP'))[raw] = Lenient()\n    print('tamper set')\n"
        "except Exception as e:\n    print('tamper failed:', type(e).__name__)\n")


def test_a_filled_psycopg_judge_table_deletes_nothing(k: Kernel, db: Db) -> None:
    """A raw psycopg connection's cursors are judged by the connection's ``Checker``, looked
    up in a table a cell could fill with a judge that judges nothing."""
    r = k.run(FILL.format(dsn=db.dsn) + DELETE)
    text = r.text
    k.run("raw.close()")
    assert "tamper set" not in text, text
    assert r.status == "error" and "Blocked by jupyter_guard" in text, text
    db.intact()


def test_psycopg_raw_connections_still_run(k: Kernel, db: Db) -> None:
    r = k.run(f"raw = psycopg.connect({db.dsn!r}, autocommit=True)\n"
              "raw.execute('DELETE FROM orders WHERE id = 2')\n"
              "print('n', raw.execute('SELECT count(*) FROM orders').fetchone()[0])\nraw.close()")
    assert r.status == "ok" and "n 49999" in r.text, r.text
