"""pyodbc against the test PostgreSQL through Debian's psqlODBC driver (``odbc-postgresql``,
``unixodbc``): the connection is guarded at ``pyodbc.connect``, the textbook attacks end in error
with the data, tables, files and session settings unchanged, a point query runs. The data source
names itself PostgreSQL, so it is judged as psycopg's connections are (``test_odbc_effect``,
``test_odbc_taint``).

Needs ``pyodbc`` and the psqlODBC driver; a machine without them fails here (never skips
silently): ``pip install pyodbc`` and ``apt-get install -y odbc-postgresql unixodbc``."""
from __future__ import annotations

import os
import uuid
from typing import Any

import pytest

from tests.pg.conftest import Db, run


def odbc_dsn(db: Db) -> str:
    return (f"DRIVER={{PostgreSQL Unicode}};SERVER=127.0.0.1;PORT={db.server.port};"
            f"DATABASE={db.name};UID=postgres")


@pytest.fixture()
def odbc(ip: Any, db: Db) -> Any:
    r = run(ip, f"import pyodbc\ncon = pyodbc.connect({odbc_dsn(db)!r}, autocommit=True)\n"
                "cur = con.cursor()")
    assert r.error is None, r.error   # pyodbc and psqlODBC are installed (see the docstring)
    yield ip
    run(ip, "con.close()")


ATTACKS = [
    pytest.param("cur.execute('DELETE FROM orders WHERE id <= 30000')", id="delete-30000"),
    pytest.param("t = 'ord' + 'ers'\ncur.execute('DROP TABLE ' + t)", id="runtime-drop"),
    pytest.param("cur.execute('ALTER TABLE customers RENAME TO customers_old')", id="rename"),
    pytest.param("cur.execute(\"DO $$ BEGIN EXECUTE 'DROP TABLE orders'; END $$\")",
                 id="do-execute"),
    pytest.param("cur.execute('TRUNCATE orders CASCADE')", id="truncate-cascade"),
    pytest.param("cur.execute('SET session_replication_role = replica')", id="replication-role"),
    pytest.param("cur.execute('ALTER TABLE orders DISABLE TRIGGER ALL')", id="disable-trigger"),
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_pyodbc_attack_blocked(odbc: Any, db: Db, attack: str) -> None:
    assert "OdbcConnection" in type(odbc.user_ns["con"]).__name__
    r = run(odbc, attack)
    assert isinstance(r.error, PermissionError), repr(r.error)
    assert r.error.rule_id != "guard-error", r.error
    r = run(odbc, "_role = cur.execute('SHOW session_replication_role').fetchone()[0]")
    assert r.error is None and odbc.user_ns["_role"] == "origin"
    db.intact()


def test_pyodbc_server_file_refused(odbc: Any, db: Db) -> None:
    path = f"/tmp/jg-odbc-{uuid.uuid4().hex}"
    for sql in (f"COPY customers TO '{path}'", f"SELECT lo_export(lo_from_bytea(0, 'x'), '{path}')",
                "SELECT pg_read_file('/etc/hostname')"):
        r = run(odbc, f"cur.execute({sql!r})")
        assert isinstance(r.error, PermissionError), (sql, r.error)
        assert not os.path.exists(path), sql
    db.intact()


def test_pyodbc_point_query_runs(odbc: Any, db: Db) -> None:
    """The benign twin: a point query and a small update run with correct results."""
    city = db.query("SELECT city FROM customers WHERE id = 7")[0][0]
    r = run(odbc, "got = cur.execute('SELECT id, city FROM customers WHERE id = 7').fetchall()")
    assert r.error is None, r.error
    assert [tuple(x) for x in odbc.user_ns["got"]] == [(7, city)]
    r = run(odbc, "cur.execute(\"UPDATE customers SET city = 'Nantes' WHERE id = 7\")")
    assert r.error is None, r.error
    assert db.query("SELECT city FROM customers WHERE id = 7")[0][0] == "Nantes"
