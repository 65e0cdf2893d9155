"""Per-object and module-level state a cell could set with no audit event.

``object.__setattr__`` sets a slot and a container is filled in place with no event the guard
hears: a DB-API proxy's judge (``_jg_check``) and connection (``_jg_con``), a DuckDB proxy's
connection, and asyncpg pools' table of guarded views were such state. Each is now held in a
sealed weak table only the guard's code fills (read through read-only properties), so what a
cell sets is refused or not read. Names are built at run time (rot13), so that only the
run-time layer sees what the cell does.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.enforce.test_busy_token import ROWS, _settle, busy_kernel
from tests.kernelutil import Kernel

# a judge that judges nothing, and a way to set a slot with no audit event
SETUP = ("import sqlite3, duckdb\n"
         "class Lenient:\n    def __init__(s, c):\n        s.c = c\n"
         "    def __getattr__(s, n):\n        return getattr(s.c, n)\n"
         "    def __call__(s, query, params, call, **k):\n        return call()\n"
         "def tried(fn):\n    try:\n        fn()\n        print('tamper set')\n"
         "    except Exception as e:\n        print('tamper failed:', e)\n")


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    with busy_kernel(work_root, SETUP) as kernel:
        yield kernel


def _sqlite(k: Kernel) -> Path:
    db = k.workdir / "data" / "w.sqlite"
    db.unlink(missing_ok=True)
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE t(x)")
        c.execute("INSERT INTO t VALUES (7)")
    c.close()
    return db


def _rows(db: Path) -> list[tuple[int]]:
    with sqlite3.connect(db) as c:
        rows = c.execute("SELECT x FROM t").fetchall()
    c.close()
    return rows


SQLITE_TAMPERS = [
    # the cursor's judge swapped for one running every statement unjudged
    pytest.param("cur = sq.cursor()\n"
                 "tried(lambda: object.__setattr__(cur, R('_wt_purpx'), "
                 "Lenient(getattr(cur, R('_wt_purpx')))))\n", id="judge-slot"),
    # the cursor's raw cursor swapped for one of a second connection (no judge on it at all)
    pytest.param("cur = sq.cursor()\nraw = getattr(sq, R('_wt_pba'))\n"
                 "tried(lambda: object.__setattr__(cur, R('_wt_pba'), raw.cursor()))\n",
                 id="connection-slot"),
]


@pytest.mark.parametrize("tamper", SQLITE_TAMPERS)
def test_a_set_proxy_slot_does_not_let_a_sqlite_table_drop(k: Kernel, tamper: str) -> None:
    """A DB-API proxy held its judge and connection in slots: ``object.__setattr__`` set them
    with no audit event."""
    db = _sqlite(k)
    try:
        r = k.run("sq = sqlite3.connect('data/w.sqlite')\n" + tamper +
                  "cur.execute(R('QEBC GNOYR g'))\nsq.commit()")
        text = r.everything()
    finally:
        k.run("sq.close()")
        _settle(k)
    assert _rows(db) == [(7,)], text
    assert "Blocked by jupyter_guard" in text or "tamper failed" in text, text
    assert "tamper set" not in text, text


def test_sqlite_through_the_proxy_still_works(k: Kernel) -> None:
    _sqlite(k)
    r = k.ok("sq = sqlite3.connect('data/w.sqlite')\ncur = sq.cursor()\n"
             "cur.execute('INSERT INTO t VALUES (?)', (8,))\n"
             "cur.executemany('INSERT INTO t VALUES (?)', [(9,)])\nsq.commit()\n"
             "print('rows', cur.execute('SELECT x FROM t ORDER BY x').fetchall(), "
             "type(cur).__name__, isinstance(sq, sqlite3.Connection))\nsq.close()")
    assert "rows [(7,), (8,), (9,)] GuardedSqliteCursor True" in r.stream, r.everything()


DUCK_TAMPERS = [
    # the proxy's connection, read from the proxy: DuckDB runs what it is given, unjudged
    pytest.param("raw = getattr(c2, R('_wt_pba'))\n", id="read-connection"),
    pytest.param("raw = object.__getattribute__(c2, R('_wt_pba'))\n", id="read-slot"),
    # a proxy's connection swapped for another proxy's: the statement runs on the one set
    pytest.param("c3 = duckdb.connect(':memory:')\n"
                 "tried(lambda: object.__setattr__(c3, R('_wt_pba'), "
                 "object.__getattribute__(c2, R('_wt_pba'))))\nraw = c3\n", id="set-slot"),
]


@pytest.mark.parametrize("tamper", DUCK_TAMPERS)
def test_a_duckdb_proxys_connection_does_not_let_a_table_drop(k: Kernel, tamper: str) -> None:
    """A DuckDB proxy held its connection in a slot a cell could read (and set): a ``DROP`` of
    a protected table ran on it, unjudged."""
    try:
        r = k.run("c2 = duckdb.connect('wh.duckdb')\n"
                  f"try:\n    {tamper.replace(chr(10), chr(10) + '    ')}"
                  "raw.execute(R('QEBC GNOYR phfgbzref'))\n"
                  "except PermissionError as e:\n    print('refused:', e)\n")
        text = r.everything()
    finally:
        _settle(k)
    assert "tamper set" not in text, text
    r = k.ok("print('rows', con.execute('SELECT count(*) FROM customers').fetchall()[0][0])")
    assert f"rows {ROWS}" in r.stream, r.everything() + text


def test_a_duckdb_proxy_still_works(k: Kernel) -> None:
    r = k.ok("m = duckdb.connect(':memory:')\nm.execute('CREATE TABLE t(x INT)')\n"
             "m.execute('INSERT INTO t VALUES (1), (2)')\ncu = m.cursor()\n"
             "print('sum', cu.execute('SELECT sum(x) FROM t').fetchall()[0][0], "
             "m.sql('SELECT max(x) FROM t').fetchall()[0][0], "
             "isinstance(m, duckdb.DuckDBPyConnection), m.__class__.__name__)\nm.close()")
    assert "sum 3 2 True DuckDBPyConnection" in r.stream, r.everything()


# the texts ``check_sql`` passed lately, which a relation's read is not judged again for
FILL_JUDGED = ("m = sys.modules[R('whclgre_thneq.ubbxf.fdy_purpx')]\n"
               "tried(lambda: getattr(m, R('WHQTRQ')).__setitem__(rel.sql_query(), None))\n"
               "tried(lambda: getattr(m, R('_ABGR'))(rel.sql_query()))\n")
PROBE = "rel = con.table('customers').filter(\"ssn LIKE '1%'\").aggregate('count(*)')\n"


def test_a_filled_judged_table_does_not_let_an_inference_probe_through(k: Kernel) -> None:
    """``sql_check.JUDGED`` was a module-level dict: a cell that put a relation's text in it
    had a sensitive column compared with a constant answered (the count of matching SSNs)."""
    try:
        r = k.run(PROBE + FILL_JUDGED + "print('answer', rel.fetchall())")
        text = r.everything()
    finally:
        _settle(k)
    assert "tamper set" not in text, text
    assert "answer" not in r.stream, text
    assert "Blocked by jupyter_guard [inference]" in text, text


def test_a_relation_read_still_runs(k: Kernel) -> None:
    r = k.ok("print('n', con.table('customers').filter('id <= 5').aggregate('count(*)')"
             ".fetchall()[0][0])\nq = 'SELECT count(*) FROM customers WHERE id <= 3'\n"
             "print('m', con.sql(q).fetchall()[0][0])")
    assert "n 6" in r.stream and "m 4" in r.stream, r.everything()   # ids from 0
