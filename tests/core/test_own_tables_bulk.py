"""A table the session made itself (in an earlier cell or the same one, temporary or in a
database it attached empty) may be emptied or rewritten whole: `bulk-change` guards the data
others own. Ownership is earned by effect: a table that was already there stays guarded, also
when the cell claims to create it or hides it behind a temporary table of the same name."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "ownbulk"
    d.mkdir()
    with guarded_kernel(d, warehouse=3000, connect=True) as kernel:
        yield kernel


def _count(k: Kernel, table: str, con: str = "con") -> int:
    r = k.ok(f"print({con}.sql('SELECT count(*) FROM {table}').fetchall()[0][0])")
    return int(r.stream.strip())


@pytest.mark.parametrize("cells, table, con", [
    (["con.execute('CREATE TABLE own_a AS SELECT * FROM range(5000)')",
      "con.execute('DELETE FROM own_a')"], "own_a", "con"),
    (["con.execute('CREATE TABLE own_b AS SELECT * FROM range(5000)')\n"
      "con.execute('DELETE FROM own_b')"], "own_b", "con"),
    (["con.execute('CREATE TEMP TABLE own_t AS SELECT * FROM range(3000)')\n"
      "con.execute('DELETE FROM own_t')"], "own_t", "con"),
    (["import duckdb\nmem = duckdb.connect()\n"
      "mem.execute('CREATE TABLE t AS SELECT * FROM range(2000)')",
      "mem.execute('DELETE FROM t')"], "t", "mem"),
    (["%%guarded_sql con\nCREATE TABLE own_c AS SELECT * FROM range(3000);\nDELETE FROM own_c"],
     "own_c", "con"),
])
def test_the_sessions_own_tables_may_be_emptied(k: Kernel, cells: list[str], table: str,
                                                con: str) -> None:
    for code in cells:
        k.ok(code)
    assert _count(k, table, con) == 0


def test_updating_every_row_of_an_own_table_runs(k: Kernel) -> None:
    k.ok("con.execute('CREATE TABLE own_u AS SELECT range AS v FROM range(4000)')")
    k.ok("con.execute('UPDATE own_u SET v = 0')")
    assert k.ok("print(con.sql('SELECT sum(v) FROM own_u').fetchall()[0][0])").stream.strip() == "0"


@pytest.mark.parametrize("code", [
    "con.execute('DELETE FROM customers')",
    "con.execute('CREATE TABLE IF NOT EXISTS customers AS SELECT 1 AS id')\n"
    "con.execute('DELETE FROM customers')",
    "con.execute('CREATE TEMP TABLE customers AS SELECT * FROM customers LIMIT 0')\n"
    "con.execute('DELETE FROM main.customers')",
    "con.execute('UPDATE customers SET city = NULL')",
])
def test_tables_the_session_did_not_make_stay_guarded(k: Kernel, code: str) -> None:
    r = k.run(code)
    assert r.status == "error" and "[bulk-change]" in r.everything(), r.everything()
    assert _count(k, "main.customers") == 3000


def test_a_change_shown_as_the_cells_result_leaves_the_connection_usable(k: Kernel) -> None:
    """The connection a DELETE returns is displayed (IPython probes it for ``_repr_html_`` and
    the like); the next statement then runs, as it does without the guard."""
    k.ok("con.execute('CREATE TABLE shown AS SELECT range AS v FROM range(10)')")
    k.ok("con.execute('DELETE FROM shown WHERE v < 3')")
    assert _count(k, "shown") == 7
    r = k.ok("print(con.execute('DELETE FROM shown WHERE v = 5').fetchall())")
    assert r.stream.strip() == "[(1,)]"
