"""Database files as exits, by the database a statement writes into, in a real kernel: an
attached file named by the statement, one a ``USE`` made current (DuckDB's cursors do not see
``USE``), and one attached earlier in the same text. Sensitive values read from the warehouse
reach none of them; aggregates and plain columns do, with correct results."""
from __future__ import annotations

import uuid

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


def _attach(name: str) -> str:
    return f"con.execute(\"ATTACH '{name}' AS x\")\n"


_SEP_UPDATE = ("con.execute('CREATE TABLE x.t AS SELECT id FROM customers')\n"
               "con.execute('ALTER TABLE x.t ADD COLUMN e VARCHAR')\n"
               "con.execute('UPDATE x.t SET e = (SELECT email FROM customers c "
               "WHERE c.id = x.t.id)')")
ATTACKS = [
    pytest.param(_SEP_UPDATE, True, id="update-attached-with-a-sensitive-subquery"),
    pytest.param("con.execute('USE x')\n"
                 "con.execute('CREATE TABLE t AS SELECT * FROM wh.customers')",
                 True, id="use-then-ctas-bare-name"),
    pytest.param("con.execute('USE x')\ncon.execute('CREATE TABLE t (e VARCHAR)')\n"
                 "con.execute('INSERT INTO t SELECT ssn FROM wh.customers')",
                 True, id="use-then-insert-bare-name"),
    pytest.param("con.execute(\"ATTACH '{f}' AS x; USE x; "
                 "CREATE TABLE t AS SELECT * FROM wh.customers\")", False,
                 id="one-text-attach-use-ctas"),
    pytest.param("con.execute(\"ATTACH '{f}' AS x; CREATE TABLE x.t AS SELECT id FROM "
                 "customers; ALTER TABLE x.t ADD COLUMN e VARCHAR; UPDATE x.t SET e = "
                 "(SELECT email FROM customers c WHERE c.id = x.t.id)\")", False,
                 id="one-text-attach-update"),
]


@pytest.mark.parametrize(("code", "attach_first"), ATTACKS)
def test_sensitive_values_reach_no_attached_or_used_database(k: Kernel, code: str,
                                                            attach_first: bool) -> None:
    name = f"x_{uuid.uuid4().hex[:8]}.duckdb"
    if attach_first:
        k.ok(_attach(name))
    try:
        k.blocked(code.replace("{f}", name), "exfiltration")
    finally:
        k.ok("try:\n    con.execute('USE wh')\nexcept Exception:\n    pass\n"
             "try:\n    con.execute('DETACH x')\nexcept Exception:\n    pass")
    _no_raw(_tables(k.workdir / name))


def test_aggregates_and_plain_columns_reach_attached_and_used_databases(k: Kernel) -> None:
    a, b = f"p_{uuid.uuid4().hex[:8]}.duckdb", f"q_{uuid.uuid4().hex[:8]}.duckdb"
    k.ok(f"con.execute(\"ATTACH '{a}' AS pa\")\n"
         "con.execute('CREATE TABLE pa.agg AS SELECT city, count(*) AS n FROM customers "
         "GROUP BY city')\n"
         f"con.execute(\"ATTACH '{b}' AS pb\")\ncon.execute('USE pb')\n"
         "con.execute('CREATE TABLE c AS SELECT id, city FROM wh.customers')\n"
         "con.execute('ALTER TABLE c ADD COLUMN big BOOLEAN')\n"
         "con.execute('UPDATE c SET big = (SELECT o.total > 100 FROM wh.orders o "
         "WHERE o.order_id = c.id)')\n"
         "con.execute('USE wh')\ncon.execute('DETACH pa')\ncon.execute('DETACH pb')")
    counts = dict(_tables(k.workdir / a)["agg"])
    assert sum(counts.values()) == 5000 and set(counts) == {"Paris", "Lyon", "Nice"}
    rows = _tables(k.workdir / b)["c"]
    assert len(rows) == 5000 and sum(1 for r in rows if r[2]) == 1959


def test_a_use_that_failed_does_not_hide_the_current_file(k: Kernel) -> None:
    """``USE`` of a database that does not exist fails and changes nothing: writes still go to
    the connection's own (foreign) file, and are checked as such."""
    from tests.conftest import make_warehouse

    name = f"own_{uuid.uuid4().hex[:8]}.duckdb"
    make_warehouse(k.workdir / "wh_other.duckdb", rows=500)   # the kernel holds wh.duckdb
    k.ok(f"o = duckdb.connect({name!r})\no.execute(\"ATTACH 'wh_other.duckdb' AS w\")\n"
         "try:\n    o.execute('USE nowhere')\nexcept duckdb.Error:\n    pass")
    try:
        k.blocked("o.execute('CREATE TABLE mine AS SELECT email FROM w.customers')",
                  "exfiltration")
    finally:
        k.ok("o.close()")
    _no_raw(_tables(k.workdir / name))
