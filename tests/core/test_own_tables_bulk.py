"""Changes measured on DuckDB: a table that was already there stays guarded, also when the cell
claims to create it or hides it behind a temporary table of the same name; a displayed
connection stays usable after a change."""
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
