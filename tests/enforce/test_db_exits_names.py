"""Tables found by the name a statement gives them, not by their bare name (red team,
2026-11-30): with a plain ``customers`` (no sensitive column) in an attached file ``p`` beside
the warehouse's, ``CREATE TABLE n.x AS SELECT * FROM p.customers`` was refused as "columns the
guard could not tell" (``p.customers`` was no key of the catalog), and after ``USE p`` a bare
``customers`` was judged by every database's ``customers`` together. Now the honest copies run
with correct results, while the warehouse's ``customers`` (qualified, or bare while it is the
current one) is still refused, and a whole row compared with a pattern is judged by every table
of its name (a ``USE`` in the same text may change which one it is)."""
from __future__ import annotations

import uuid

import pytest

from tests.enforce.test_db_exits import _no_raw, _tables
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(kernel: Kernel) -> Kernel:
    import duckdb

    from jupyter_guard.connections import unwrap
    from tests.conftest import make_warehouse

    make_warehouse(kernel.workdir / "wh.duckdb")
    p = unwrap(duckdb.connect(str(kernel.workdir / "plain.duckdb")))   # made elsewhere
    p.execute("CREATE TABLE customers AS SELECT range AS id, 'Lyon' AS city FROM range(10)")
    p.close()
    kernel.ok("import duckdb\ncon = duckdb.connect('wh.duckdb')\n"
              "con.execute(\"ATTACH 'plain.duckdb' AS p\")")
    return kernel


def _new() -> str:
    return f"n_{uuid.uuid4().hex[:8]}.duckdb"


def test_a_plain_namesake_in_another_database_is_copied(k: Kernel) -> None:
    a, b = _new(), _new()
    k.ok(f"con.execute(\"ATTACH '{a}' AS na\")\n"
         "con.execute('CREATE TABLE na.x AS SELECT * FROM p.customers')\n"
         f"con.execute(\"ATTACH '{b}' AS nb; CREATE TABLE nb.x AS SELECT * FROM p.main.customers\")"
         "\ncon.execute('USE p')")
    # (a cell is judged before it runs: the ``USE`` is in a cell of its own)
    k.ok("con.execute('CREATE TABLE na.y AS SELECT * FROM customers')")
    k.ok("con.execute('USE wh')\ncon.execute('DETACH na')\ncon.execute('DETACH nb')")
    got_a, got_b = _tables(k.workdir / a), _tables(k.workdir / b)
    assert sorted(got_a["x"]) == sorted(got_a["y"]) == [(i, "Lyon") for i in range(10)]
    assert len(got_b["x"]) == 10


@pytest.mark.parametrize("code", [
    pytest.param("con.execute('CREATE TABLE nc.w AS SELECT * FROM wh.customers')",
                 id="qualified-while-another-is-current"),
    pytest.param("con.execute('USE wh')\ncon.execute('CREATE TABLE nc.w AS SELECT * FROM "
                 "customers')", id="bare-once-current-again"),
])
def test_the_warehouse_namesake_is_still_refused(k: Kernel, code: str) -> None:
    c = _new()
    k.ok(f"con.execute(\"ATTACH '{c}' AS nc\")\ncon.execute('USE p')")
    try:
        k.blocked(code, "exfiltration")
    finally:
        k.ok("con.execute('USE wh')\ncon.execute('DETACH nc')")
    _no_raw(_tables(k.workdir / c))


def test_a_whole_row_is_judged_by_every_table_of_its_name(k: Kernel) -> None:
    k.ok("con.execute('USE p')")
    try:
        r = k.blocked("print('ANSWER', con.execute(\"USE wh; SELECT count(*) FROM customers c "
                      "WHERE c::VARCHAR LIKE '%1000%'\").fetchall())", "inference")
        assert "ANSWER" not in r.stream
    finally:
        k.ok("con.execute('USE wh')")


def test_a_ctas_in_the_attaching_text_is_judged_by_what_it_selects(k: Kernel) -> None:
    """A database attached in the same text receives the plain columns a query selects from the
    warehouse's ``customers`` (its sensitive columns are not selected), with correct rows."""
    a = _new()
    k.ok(f"con.execute(\"ATTACH '{a}' AS nd; CREATE TABLE nd.t AS SELECT id, city FROM "
         "customers WHERE id < 30; CREATE TABLE nd.u AS SELECT c.id, o.total FROM customers c "
         "JOIN orders o ON o.customer_id = c.id\")\ncon.execute('DETACH nd')")
    got = _tables(k.workdir / a)
    assert sorted(got["t"]) == [(i, ("Paris", "Lyon", "Nice")[i % 3]) for i in range(30)]
    assert len(got["u"]) == 2000
    _no_raw(got)
