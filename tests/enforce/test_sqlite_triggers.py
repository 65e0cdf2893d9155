"""``CREATE TRIGGER`` through sqlite3, by effect in a real kernel: an honest trigger that writes
an audit table is created and fires (the audit row is there), one that deletes rows is created
and judged when it fires (the insert that fires it is refused, every customer is still there), a
trigger in a ``TEMP`` spelling and with a ``WHEN`` clause reads the same, and a body with no
``END`` is refused as unreadable."""
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
    path = kernel.workdir / f"t{next(_N)}.sqlite"
    with sqlite3.connect(path) as s:   # made outside the guard
        s.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT)")
        s.executemany("INSERT INTO customers VALUES (?, 'x')", [(i,) for i in range(ROWS)])
        s.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, amount REAL)")
        s.execute("CREATE TABLE audit (what TEXT)")
        s.execute("CREATE TABLE log (x)")
    s.close()
    kernel.ok(f"import sqlite3\ns = sqlite3.connect({str(path)!r})")
    return path


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as s:
        rows = s.execute(sql).fetchall()
    s.close()
    return rows


@pytest.mark.parametrize("create", [
    pytest.param("CREATE TRIGGER audit_ins AFTER INSERT ON orders BEGIN "
                 "INSERT INTO audit VALUES ('order ' || NEW.id); END", id="plain"),
    pytest.param("CREATE TRIGGER IF NOT EXISTS audit_ins AFTER INSERT ON orders "
                 "FOR EACH ROW WHEN NEW.amount > 0 BEGIN "
                 "INSERT INTO audit VALUES ('order ' || NEW.id); END;", id="when-clause"),
])
def test_audit_trigger_runs(kernel: Kernel, db: Path, create: str) -> None:
    kernel.ok(f"s.execute({create!r})\ns.execute('INSERT INTO orders VALUES (7, 9.5)')\n"
              "s.commit()")
    assert _rows(db, "SELECT what FROM audit") == [("order 7",)]
    assert _rows(db, "SELECT name FROM sqlite_master WHERE type = 'trigger'") == [("audit_ins",)]


def test_deleting_trigger_judged_when_it_fires(kernel: Kernel, db: Path) -> None:
    kernel.ok("s.execute('CREATE TRIGGER wipe AFTER INSERT ON log BEGIN "
              "DELETE FROM customers; END')\ns.commit()")
    r = kernel.run("s.execute('INSERT INTO log VALUES (1)')\ns.commit()")
    assert r.status == "error" and "[bulk-change]" in r.everything(), r.everything()
    kernel.ok("s.commit()")
    assert _rows(db, "SELECT count(*) FROM customers") == [(ROWS,)]
    kernel.ok("s.execute('CREATE TEMP TRIGGER few AFTER INSERT ON audit BEGIN "
              "DELETE FROM customers WHERE id < 3; END')\n"
              "s.execute(\"INSERT INTO audit VALUES ('x')\")\ns.commit()")   # the benign twin
    assert _rows(db, "SELECT count(*) FROM customers") == [(ROWS - 3,)]


def test_trigger_without_end_refused(kernel: Kernel, db: Path) -> None:
    r = kernel.run("s.execute('CREATE TRIGGER t AFTER INSERT ON log BEGIN DELETE FROM customers;')")
    assert r.status == "error" and "Blocked by jupyter_guard" in r.everything(), r.everything()
    assert _rows(db, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'") == [(0,)]
