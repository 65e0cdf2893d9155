"""pyodbc to PostgreSQL (psqlODBC) judged as psycopg is: the effect check measures what a
statement did (the rows are still there after a bulk change spelt so that no static reading sees
it), ``DO`` blocks are read as PostgreSQL's, and the benign twins run with correct results: a
one-row DELETE, a parameterised one, a harmless ``DO`` block, a few-row upsert, in autocommit
and in manual-commit mode (the user's pending statements survive a refusal).

Needs ``pyodbc`` and the psqlODBC driver (see tests/pg/test_odbc.py)."""
from __future__ import annotations

from typing import Any

import pytest

from tests.pg.conftest import Db, run
from tests.pg.test_odbc import odbc_dsn


@pytest.fixture(params=[True, False], ids=["autocommit", "manual"])
def odbc(ip: Any, db: Db, request: Any) -> Any:
    r = run(ip, f"import pyodbc\ncon = pyodbc.connect({odbc_dsn(db)!r}, "
                f"autocommit={request.param})\ncur = con.cursor()")
    assert r.error is None, r.error
    ip.autocommit_ = request.param
    yield ip
    run(ip, "con.close()")


def commit(ip: Any) -> None:
    if not ip.autocommit_:
        r = run(ip, "con.commit()")
        assert r.error is None, r.error


OWNED = [   # already in the database: what they do is known only by running them
    "CREATE FUNCTION purge() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM orders; END $$",
    "CREATE TABLE trig_log (x int)",
    "CREATE FUNCTION wipe() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN DELETE FROM orders; RETURN NEW; END $$",
    "CREATE TRIGGER wipe AFTER INSERT ON trig_log FOR EACH ROW EXECUTE FUNCTION wipe()",
]

ATTACKS = [   # each ran on the generic reading, which measured nothing
    pytest.param("cur.execute('SELECT purge()')", id="function-in-database"),
    pytest.param("cur.execute('INSERT INTO trig_log VALUES (1)')", id="trigger-fires"),
    pytest.param("cur.executemany('DELETE FROM orders WHERE customer_id = ?', "
                 "[(i,) for i in range(1, 3000)])", id="executemany"),
    pytest.param("cur.execute('SELECT purge()').fetchall()\ncon.commit()", id="then-commit"),
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_bulk_change_refused_by_effect(odbc: Any, db: Db, attack: str) -> None:
    for sql in OWNED:
        db.query(sql)
    assert "OdbcConnection" in type(odbc.user_ns["con"]).__name__
    r = run(odbc, attack)
    assert isinstance(r.error, PermissionError), repr(r.error)
    assert r.error.rule_id != "guard-error", r.error
    commit(odbc)
    db.intact()
    assert db.count("trig_log") == 0
    r = run(odbc, "cur.execute('SELECT purge() FROM orders WHERE false').fetchall()")
    assert r.error is None, r.error   # the benign twin: the function called on no row runs


def test_refusal_keeps_pending_work(ip: Any, db: Db) -> None:
    """Manual-commit mode: a refused statement undoes itself, not the user's earlier ones."""
    r = run(ip, f"import pyodbc\ncon = pyodbc.connect({odbc_dsn(db)!r})\ncur = con.cursor()\n"
                "cur.execute(\"UPDATE customers SET city = 'Brest' WHERE id = 3\")")
    assert r.error is None, r.error
    r = run(ip, "cur.execute('DELETE FROM orders')")
    assert isinstance(r.error, PermissionError), repr(r.error)
    r = run(ip, "con.commit()\ncon.close()")
    assert r.error is None, r.error
    db.intact()
    assert db.query("SELECT city FROM customers WHERE id = 3")[0][0] == "Brest"


def test_benign_twins_run(odbc: Any, db: Db) -> None:
    steps = [
        "cur.execute('DELETE FROM orders WHERE id = 5')",
        "cur.execute('DELETE FROM orders WHERE id = ?', 6)",
        "cur.execute(\"DO $$ BEGIN RAISE NOTICE 'hi'; END $$\")",
        "cur.execute(\"DO $$ BEGIN EXECUTE 'DELETE FROM orders WHERE id = 7'; END $$\")",
        "cur.execute(\"UPDATE customers SET city = 'Nantes' WHERE id = 8\")",
        "cur.execute('CREATE TEMP TABLE scratch (x int)')\n"
        "cur.execute('INSERT INTO scratch SELECT g FROM generate_series(1, 5000) g')\n"
        "cur.execute('DELETE FROM scratch')",
        "cur.execute('CREATE TABLE notes (id int PRIMARY KEY, t text)')",
        "cur.executemany('INSERT INTO notes VALUES (?, ?) ON CONFLICT (id) DO UPDATE "
        "SET t = excluded.t', [(1, 'a'), (2, 'b'), (1, 'c')])",
        "got = cur.execute('SELECT count(*) FROM orders').fetchval()",
    ]
    for code in steps:
        r = run(odbc, code)
        assert r.error is None, (code, r.error)
        commit(odbc)
    assert odbc.user_ns["got"] == 49_997
    assert db.count("orders") == 49_997
    assert db.query("SELECT count(*) FROM orders WHERE id IN (5, 6, 7)")[0][0] == 0
    assert db.query("SELECT city FROM customers WHERE id = 8")[0][0] == "Nantes"
    assert db.query("SELECT id, t FROM notes ORDER BY id") == [(1, "c"), (2, "b")]
    assert db.count("customers") == 10_000
    idle = db.query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state = 'idle in transaction'")[0][0]
    assert idle == 0 or not odbc.autocommit_
