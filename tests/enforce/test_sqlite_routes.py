"""sqlite3 spelled as an attacker would, by effect in a real kernel: a connection class of the
user's own (``factory=``), the class called directly, ``sqlite3.dbapi2.connect``, a ``connect``
saved before the guard loaded, triggers that change another table when a row is inserted, and ``blobopen`` writes in a
loop. Each changes no more than ``max_affected_rows`` rows of a table in a cell; the honest
twins (a small delete, an insert whose trigger changes a few rows, a blob read) run.
``DELETE … RETURNING`` changes its rows before SQLite counts them (once they are read): it is
counted before it runs, alone and in a loop."""
from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import pytest

from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

ROWS = 3000
_N = itertools.count()


@pytest.fixture()
def db(kernel: Kernel) -> Path:
    path = kernel.workdir / f"r{next(_N)}.sqlite"
    with sqlite3.connect(path) as s:   # made outside the guard, triggers and all
        s.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT)")
        s.executemany("INSERT INTO customers VALUES (?, 'x')", [(i,) for i in range(ROWS)])
        s.execute("CREATE TABLE log (x)")
        s.execute("CREATE TABLE few (x)")
        s.execute("CREATE TRIGGER wipe AFTER INSERT ON log BEGIN "
                  "DELETE FROM customers WHERE id < 2500; END")
        s.execute("CREATE TRIGGER some AFTER INSERT ON few BEGIN "
                  "DELETE FROM customers WHERE id >= 2990; END")
    s.close()
    kernel.ok(f"import sqlite3\nDB = {str(path)!r}")
    return path


def _count(path: Path) -> int:
    with sqlite3.connect(path) as s:
        n = int(s.execute("SELECT count(*) FROM customers").fetchone()[0])
    s.close()
    return n


@pytest.mark.parametrize("code", [
    pytest.param("class C(sqlite3.Connection):\n    pass\ns = sqlite3.connect(DB, factory=C)\n"
                 "s.execute('DELETE FROM customers WHERE id < 2500')", id="factory-subclass"),
    pytest.param("s = sqlite3.connect(DB)\ns.execute('INSERT INTO log VALUES (1)')",
                 id="trigger-on-insert"),
    pytest.param("s = sqlite3.connect(DB, isolation_level=None)\n"
                 "s.execute('INSERT INTO log VALUES (1)')", id="trigger-autocommit"),
    pytest.param("s = sqlite3.connect(DB)\ns.execute('BEGIN')\n"
                 "s.executemany('INSERT INTO log VALUES (?)', [(1,), (2,)])",
                 id="trigger-executemany-in-transaction"),
    pytest.param("s = sqlite3.connect(DB)\n"
                 "s.execute('DELETE FROM customers WHERE id < 2500 RETURNING id').fetchall()",
                 id="returning"),
    pytest.param("s = sqlite3.connect(DB, isolation_level=None)\nfor i in range(2500):\n"
                 "    s.execute('DELETE FROM customers WHERE id = ? RETURNING id', (i,)).fetchall()",
                 id="returning-loop"),
    pytest.param("s = sqlite3.connect(DB)\nfor i in range(1, 1500):\n"
                 "    with s.blobopen('customers', 'email', i) as b:\n        b.write(b'y')",
                 id="blobopen-loop"),
])
def test_more_rows_than_the_limit_are_not_changed(kernel: Kernel, db: Path, code: str) -> None:
    r = kernel.run(code + "\ns.commit()")
    assert r.status == "error" and "[bulk-change]" in r.everything(), r.everything()
    kernel.ok("s.commit()\ns.close()")   # what was kept before the refusal, committed
    with sqlite3.connect(db) as s:
        changed = s.execute("SELECT count(*) FROM customers WHERE email != 'x'").fetchone()[0]
    s.close()
    assert ROWS - _count(db) <= 1000 and changed <= 1000


def test_a_backup_over_a_database_of_tables_the_session_did_not_make_is_refused(
        kernel: Kernel, db: Path) -> None:
    kernel.blocked("m = sqlite3.connect(':memory:')\nm.backup(sqlite3.connect(DB))",
                   "destructive-ddl")
    assert _count(db) == ROWS


@pytest.mark.parametrize("opener", ["sqlite3.Connection", "sqlite3.dbapi2.connect"])
def test_a_connection_the_guard_does_not_see_is_refused(kernel: Kernel, db: Path,
                                                        opener: str) -> None:
    kernel.blocked(f"import sqlite3.dbapi2\ns = {opener}(DB)\n"
                   "s.execute('DELETE FROM customers WHERE id < 2500')\ns.commit()",
                   "self-protection")
    assert _count(db) == ROWS


def test_a_connect_saved_before_the_guard_loaded_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite"
    with sqlite3.connect(path) as s:
        s.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
        s.executemany("INSERT INTO customers VALUES (?)", [(i,) for i in range(ROWS)])
    s.close()
    k = Kernel(tmp_path, {"JUPYTER_GUARD_AUDIT": str(tmp_path / "audit.duckdb"),
                          "JUPYTER_GUARD_POLICY": None})
    try:
        k.ok("from sqlite3 import connect as saved\nimport sqlite3")
        k.ok("%load_ext jupyter_guard")
        k.blocked(f"s = saved({str(path)!r})\ns.execute('DELETE FROM customers WHERE id < 2500')"
                  "\ns.commit()", "self-protection")
        k.ok(f"s = sqlite3.connect({str(path)!r})\ns.execute('DELETE FROM customers WHERE id < 5')"
             "\ns.commit()")
    finally:
        k.stop()
    with sqlite3.connect(path) as s:
        assert s.execute("SELECT count(*) FROM customers").fetchone()[0] == ROWS - 5
    s.close()


def test_honest_twins_run(kernel: Kernel, db: Path) -> None:
    r = kernel.ok("class C(sqlite3.Connection):\n    pass\ns = sqlite3.connect(DB, factory=C)\n"
                  "s.execute('DELETE FROM customers WHERE id < 5')\n"
                  "s.execute('INSERT INTO few VALUES (1)')\n"
                  "print(s.execute('DELETE FROM customers WHERE id = 50 RETURNING id').fetchall())\n"
                  "with s.blobopen('customers', 'email', 100) as b:\n    b.write(b'y')\n"
                  "with s.blobopen('customers', 'email', 101, readonly=True) as b:\n"
                  "    print(b.read())\ns.commit()\nprint(isinstance(s, C))")
    assert "b'x'" in r.stream and "True" in r.stream and "[(50,)]" in r.stream
    assert _count(db) == ROWS - 5 - 10 - 1
