"""SQLite as a full kind in a real kernel: ``%%guarded_sql`` takes a ``sqlite3`` connection, counts
rows through the kind's catalog, refuses bulk changes with the table intact, runs targeted ones,
honours ``--limit``, and refuses ``:name`` parameters on a plain DB-API connection with the fix."""
from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel


def _count(path: Path) -> int:
    con = sqlite3.connect(str(path))
    try:
        return int(con.execute("SELECT count(*) FROM orders").fetchone()[0])
    finally:
        con.close()


@pytest.fixture(scope="module")
def lite(work_root: Path) -> Iterator[tuple[Kernel, Path]]:
    d = work_root / "sqlite-kind"
    d.mkdir()
    db = d / "shop.sqlite3"
    con = sqlite3.connect(str(db))
    con.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, email TEXT, amount INT)")
    con.executemany("INSERT INTO orders VALUES (?, ?, ?)",
                    [(i, f"u{i}@x.org", i) for i in range(1, 3001)])
    con.commit()
    con.close()
    k = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb"), "JUPYTER_GUARD_USER": "alice"})
    r = k.run(f"%load_ext jupyter_guard\nimport sqlite3\ncon = sqlite3.connect({str(db)!r})")
    assert r.status == "ok", r.text
    yield k, db
    k.stop()
    shutil.rmtree(d, ignore_errors=True)


def test_guarded_sql_on_a_sqlite3_connection(lite: tuple[Kernel, Path]) -> None:
    k, db = lite
    for cell in ("DELETE FROM orders", "DELETE FROM orders WHERE amount > 10",
                 "UPDATE orders SET amount = 0 WHERE id > 5"):
        r = k.run(f"%%guarded_sql con\n{cell}")
        assert r.status == "error" and "bulk-change" in r.text, (cell, r.text)
        assert _count(db) == 3000
    r = k.run("%%guarded_sql con\nDELETE FROM orders WHERE id <= 3")
    assert r.status == "ok", r.text
    assert _count(db) == 2997
    r = k.run("%%guarded_sql con --limit 2 -o got\nSELECT id FROM orders ORDER BY id")
    assert r.status == "ok" and "showing 2 of more than 2 rows" in r.text, r.text
    r = k.run("print(list(got['id']))")
    assert "[4, 5]" in r.text, r.text
    r = k.run("n = 7")
    r = k.run("%%guarded_sql con\nSELECT id FROM orders WHERE id = :n")
    assert r.status == "error" and "SQLAlchemy engine" in r.text, r.text
    r = k.run("%%guarded_sql con\nDELETE FROM orders WHERE id = :n")   # not countable: refused
    assert r.status == "error" and "bulk-change" in r.text, r.text
    assert _count(db) == 2997


def test_sqlite_only_syntax_through_execute_runs_and_is_still_judged(lite: tuple[Kernel, Path]
                                                                      ) -> None:
    """SQLite's untyped columns do not read as DuckDB SQL: the cell is not refused as unreadable
    before it runs; the sqlite3 connection's own sink judges it in SQLite's dialect. The same text
    on a DuckDB connection is still refused (DuckDB cannot read it), and a DROP spelt the same
    way on the sqlite3 connection is still refused by its effect."""
    k, db = lite
    r = k.run("con.execute('CREATE TABLE notes(k, v)')\n"
              "con.execute('INSERT INTO notes VALUES (1, 2)')\ncon.commit()\n"
              "print(con.execute('SELECT k + v FROM notes').fetchall())")
    assert r.status == "ok" and "[(3,)]" in r.text, r.text
    r = k.run("import duckdb\nd = duckdb.connect()\nd.execute('CREATE TABLE notes(k, v)')\n"
              "print('RAN AFTER')")
    assert r.status == "error" and "sql-parse-error" in r.text, r.text
    assert "RAN AFTER" not in r.text
    r = k.run("con.execute('DROP TABLE orders')")
    assert r.status == "error" and "Blocked by jupyter_guard" in r.text, r.text
    assert _count(db) >= 2997
