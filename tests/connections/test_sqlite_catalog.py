"""The SQLite catalog is read again whenever any of a connection's databases changed its schema
(``schema_version``), by this connection, another one or another process, and only then: a
loop of bound statements asks the catalog once."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from jupyter_guard.connections.dbapi import DbapiConn
from jupyter_guard.connections.sqlite import SQLite


def _tables(conn: DbapiConn) -> set[str]:
    return {str(r[2]) for r in SQLite().column_rows(conn)}


def test_the_catalog_follows_every_schema_change(tmp_path: Path) -> None:
    db, other = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    raw = sqlite3.connect(db)
    raw.execute("CREATE TABLE t (id INT)")
    conn = DbapiConn(raw, "sqlite3 connection", "sqlite")
    assert _tables(conn) == {"t"}
    with sqlite3.connect(db) as two:   # another connection to the same file
        two.execute("CREATE TABLE people (email TEXT)")
    assert _tables(conn) == {"t", "people"}
    code = (f"import sqlite3; c = sqlite3.connect({str(db)!r}); "
            "c.execute('ALTER TABLE people ADD COLUMN ssn TEXT'); c.commit()")
    subprocess.run([sys.executable, "-c", code], check=True)   # another process
    assert "ssn" in {str(r[3]) for r in SQLite().column_rows(conn)}
    raw.execute(f"ATTACH '{other}' AS o")
    raw.execute("CREATE TABLE o.far (y INT)")   # another database's change does not hide one
    raw.execute("CREATE TABLE main.near (z INT)")
    assert "near" in _tables(conn)
    raw.execute("DROP TABLE t")
    assert "t" not in _tables(conn)


def test_an_unchanged_schema_is_not_read_again(tmp_path: Path) -> None:
    raw = sqlite3.connect(tmp_path / "c.sqlite")
    raw.execute("CREATE TABLE t (id INT)")
    conn = DbapiConn(raw, "sqlite3 connection", "sqlite")
    first = SQLite().column_rows(conn)
    raw.execute("INSERT INTO t VALUES (1)")   # data, not schema
    assert SQLite().column_rows(conn) is first
