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


# module-level containers of the modules this class of fix covers (the DB-API drivers, the
# sealed trust, the child guard), each with why a cell that changes it in place changes no
# decision; anything else found there fails the walk below
OWNED = ("connections.dbapi", "connections.odbc", "connections.pg2_", "connections.duckdb",
         "connections.driver_methods", "connections.sqlite_apsw", "hooks.sealed_events",
         "hooks.own_code", "hooks.child_", "hooks.sqlite_exits", "hooks.duck_conn")
HARMLESS = {
    "connections.dbapi_psycopg.SYNC": "the judges routed at patch time; read then, never again",
    "connections.dbapi_psycopg.ASYNC": "the judges routed at patch time; read then, never again",
    "connections.dbapi_proxy.PATCHED": "re-arm record of connect(): cleared, a replaced connect "
                                       "stays replaced past the cell (the type is refused)",
    "connections.dbapi_asyncpg_pool._PATCHED": "re-arm check of the pool's connection maker",
    "connections.driver_methods._ROUTED": "each route checks its runner is the guard's code "
                                          "(route: a replaced entry is refused)",
    "connections.pg2_libpq._KEEP": "keeps ctypes callbacks alive; emptied, nothing is read",
    "connections.pg2_libpq._DONE": "installed-once mark; emptied, a second install patches "
                                   "the same slots again",
    "connections.pg2_lobject._KEEP": "keeps ctypes callbacks alive; emptied, nothing is read",
    "connections.pg2_lobject._DONE": "installed-once mark, as pg2_libpq's",
    "connections.sqlite_apsw.ORIGINAL": "apsw's own classes, for the guard's own queries",
    "hooks.duck_conn._PENDING": "a DML count answered from Python: only what a fetch returns",
    "hooks.duck_conn._SA_HOOKED": "SQLAlchemy listener installed-once mark",
    "hooks.own_code._KEEP": "keeps code objects alive (their ids); read by nothing",
    "hooks.own_code._DONE": "modules gathered: a name added is never gathered (fail closed)",
    "hooks.own_code._LISTING": "modules being listed: gathered from their own file's code only",
    "hooks.own_code._NOT": "code known not to be the guard's: an id added only refuses more",
}
WALK = ("import importlib, weakref, collections, pkgutil\n"
        "P = R('whclgre_thneq')\npkg = importlib.import_module(P)\n"
        "MUT = (dict, set, list, bytearray, weakref.WeakKeyDictionary, "
        "weakref.WeakValueDictionary, weakref.WeakSet, collections.deque)\n"
        "for i in pkgutil.walk_packages(pkg.__path__, P + '.'):\n"
        "    if i.name.split('.')[1] in ('connections', 'hooks'):\n"
        "        try:\n            importlib.import_module(i.name)\n"
        "        except Exception:\n            pass\n"
        "for n, mod in sorted(sys.modules.items()):\n"
        "    if n.startswith(P + '.'):\n"
        "        for a, v in list(vars(mod).items()):\n"
        "            if isinstance(v, MUT) and not a.startswith('__'):\n"
        "                print('FOUND', n[len(P) + 1:] + '.' + a)\n")


def test_no_module_table_in_these_modules_decides_unsealed(k: Kernel) -> None:
    """Walks every module of the guard's ``connections`` and ``hooks`` loaded in a kernel (the
    drivers imported) for module-level containers a cell could change in place; in the modules
    this fix covers, each is sealed (gone from the module) or listed above with why changing it
    changes no decision."""
    k.ok("import psycopg, psycopg2, pg8000, asyncpg, pyodbc, apsw")
    found = {line.split()[1] for line in k.ok(WALK).stream.splitlines()
             if line.startswith("FOUND")}
    mine = {f for f in found if f.startswith(OWNED)}
    assert mine == set(HARMLESS), (sorted(mine - set(HARMLESS)), sorted(set(HARMLESS) - mine))
    assert len(found) > len(mine)   # the walk saw the other modules too (open: see docs)
