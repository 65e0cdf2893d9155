"""Large objects and server-file functions on a real PostgreSQL, through psycopg 3, psycopg2,
``%%guarded_sql`` and SQLAlchemy: sensitive columns copied into a large object are refused (its
bytes come back through ``lo_get``/``lo.read()`` with no column, so no taint), unlinks are
measured against ``max_affected_rows``, psycopg2's client-file routes (``lo.export``, an import
of a file) are refused with no file written or read; the benign twins run with correct values."""
from __future__ import annotations

import os
import uuid
from typing import Any

import pytest

from tests.pg.conftest import Db, run

CONNECT = {
    "psycopg": "import psycopg\ncon = psycopg.connect({dsn!r}, autocommit=True)",
    "psycopg2": "import psycopg2\ncon = psycopg2.connect({dsn!r})\ncon.autocommit = True",
}


def connect(ip: Any, db: Db, driver: str) -> None:
    r = run(ip, CONNECT[driver].format(dsn=db.dsn) + "\ncur = con.cursor()")
    assert r.error is None, r.error


def objects(db: Db) -> int:
    return int(db.query("SELECT count(*) FROM pg_largeobject_metadata")[0][0])


INTO = [
    pytest.param("SELECT lo_from_bytea(0, convert_to(email, 'UTF8')) FROM customers WHERE id = 7",
                 id="from-bytea-email"),
    pytest.param("SELECT lo_from_bytea(0, convert_to(email, 'UTF8')) FROM customers",
                 id="from-bytea-all"),
    pytest.param("SELECT lo_put(lo_from_bytea(0, 'a'), 0, convert_to(c.ssn, 'UTF8')) "
                 "FROM customers c WHERE c.id = 7", id="put-ssn"),
    pytest.param("SELECT lowrite(lo_open(lo_create(0), 131072), convert_to(ssn, 'UTF8')) "
                 "FROM customers WHERE id = 7", id="lowrite-ssn"),
    pytest.param("DO $$ BEGIN PERFORM lo_from_bytea(0, convert_to(email, 'UTF8')) "
                 "FROM customers WHERE id = 7; END $$", id="do-block"),
]


@pytest.mark.parametrize("driver", list(CONNECT))
@pytest.mark.parametrize("sql", INTO)
def test_sensitive_column_into_large_object_refused(ip: Any, db: Db, driver: str, sql: str
                                                    ) -> None:
    connect(ip, db, driver)
    r = run(ip, f"cur.execute({sql!r})")
    assert isinstance(r.error, PermissionError), repr(r.error)
    # refused before it runs: as an export of the column, or (the route that analyses the text
    # first) as ``inference``, which reads ``convert_to(email, 'UTF8')`` as a computed guess
    assert r.error.rule_id in ("exfiltration", "inference"), r.error
    assert objects(db) == 0
    run(ip, "con.close()")


@pytest.mark.parametrize("route", ["psycopg", "psycopg2", "magic", "sqlalchemy"])
def test_large_object_of_plain_columns_runs(ip: Any, db: Db, route: str) -> None:
    """The benign twin: a non-sensitive column into a large object, read back with lo_get."""
    made = "SELECT lo_from_bytea(0, convert_to(city, 'UTF8')) AS o FROM customers WHERE id = 7"
    back = "SELECT convert_from(lo_get({o}), 'UTF8') AS v"
    city = db.query("SELECT city FROM customers WHERE id = 7")[0][0]
    got = []
    for sql in (made, back):
        sql = sql.format(o=got[0] if got else 0)
        if route == "magic":
            r = run(ip, f"%%guarded_sql {db.url}\n{sql}")
            assert r.error is None, r.error
            got.append(r.result.iloc[0, 0])
            continue
        if route == "sqlalchemy":
            code = (f"import sqlalchemy\nengine = sqlalchemy.create_engine({db.url!r})\n"
                    f"with engine.begin() as c:\n    got = c.execute(sqlalchemy.text({sql!r})).all()")
        else:
            connect(ip, db, route)
            code = f"cur.execute({sql!r})\ngot = cur.fetchall()\ncon.close()"
        r = run(ip, code)
        assert r.error is None, r.error
        got.append(ip.user_ns["got"][0][0])
    assert got[1] == city
    assert objects(db) == 1


@pytest.mark.parametrize("route", ["magic", "sqlalchemy"])
def test_sensitive_column_into_large_object_refused_magic_sqlalchemy(ip: Any, db: Db, route: str
                                                                    ) -> None:
    sql = "SELECT lo_from_bytea(0, convert_to(email, 'UTF8')) AS o FROM customers WHERE id = 7"
    code = f"%%guarded_sql {db.url}\n{sql}" if route == "magic" else (
        f"import sqlalchemy\nengine = sqlalchemy.create_engine({db.url!r})\n"
        f"with engine.begin() as c:\n    got = c.execute(sqlalchemy.text({sql!r})).all()")
    r = run(ip, code)
    assert isinstance(r.error, PermissionError), repr(r.error)
    # refused before it runs: as an export of the column, or (the route that analyses the text
    # first) as ``inference``, which reads ``convert_to(email, 'UTF8')`` as a computed guess
    assert r.error.rule_id in ("exfiltration", "inference"), r.error
    assert objects(db) == 0


SERVER_FILES = [
    "SELECT lo_import('/etc/hostname')",
    "SELECT lo_export(lo_from_bytea(0, 'x'), '{path}')",
    "SELECT pg_read_file('/etc/hostname')",
    "SELECT pg_read_binary_file('/etc/hostname')",
    "SELECT pg_ls_dir('.')",
    "SELECT * FROM dblink('dbname={db}', 'DELETE FROM orders') AS t(x text)",
    "SELECT dblink_exec('dbname={db}', 'DELETE FROM orders')",
]


@pytest.mark.parametrize("route", ["psycopg", "psycopg2", "magic", "sqlalchemy"])
def test_server_file_functions_refused_every_route(ip: Any, db: Db, route: str) -> None:
    db.query("CREATE EXTENSION IF NOT EXISTS dblink")
    path = f"/tmp/jg-lo-{uuid.uuid4().hex}"
    if route in CONNECT:
        connect(ip, db, route)
    else:
        run(ip, f"import sqlalchemy\nengine = sqlalchemy.create_engine({db.url!r})")
    for stmt in SERVER_FILES:
        sql = stmt.format(path=path, db=db.name)
        code = {"magic": f"%%guarded_sql engine\n{sql}",
                "sqlalchemy": f"with engine.begin() as c:\n    c.execute(sqlalchemy.text({sql!r}))"
                }.get(route, f"cur.execute({sql!r})")
        r = run(ip, code)
        assert isinstance(r.error, PermissionError), (sql, r.error)
        assert r.error.rule_id == "exfiltration", (sql, r.error)
        assert not os.path.exists(path), sql
    assert objects(db) == 0
    db.intact()


@pytest.mark.parametrize("route", [*CONNECT, "magic"])
def test_large_object_unlinks_are_measured(ip: Any, db: Db, route: str) -> None:
    db.query("SELECT lo_from_bytea(0, 'x') FROM generate_series(1, 1200)")

    def execute(sql: str) -> Any:
        return run(ip, f"%%guarded_sql {db.url}\n{sql}" if route == "magic" else
                   f"cur.execute({sql!r})")

    if route in CONNECT:
        connect(ip, db, route)
    r = execute("SELECT lo_unlink(oid) FROM pg_largeobject_metadata")
    assert isinstance(r.error, PermissionError), repr(r.error)
    assert r.error.rule_id == "bulk-change", r.error
    assert "1200" in str(r.error)
    assert objects(db) == 1200
    r = execute("SELECT lo_unlink(min(oid)) FROM pg_largeobject_metadata")
    assert r.error is None, r.error          # the benign twin: one object
    assert objects(db) == 1199
    if route in CONNECT:
        run(ip, "con.close()")


def test_psycopg2_lobject_client_files_refused(ip: Any, db: Db, tmp_path: Any) -> None:
    src = tmp_path / "secret.txt"
    src.write_text("not for the database\n")
    out = tmp_path / "export.bin"
    oid = db.query("SELECT lo_from_bytea(0, convert_to('x', 'UTF8'))")[0][0]
    r = run(ip, f"import psycopg2, psycopg2.extensions as ext\ncon = psycopg2.connect({db.dsn!r})")
    assert r.error is None, r.error
    for code in (f"lo = con.lobject({oid}, 'rb')\nlo.export({str(out)!r})",
                 f"lo = con.lobject({oid}, 'rb')\next.lobject.export(lo, {str(out)!r})",
                 f"lo = con.lobject(0, 'wb', 0, {str(src)!r})",
                 f"lo = ext.lobject(con, 0, 'wb', 0, {str(src)!r})"):   # below the methods: libpq
        r = run(ip, code)
        assert r.error is not None, code
        assert isinstance(r.error, PermissionError) or type(r.error).__name__ == \
            "OperationalError", repr(r.error)
        assert not out.exists(), code
        assert run(ip, "con.rollback()").error is None
    assert objects(db) == 1
    # the benign twin: write, commit, read back, unlink one
    r = run(ip, "lo = con.lobject(0, 'wb'); lo.write(b'abc'); o = lo.oid; con.commit()\n"
                "back = con.lobject(o, 'rb').read(); con.rollback()\n"
                "con.lobject(o, 'rb').unlink(); con.commit()")
    assert r.error is None, r.error
    assert ip.user_ns["back"] == b"abc"
    assert objects(db) == 1
    run(ip, "con.close()")


def test_psycopg2_lobject_unlink_loop_held_to_the_budget(ip: Any, db: Db) -> None:
    db.query("SELECT lo_from_bytea(0, 'x') FROM generate_series(1, 1100)")
    r = run(ip, f"import psycopg2\ncon = psycopg2.connect({db.dsn!r})\ncur = con.cursor()\n"
                "cur.execute('SELECT oid FROM pg_largeobject_metadata')\n"
                "oids = [x[0] for x in cur.fetchall()]\ncon.commit()")
    assert r.error is None, r.error
    r = run(ip, "for o in oids:\n    con.lobject(o, 'rb').unlink()\ncon.commit()")
    assert isinstance(r.error, PermissionError), repr(r.error)
    assert r.error.rule_id == "bulk-change", r.error
    run(ip, "con.rollback()\ncon.close()")
    assert objects(db) == 1100
