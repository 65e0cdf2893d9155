"""sqlite3 copies and bound values, by effect in a real kernel.

``VACUUM [schema] INTO 'file'`` copies a database into a new file: a database with no sensitive
column or value is copied as asked; one whose columns are named sensitive, or whose rows hold
sensitive values, is refused and no file appears. DuckDB's ``VACUUM`` and ``CHECKPOINT`` run.

A statement analysed once per text still reads its bound values where one could make the
``WHERE`` always true, and an ``executemany`` into a file has every value scanned, however
many come before the sensitive ones."""
from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import make_warehouse
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

_N = itertools.count()


@pytest.fixture(scope="module")
def k(kernel: Kernel) -> Kernel:
    make_warehouse(kernel.workdir / "wh.duckdb", rows=200)
    kernel.ok("import duckdb, sqlite3\ncon = duckdb.connect('wh.duckdb')\n"
              "df = con.execute('SELECT id, email FROM customers ORDER BY id').df()")
    return kernel


def _db(k: Kernel, table: str, rows: list[tuple[object, ...]]) -> Path:
    path = k.workdir / f"c{next(_N)}.db"
    with sqlite3.connect(path) as s:   # made outside the guard
        s.execute(f"CREATE TABLE {table}")
        marks = ", ".join("?" * len(rows[0]))
        s.executemany(f"INSERT INTO {table.split(' ')[0]} VALUES ({marks})", rows)
    s.close()
    return path


def _rows(path: Path, table: str) -> int:
    with sqlite3.connect(path) as s:
        n = int(s.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    s.close()
    return n


def test_a_plain_database_is_copied_by_vacuum_into(k: Kernel) -> None:
    src = _db(k, "sales (id INTEGER PRIMARY KEY, amount REAL)",
              [(i, i * 1.5) for i in range(3000)])
    out = k.workdir / f"copy{next(_N)}.db"
    k.ok(f"s = sqlite3.connect({str(src)!r})\ns.execute(\"VACUUM INTO '{out}'\")\ns.close()")
    assert _rows(out, "sales") == 3000


def test_vacuum_of_an_attached_plain_schema_runs(k: Kernel) -> None:
    src = _db(k, "sales (id INTEGER PRIMARY KEY, amount REAL)", [(i, 1.0) for i in range(10)])
    out = k.workdir / f"copy{next(_N)}.db"
    k.ok(f"s = sqlite3.connect(':memory:')\ns.execute('ATTACH ' + repr({str(src)!r}) + ' AS p')\n"
         f"s.execute('VACUUM \"p\" INTO ?', ({str(out)!r},))\ns.close()")
    assert _rows(out, "sales") == 10


@pytest.mark.parametrize("table,rows", [
    pytest.param("people (id INTEGER PRIMARY KEY, ssn TEXT)", [(i, f"x{i}") for i in range(50)],
                 id="sensitive-column-name"),
    pytest.param("people (id INTEGER PRIMARY KEY, notes TEXT)",
                 [(i, f"user{i}@corp.example.com") for i in range(50)], id="sensitive-values"),
])
@pytest.mark.parametrize("attached", [False, True], ids=["main", "attached"])
def test_a_copy_of_sensitive_data_is_refused(k: Kernel, table: str, rows: list[tuple[object, ...]],
                                             attached: bool) -> None:
    src = _db(k, table, rows)
    out = k.workdir / f"copy{next(_N)}.db"
    code = (f"s = sqlite3.connect(':memory:')\ns.execute('ATTACH ' + repr({str(src)!r}) + ' AS w')"
            f"\ns.execute(\"VACUUM w INTO '{out}'\")" if attached else
            f"s = sqlite3.connect({str(src)!r})\ns.execute(\"VACUUM INTO '{out}'\")")
    k.blocked(code, "exfiltration")
    assert not out.exists()


@pytest.mark.parametrize("sql", ["VACUUM", "VACUUM ANALYZE customers", "CHECKPOINT"])
def test_duckdb_vacuum_and_checkpoint_run(k: Kernel, sql: str) -> None:
    k.ok(f"con.execute({sql!r})")
    k.ok(f"%%guarded_sql con\n{sql}")
    assert k.ok("print(con.execute('SELECT count(*) FROM customers').fetchone()[0])") \
        .stream.strip() == "200"


@pytest.mark.parametrize("code", [
    pytest.param("s.execute('DELETE FROM t WHERE ?', (1,))", id="bare-placeholder"),
    pytest.param("s.execute('DELETE FROM t WHERE id = ? OR ? = 1', (3, 1))", id="or-true"),
    pytest.param("s.executemany('DELETE FROM t WHERE ?', [(0,), (1,)])", id="executemany"),
    pytest.param("s.execute('UPDATE t SET v = ? WHERE ? = ?', ('z', 2, 2))", id="update"),
])
def test_a_bound_value_that_makes_the_where_always_true_is_refused(k: Kernel, code: str) -> None:
    src = _db(k, "t (id INTEGER PRIMARY KEY, v TEXT)", [(i, "x") for i in range(20)])
    k.blocked(f"s = sqlite3.connect({str(src)!r})\ntry:\n    {code}\nfinally:\n    s.commit()",
              "bulk-change")
    assert _rows(src, "t WHERE v = 'x'") == 20


def test_bound_point_statements_run_with_their_values(k: Kernel) -> None:
    src = _db(k, "t (id INTEGER PRIMARY KEY, v TEXT)", [(i, "x") for i in range(20)])
    k.ok(f"s = sqlite3.connect({str(src)!r})\nfor i in range(5):\n"
         "    s.execute('UPDATE t SET v = ? WHERE id = ?', ('y', i))\n"
         "s.executemany('DELETE FROM t WHERE id = ?', [(i,) for i in range(15, 20)])\n"
         "print(s.execute('SELECT v FROM t WHERE id = ?', (4,)).fetchall())\ns.commit()")
    assert _rows(src, "t WHERE v = 'y'") == 5 and _rows(src, "t") == 15


def test_every_bound_value_of_an_executemany_into_a_file_is_scanned(k: Kernel) -> None:
    out = k.workdir / f"many{next(_N)}.db"
    k.blocked(f"s = sqlite3.connect({str(out)!r})\ns.execute('CREATE TABLE t (v TEXT)')\n"
              "rows = [('filler ' * 40,)] * 6000 + [(v,) for v in df.email]\n"
              "try:\n    s.executemany('INSERT INTO t VALUES (?)', rows)\n"
              "finally:\n    s.commit()", "exfiltration")
    assert _rows(out, "t") == 0
