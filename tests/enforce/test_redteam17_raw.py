"""Routes to a raw DuckDB connection a red team found at the end of stop 37, each from a cell
with no frame walk: the closure of ``con.append``, and the guard's own functions and scratch
connections called from a cell (``connections.unwrap``/``from_object``, ``duck.own_connection``,
the scratch DuckDBs of the parser, the store and the deltas). Each asserts the victim table is
still there and the reach is refused as ``self-protection``; twins: the guarded connection,
``append`` and the statement parser still work, and the audit still records (its ingest uses a
scratch connection)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from jupyter_guard.connections import unwrap
from tests.conftest import make_warehouse, new_workspace
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

DROP = "getattr(raw, 'exe' + 'cute')('DR' + 'OP TABLE victim')\nprint('DROPPED')"


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = new_workspace(work_root)
    make_warehouse(d / "wh.duckdb", rows=50)
    c = unwrap(duckdb.connect(str(d / "wh.duckdb")))
    c.execute("CREATE TABLE victim AS SELECT 1 AS x")
    c.close()
    with guarded_kernel(d, connect=True) as kernel:
        yield kernel


def _victim_left(k: Kernel) -> bool:
    r = k.ok("print('V', con.execute(\"SELECT count(*) FROM duckdb_tables() "
             "WHERE table_name = 'victim'\").fetchall()[0][0])")
    return r.stream.split("V ")[1].split()[0] == "1"


@pytest.mark.parametrize("get", [
    pytest.param("raw = next(c.cell_contents for c in (con.append.__closure__ or ()) "
                 "if type(c.cell_contents).__name__ == 'DuckDBPyConnection')",
                 id="append-closure"),
    pytest.param("from jupyter_guard.connections import unwrap\nraw = unwrap(con)", id="unwrap"),
    pytest.param("from jupyter_guard.connections import conn\nraw = conn.unwrap(con)",
                 id="unwrap-module"),
    pytest.param("from jupyter_guard.connections import from_object\n"
                 "raw = from_object(con, 'x').raw", id="from-object"),
    pytest.param("from jupyter_guard.duck import own_connection\n"
                 "raw = own_connection('wh.duckdb')", id="own-connection"),
    pytest.param("from jupyter_guard import duck\n"
                 "with duck.PARSER.connection() as s:\n    s.execute(\"ATTACH 'wh.duckdb' AS w\")\n"
                 "    s.execute('USE w')\n    raw = s", id="parser-scratch"),
    pytest.param("import jupyter_guard.record.store as st\nraw = st._scratch._hold()",
                 id="store-scratch-holder"),
    pytest.param("import jupyter_guard.record.delta as dl\n"
                 "with dl._SCRATCH.connection() as raw:\n    pass", id="delta-scratch"),
])
def test_no_raw_connection_from_a_cell(k: Kernel, get: str) -> None:
    r = k.run(get + "\n" + DROP)
    assert "DROPPED" not in r.stream, r.everything()
    assert _victim_left(k), r.everything()
    ev = r.everything()   # refused, or (a sealed wrapper) no closure to read at all
    assert "self-protection" in ev or "has no attribute '__closure__'" in ev, ev


def test_the_scratch_connection_is_no_attribute(k: Kernel) -> None:
    r = k.run("import jupyter_guard.record.store as st, jupyter_guard.duck as d\n"
              "print('ATTRS', [n for n in ('con', 'raw') if hasattr(st._scratch, n) "
              "or hasattr(d.PARSER, n)])")
    assert "ATTRS []" in r.stream, r.everything()


def test_honest_work_still_runs(k: Kernel) -> None:
    r = k.ok("import pandas as pd\ncon.execute('CREATE TABLE IF NOT EXISTS notes17(n INTEGER)')\n"
             "con.append('notes17', pd.DataFrame({'n': [1, 2, 3]}))\n"
             "print('SUM', con.execute('SELECT sum(n) FROM notes17').fetchall()[0][0])\n"
             "print('CITIES', len(con.execute('SELECT DISTINCT city FROM customers; "
             "SELECT 1').fetchall()))")
    assert "SUM 6" in r.stream and "CITIES 1" in r.stream, r.everything()
    r = k.ok("%guard status")
    assert "audit" in r.everything().lower(), r.everything()
