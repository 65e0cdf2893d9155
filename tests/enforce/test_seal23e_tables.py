"""The driver's object behind a guard proxy, proxies a cell builds with its own judge, and the
guard's module-level deciding tables a cell could change in place (no audit event).

A DuckDB proxy handed out the connection's bound methods, whose ``__self__`` is the raw
connection: a ``DROP TABLE`` on it ran unjudged. A DB-API proxy's ``_jg_con``/``_jg_check``
(and the judge's ``raw``) were readable. A proxy class called by a cell took any judge. The
judge tables of psycopg, pg8000 and apsw, psycopg2's trusted callers and pyodbc's open blocks
were module-level containers. Names are built at run time (rot13), so that only the run-time
layer sees what the cell does.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.enforce.test_busy_token import ROWS, _settle, busy_kernel
from tests.kernelutil import Kernel

SETUP = ("import sqlite3, duckdb\n"
         "class Lenient:\n    dialect = 'sqlite'\n    def __init__(s, c=None):\n        s.c = c\n"
         "    def __call__(s, query, params, call, **k):\n        return call()\n")


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    with busy_kernel(work_root, SETUP) as kernel:
        yield kernel


def _rows(k: Kernel) -> str:
    return k.ok("print('rows', con.execute('SELECT count(*) FROM customers').fetchall()[0][0])"
                ).stream


RAW_DUCK = [
    # a bound method of the connection carries it in ``__self__``
    pytest.param("raw = c2.fetchall.__self__\n", id="bound-self"),
    pytest.param("raw = getattr(c2.close, R('__frys__'))\n", id="bound-self-getattr"),
    pytest.param("raw = getattr(c2, R('_wt_pba'))\n", id="read-connection"),
    # a proxy built by the cell around the guarded one, with a guard that judges nothing
    pytest.param("raw = type(c2)(c2, Lenient())\n", id="own-proxy"),
]


@pytest.mark.parametrize("tamper", RAW_DUCK)
def test_the_duckdb_connection_behind_a_proxy_drops_nothing(k: Kernel, tamper: str) -> None:
    """Before: ``c2.fetchall.__self__.execute('DROP TABLE customers')`` dropped the table."""
    try:
        r = k.run("c2 = duckdb.connect('wh.duckdb')\n" + tamper +
                  "raw.execute(R('QEBC GNOYR phfgbzref'))\n")
        text = r.everything()
    finally:
        _settle(k)
    assert r.status == "error", text
    assert f"rows {ROWS}" in _rows(k), text


def test_duckdb_methods_through_the_proxy_still_work(k: Kernel) -> None:
    r = k.ok("m = duckdb.connect(':memory:')\nm.execute('CREATE TABLE t(x INT)')\n"
             "m.execute('INSERT INTO t VALUES (1), (2)')\n"
             "m.execute('SELECT sum(x) FROM t')\nf = m.fetchall\nd = m.description\n"
             "print('got', f(), d[0][0], m.fetchall.__name__, callable(m.close))\nm.close()")
    assert "got [(3,)] sum(x) fetchall True" in r.stream, r.everything()


def _sqlite(k: Kernel) -> Path:
    db = k.workdir / "data" / "w.sqlite"
    db.unlink(missing_ok=True)
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE t(x)")
        c.execute("INSERT INTO t VALUES (7)")
    c.close()
    return db


RAW_DBAPI = [
    pytest.param("raw = getattr(sq, R('_wt_pba'))\n", id="read-connection"),
    pytest.param("raw = object.__getattribute__(sq, R('_wt_pba'))\n", id="read-slot"),
    pytest.param("raw = getattr(getattr(sq, R('_wt_purpx')), 'raw')\n", id="judge-raw"),
    pytest.param("raw = sq.commit.__self__\n", id="bound-self"),
    pytest.param("raw = type(sq)(sqlite3.Connection('data/w.sqlite'), Lenient())\n",
                 id="own-proxy"),
]


@pytest.mark.parametrize("tamper", RAW_DBAPI)
def test_the_driver_object_behind_a_dbapi_proxy_is_not_handed_out(k: Kernel, tamper: str) -> None:
    """Before: each of these gave the cell the raw ``sqlite3`` connection (or a proxy judging
    nothing); a ``DROP`` on it was still caught below, by SQLite's authorizer."""
    db = _sqlite(k)
    try:
        r = k.run("sq = sqlite3.connect('data/w.sqlite')\n" + tamper +
                  "print('held', type(raw).__name__)\nraw.execute(R('QEBC GNOYR g'))\n")
        text = r.everything()
    finally:
        k.run("sq.close()")
        _settle(k)
    assert r.status == "error" and "held" not in r.stream, text
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT x FROM t").fetchall() == [(7,)], text
    c.close()


def test_sqlite_through_the_proxy_still_works(k: Kernel) -> None:
    _sqlite(k)
    r = k.ok("sq = sqlite3.connect('data/w.sqlite')\nc = sq.commit\n"
             "sq.execute('INSERT INTO t VALUES (8)')\nc()\n"
             "print('rows', sq.execute('SELECT x FROM t ORDER BY x').fetchall(), "
             "isinstance(sq, sqlite3.Connection), sq.total_changes)\nsq.close()")
    assert "rows [(7,), (8,)] True 1" in r.stream, r.everything()


TABLES = [("qoncv_cflpbct", "_FLAP"), ("qoncv_cflpbct", "_NFLAP"), ("qoncv_ct8000", "_PURPXREF"),
          ("fdyvgr_ncfj", "_PURPXF"), ("ct2_yvocd", "PNYYREF"), ("bqop", "_VA_OYBPX")]


@pytest.mark.parametrize(("mod", "name"), TABLES)
def test_a_module_table_cannot_be_filled_from_a_cell(k: Kernel, mod: str, name: str) -> None:
    """Before: a dict, weak table or set each, filled in place; now a tuple of sealed readers
    (or gone: held in sealed closures), whose items and cells a cell cannot change."""
    r = k.run(f"import importlib\nm = importlib.import_module(R('whclgre_thneq.pbaarpgvbaf.{mod}'))\n"
              f"t = getattr(m, R('{name}'), None)\nprint('kind', type(t).__name__)\n"
              "for how in ('__setitem__', 'add', 'update'):\n"
              "    try:\n        getattr(t, how)(Lenient, Lenient)\n        print('filled')\n"
              "    except Exception as e:\n        pass\n")
    assert r.status == "ok" and "filled" not in r.stream, r.everything()
    assert "kind tuple" in r.stream or "kind NoneType" in r.stream, r.everything()
