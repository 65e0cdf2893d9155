"""apsw connections are guarded like sqlite3's, by effect in a real kernel: a bulk delete, one
built at run time, a loop and an ``executemany`` of one-row deletes, a trigger fired by an
insert, a change hidden after a ``SELECT`` in one text, a cursor factory of the user's own, a
connection opened before the guard loaded, and sensitive values written into a new file. The
honest twins run with their results."""
from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import pytest

from tests.enforce.test_sqlite_routes import _count
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

ROWS = 3000
_N = itertools.count()


@pytest.fixture()
def db(kernel: Kernel) -> Path:
    path = kernel.workdir / f"a{next(_N)}.sqlite"
    with sqlite3.connect(path) as s:   # made outside the guard
        s.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, note TEXT)")
        s.executemany("INSERT INTO customers VALUES (?, 'x')", [(i,) for i in range(ROWS)])
        s.execute("CREATE TABLE log (x)")
        s.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT)")
        s.executemany("INSERT INTO people VALUES (?, ?)",
                      [(i, f"user{i}@corp.example.com") for i in range(50)])
        s.execute("CREATE TRIGGER wipe AFTER INSERT ON log BEGIN "
                  "DELETE FROM customers WHERE id < 2500; END")
    s.close()
    kernel.ok(f"import apsw\nDB = {str(path)!r}\nc = apsw.Connection(DB)")
    return path


@pytest.mark.parametrize("code,rule", [
    pytest.param("c.execute('DELETE FROM customers WHERE id < 2500')", "bulk-change", id="bulk"),
    pytest.param("c.cursor().execute('DELETE FROM customers WHERE id < ' + str(2500))",
                 "bulk-change", id="built-at-run-time"),
    pytest.param("for i in range(2500):\n    c.execute('DELETE FROM customers WHERE id = ?', (i,))",
                 "bulk-change", id="loop"),
    pytest.param("c.executemany('DELETE FROM customers WHERE id = ?', [(i,) for i in range(2500)])",
                 "bulk-change", id="executemany"),
    pytest.param("c.execute('INSERT INTO log VALUES (1)')", "bulk-change", id="trigger"),
    pytest.param("for r in c.execute('SELECT 1; DELETE FROM customers WHERE id < 2500'):\n    pass",
                 "sql-unknown", id="after-a-select"),
    pytest.param("c.execute('DROP TABLE customers')", "destructive-ddl", id="drop"),
    pytest.param("for i in range(2500):\n    c.execute('DELETE FROM customers WHERE id = ? "
                 "RETURNING id', (i,)).fetchall()", "bulk-change", id="returning-loop"),
    pytest.param("m = apsw.Connection(':memory:')\nwith c.backup('main', m, 'main') as b:\n"
                 "    b.step()", "destructive-ddl", id="backup-over-the-database"),
    pytest.param("for i in range(1, 1500):\n    with c.blob_open('main', 'customers', 'note', i, "
                 "True) as b:\n        b.write(b'y')", "bulk-change", id="blob-writes"),
    pytest.param("c.cursor_factory = apsw.Cursor.__mro__[1]\n"
                 "c.execute('DELETE FROM customers WHERE id < 2500')", "self-protection",
                 id="cursor-factory"),
])
def test_apsw_changes_no_more_than_the_policy_allows(kernel: Kernel, db: Path, code: str,
                                                     rule: str) -> None:
    kernel.blocked(code, rule)
    assert ROWS - _count(db) <= 1000
    if rule != "bulk-change" or "range" not in code:
        assert _count(db) == ROWS
    with sqlite3.connect(db) as s:
        assert s.execute("SELECT count(*) FROM customers WHERE note != 'x'").fetchone()[0] <= 1000
    s.close()


def test_a_connection_opened_before_the_guard_loaded_is_guarded(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite"
    with sqlite3.connect(path) as s:
        s.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
        s.executemany("INSERT INTO customers VALUES (?)", [(i,) for i in range(ROWS)])
    s.close()
    k = Kernel(tmp_path, {"JUPYTER_GUARD_AUDIT": str(tmp_path / "audit.duckdb"),
                          "JUPYTER_GUARD_POLICY": None})
    try:
        k.ok(f"import apsw\nold = apsw.Connection({str(path)!r})")
        k.ok("%load_ext jupyter_guard")
        k.blocked("old.execute('DELETE FROM customers WHERE id < 2500')", "bulk-change")
        k.ok("old.execute('DELETE FROM customers WHERE id < 5')")
    finally:
        k.stop()
    with sqlite3.connect(path) as s:
        assert s.execute("SELECT count(*) FROM customers").fetchone()[0] == ROWS - 5
    s.close()


def test_sensitive_values_are_not_written_into_a_file(kernel: Kernel, db: Path) -> None:
    out = kernel.workdir / f"out{next(_N)}.db"
    kernel.ok(f"o = apsw.Connection({str(out)!r})\no.execute('CREATE TABLE t (v TEXT)')")
    kernel.blocked("o.executemany('INSERT INTO t VALUES (?)', "
                   "[(f'user{i}@corp.example.com',) for i in range(5)])", "exfiltration")
    kernel.ok("o.close()")
    with sqlite3.connect(out) as s:
        assert s.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    s.close()


def test_a_backup_of_sensitive_rows_into_a_file_is_refused(kernel: Kernel, db: Path) -> None:
    out = kernel.workdir / f"bk{next(_N)}.db"
    kernel.blocked(f"d = apsw.Connection({str(out)!r})\nwith d.backup('main', c, 'main') as b:\n"
                   "    b.step()", "exfiltration")
    kernel.ok("d.close()")
    assert b"corp.example.com" not in out.read_bytes()


def test_honest_apsw_work_runs(kernel: Kernel, db: Path) -> None:
    r = kernel.ok("c.execute('DELETE FROM customers WHERE id < 5')\n"
                  "c.executemany('UPDATE customers SET note = ? WHERE id = ?', "
                  "[('y', i) for i in range(10, 20)])\n"
                  "c.execute('BEGIN; DELETE FROM customers WHERE id = 30; COMMIT')\n"
                  "c.execute('CREATE TABLE mine (x); INSERT INTO mine VALUES (1)')\n"
                  "print(c.execute('SELECT count(*) FROM customers WHERE note = ?', ('y',))"
                  ".fetchall(), isinstance(c, apsw.Connection))\n"
                  "p = apsw.Connection(':memory:')\np.execute('CREATE TABLE s (n INT)')\n"
                  "p.execute('INSERT INTO s VALUES (1), (2)')\n"
                  f"d = apsw.Connection({str(db.parent / ('plain' + db.name))!r})\n"
                  "with d.backup('main', p, 'main') as b:\n    b.step()\n"
                  "print(d.execute('SELECT count(*) FROM s').fetchall())")
    assert "[(10,)] True" in r.stream and "[(2,)]" in r.stream
    assert _count(db) == ROWS - 6
