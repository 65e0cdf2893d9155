"""sqlite3 (wrapped at connect(), judged statically) and jupysql on PostgreSQL (through the
guarded driver): attacks refused with the data unchanged, everyday statements run."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.pg.conftest import Db, run


def _sqlite_rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    import sqlite3

    from jupyter_guard.connections import unwrap

    con = unwrap(sqlite3.connect(str(path)))
    try:
        return list(con.execute(sql).fetchall())
    finally:
        con.close()


def test_sqlite3(ip: Any, work_root: Path) -> None:
    import sqlite3

    from jupyter_guard.connections import unwrap

    path = work_root / "shop.sqlite3"
    own = unwrap(sqlite3.connect(str(path)))   # made outside the session: not the session's table
    own.execute("CREATE TABLE ledger_sq (id INTEGER PRIMARY KEY, email TEXT, v INT)")
    own.executemany("INSERT INTO ledger_sq VALUES (?, ?, ?)", [(i, f"u{i}@x.org", i) for i in range(3000)])
    own.commit()
    own.close()
    r = run(ip, f"import sqlite3, pandas as pd\ncon = sqlite3.connect({str(path)!r})")
    assert r.error is None, r.error
    assert isinstance(ip.user_ns["con"], sqlite3_connection())
    for cell in ("con.execute('DELETE FROM ledger_sq')",
                 "con.cursor().execute('DELETE FROM ledger_sq WHERE v >= ?', (0,))",
                 "t = 'ledger_' + 'sq'\ncon.execute('DROP TABLE ' + t)",
                 "con.executescript('DROP TABLE ledger_sq;')",
                 "pd.DataFrame({'id': [1]}).to_sql('ledger_sq', con, if_exists='replace')"):
        r = run(ip, cell)
        assert isinstance(r.error, PermissionError), (cell, r.error)
        assert r.error.rule_id != "guard-error", r.error
    run(ip, "con.rollback()")
    assert _sqlite_rows(path, "SELECT count(*) FROM ledger_sq") == [(3000,)]
    for cell in ("con.execute('DELETE FROM ledger_sq WHERE id = ?', (1,))",
                 "con.execute('UPDATE ledger_sq SET v = ? WHERE id = ?', (0, 2))",
                 "df = pd.read_sql('SELECT id, v FROM ledger_sq WHERE id <= 3', con)",
                 "con.commit()"):
        r = run(ip, cell)
        assert r.error is None, (cell, r.error)
    assert list(ip.user_ns["df"]["v"]) == [0, 0, 3]     # ids 0, 2 (updated), 3
    assert _sqlite_rows(path, "SELECT count(*) FROM ledger_sq") == [(2999,)]
    run(ip, "con.close()")


def sqlite3_connection() -> type:
    import sqlite3

    return sqlite3.Connection


def test_jupysql_on_postgres(ip: Any, db: Db) -> None:
    r = run(ip, f"%load_ext sql\n%sql {db.url}")
    assert r.error is None, r.error
    for cell in ("%sql DELETE FROM orders WHERE id > 10",
                 "%sql WITH d AS (DELETE FROM orders RETURNING id) SELECT count(*) FROM d",
                 "%sql DO $$ BEGIN EXECUTE 'DROP TABLE orders'; END $$",
                 "%sql ALTER TABLE customers RENAME TO c2",
                 "%sql SET session_replication_role = replica"):
        r = run(ip, cell)
        assert r.error is not None, cell
        db.intact()
    for cell in ("%sql DELETE FROM orders WHERE id <= 5",
                 "%sql UPDATE customers SET city = 'Oslo' WHERE id = 1",
                 "%sql DO $$ BEGIN RAISE NOTICE 'hi'; END $$",
                 "%sql CREATE TEMP TABLE scratch AS SELECT 1 AS x"):
        r = run(ip, cell)
        assert r.error is None, (cell, r.error)
    run(ip, "%sql --close " + db.url)
    assert db.count("orders") == 49_995
    assert db.query("SELECT city FROM customers WHERE id = 1") == [("Oslo",)]
