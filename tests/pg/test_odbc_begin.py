"""pyodbc to PostgreSQL in autocommit mode, with a transaction the user opened by typing ``BEGIN``
(pyodbc does not report it): the effect check runs in a savepoint inside it and never ends it.
A ROLLBACK typed by the user undoes the statements the guard measured and kept; a refused bulk
change undoes only itself (the user's earlier statements in the block stay pending, then commit);
``COMMIT``/``END``/``con.commit()``/``cur.rollback()`` end the block and the next statement runs
on its own again, with no session left idle in a transaction.

Needs ``pyodbc`` and the psqlODBC driver (see tests/pg/test_odbc.py)."""
from __future__ import annotations

from typing import Any

import pytest

from tests.pg.conftest import Db, run
from tests.pg.test_odbc import odbc_dsn


@pytest.fixture()
def odbc(ip: Any, db: Db) -> Any:
    r = run(ip, f"import pyodbc\ncon = pyodbc.connect({odbc_dsn(db)!r}, autocommit=True)\n"
                "cur = con.cursor()")
    assert r.error is None, r.error
    yield ip
    run(ip, "con.close()")


def ok(ip: Any, code: str) -> None:
    r = run(ip, code)
    assert r.error is None, (code, r.error)


def kept(db: Db, *ids: int) -> list[int]:
    rows = db.query(f"SELECT id FROM orders WHERE id IN ({', '.join(map(str, ids))}) ORDER BY id")
    return [i for (i,) in rows]


def idle(db: Db) -> int:
    return int(db.query("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND state LIKE 'idle in transaction%'")[0][0])


@pytest.mark.parametrize("opening", ["BEGIN", "begin work", "BEGIN ISOLATION LEVEL SERIALIZABLE"])
def test_user_rollback_undoes_measured_statements(odbc: Any, db: Db, opening: str) -> None:
    ok(odbc, f"cur.execute({opening!r})\n"
             "cur.execute('DELETE FROM orders WHERE id = 11')\n"          # effect-checked
             "cur.execute(\"UPDATE customers SET city = 'Lille' WHERE id = 12\")")
    assert kept(db, 11) == [11]   # still pending: the guard committed nothing of the user's
    assert idle(db) == 1
    ok(odbc, "cur.execute('ROLLBACK')")
    assert kept(db, 11) == [11]
    assert db.query("SELECT city FROM customers WHERE id = 12")[0][0] != "Lille"
    assert idle(db) == 0
    db.intact()


def test_refusal_in_the_block_undoes_only_itself(odbc: Any, db: Db) -> None:
    ok(odbc, "cur.execute('BEGIN')\ncur.execute('DELETE FROM orders WHERE id = 21')")
    r = run(odbc, "cur.execute('DELETE FROM orders WHERE id <= 30000')")
    assert isinstance(r.error, PermissionError), repr(r.error)
    assert r.error.rule_id != "guard-error", r.error
    assert kept(db, 21) == [21] and idle(db) == 1   # the user's block is still open
    ok(odbc, "cur.execute('DELETE FROM orders WHERE id = 22')\ncur.execute('COMMIT')")
    assert kept(db, 21, 22) == [] and idle(db) == 0
    assert db.count("orders") == 49_998


@pytest.mark.parametrize("ending", ["cur.execute('COMMIT')", "cur.execute('end')",
                                    "con.commit()", "cur.commit()"])
def test_the_block_ends_and_later_statements_run_alone(odbc: Any, db: Db, ending: str) -> None:
    ok(odbc, "cur.execute('BEGIN')\ncur.execute('DELETE FROM orders WHERE id = 31')\n" + ending)
    assert kept(db, 31) == [] and idle(db) == 0
    ok(odbc, "cur.execute('DELETE FROM orders WHERE id = 32')")   # autocommit again: kept now
    assert kept(db, 32) == [] and idle(db) == 0
    r = run(odbc, "cur.execute('DELETE FROM orders WHERE id <= 30000')")
    assert isinstance(r.error, PermissionError), repr(r.error)
    assert db.count("orders") == 49_998 and idle(db) == 0


@pytest.mark.parametrize("ending", ["cur.execute('ROLLBACK')", "con.rollback()",
                                    "cur.rollback()", "cur.execute('rollback work')"])
def test_rollbacks_end_the_block(odbc: Any, db: Db, ending: str) -> None:
    ok(odbc, "cur.execute('BEGIN')\ncur.execute('DELETE FROM orders WHERE id = 41')\n" + ending)
    assert kept(db, 41) == [41] and idle(db) == 0
    ok(odbc, "cur.execute('DELETE FROM orders WHERE id = 42')")   # alone, kept at once
    assert kept(db, 42) == [] and idle(db) == 0


def test_mode_changes(odbc: Any, db: Db) -> None:
    """``autocommit = True`` again changes nothing (the block stays open, psqlODBC's too);
    ``autocommit = False`` commits the block, and manual-commit mode takes over."""
    ok(odbc, "cur.execute('BEGIN')\ncur.execute('DELETE FROM orders WHERE id = 51')\n"
             "con.autocommit = True\ncur.execute('DELETE FROM orders WHERE id = 52')")
    assert kept(db, 51, 52) == [51, 52] and idle(db) == 1
    ok(odbc, "con.autocommit = False")
    assert kept(db, 51, 52) == [] and idle(db) == 0
    ok(odbc, "cur.execute('DELETE FROM orders WHERE id = 53')\ncon.rollback()\n"
             "con.autocommit = True\ncur.execute('DELETE FROM orders WHERE id = 54')")
    assert kept(db, 53, 54) == [53] and idle(db) == 0
