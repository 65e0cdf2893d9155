"""A decoy database file (red team, 2026-11-30): a file made before this session (by another
process) with a table whose ``ssn`` column is empty (or holds made-up values), attached and made
current with ``USE`` or ``search_path``, looked like the warehouse to the database-file exits
("it held sensitive columns, so the same policy governs it") and received the warehouse's real
values, read by a qualified name. Only a connection's own database whose sensitive columns held
values when this process first opened it is governed now; an attached file is foreign whatever
it holds. Every spelling that writes the warehouse's sensitive values into the decoy is refused,
the file keeping no raw value. The twins run: aggregates and plain columns reach the decoy with
correct results."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.enforce.test_db_exits import _no_raw, _tables
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(kernel: Kernel) -> Kernel:
    from tests.conftest import make_warehouse

    make_warehouse(kernel.workdir / "wh.duckdb")
    kernel.ok("import duckdb\ncon = duckdb.connect('wh.duckdb')")
    return kernel


def _decoy(path: Path, ssn_rows: int = 0) -> None:
    """Made outside the guard (another process, an earlier session)."""
    import duckdb

    from jupyter_guard.connections import unwrap

    con = unwrap(duckdb.connect(str(path)))
    con.execute("CREATE TABLE people (id BIGINT, ssn VARCHAR, email VARCHAR)")
    if ssn_rows:
        con.execute(f"INSERT INTO people SELECT range, lpad(CAST(900000000 + range AS VARCHAR), "
                    f"9, '0'), 'z' || range || '@x.org' FROM range({ssn_rows})")
    con.close()


def _reset(k: Kernel) -> None:
    k.ok("for s in ('USE wh', 'RESET search_path', 'DETACH d'):\n"
         "    try:\n        con.execute(s)\n    except duckdb.Error:\n        pass")


ATTACKS = [
    pytest.param("con.execute('USE d')\n"
                 "con.execute('CREATE TABLE x AS SELECT id, ssn FROM wh.customers')",
                 id="use-then-ctas-qualified-source"),
    pytest.param("con.execute('INSERT INTO d.people SELECT id, ssn, email FROM wh.main.customers')",
                 id="insert-select-into-the-decoy-table"),
    pytest.param("con.execute(\"SET search_path = 'd.main'\")\n"
                 "con.execute('INSERT INTO people SELECT id, ssn, email FROM wh.customers')",
                 id="search-path-then-insert"),
    pytest.param("con.execute('USE d')\ncon.execute('CREATE TABLE y AS SELECT * FROM "
                 "wh.customers')", id="use-then-ctas-star"),
    pytest.param("con.execute('COPY FROM DATABASE wh TO d')", id="copy-from-database"),
]


@pytest.mark.parametrize("filled", [0, 20], ids=["empty-ssn", "made-up-ssns"])
@pytest.mark.parametrize("code", ATTACKS)
def test_a_decoy_with_an_ssn_column_gets_no_sensitive_value(k: Kernel, code: str,
                                                           filled: int) -> None:
    name = f"decoy_{uuid.uuid4().hex[:8]}.duckdb"
    _decoy(k.workdir / name, filled)
    k.ok(f"con.execute(\"ATTACH '{name}' AS d\")")
    try:
        r = k.run(code)
        assert not r.ok, r.everything
    finally:
        _reset(k)
    _no_raw(_tables(k.workdir / name))


def test_aggregates_and_plain_columns_reach_the_decoy(k: Kernel) -> None:
    name = f"decoy_{uuid.uuid4().hex[:8]}.duckdb"
    _decoy(k.workdir / name)
    try:
        k.ok(f"con.execute(\"ATTACH '{name}' AS d\")\ncon.execute('USE d')\n"
             "con.execute('CREATE TABLE agg AS SELECT city, count(*) AS n FROM wh.customers "
             "GROUP BY city')\n"
             "con.execute('INSERT INTO people (id) SELECT id FROM wh.customers WHERE id < 10')")
    finally:
        _reset(k)
    tables = _tables(k.workdir / name)
    assert sum(n for _c, n in tables["agg"]) == 5000
    assert sorted(r[0] for r in tables["people"]) == list(range(10))
