"""Database files as exits, by the statement's target (red team, 2026-11-30): ``SET
search_path``/``SET schema`` (any spelling), and a ``USE`` after a comment, make an attached file
where bare table names are created, as ``USE`` does; and ``MERGE INTO x.t … INSERT VALUES (…)``
(or ``INSERT *``, ``UPDATE SET``) wrote its rows unchecked. Each wrote 500 e-mails and SSNs into
the other file; now refused (``exfiltration``) and the file holds no raw value. Benign twins: an
aggregate through a search path, a MERGE of plain columns, and ``RESET search_path``, with correct
contents."""
from __future__ import annotations

import uuid

import pytest

from tests.enforce.test_db_exits import _no_raw, _tables
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

ROWS = "SELECT id, email, ssn FROM wh.customers"


@pytest.fixture(scope="module")
def k(kernel: Kernel) -> Kernel:
    from tests.conftest import make_warehouse

    make_warehouse(kernel.workdir / "wh.duckdb")
    kernel.ok("import duckdb\ncon = duckdb.connect('wh.duckdb')")
    return kernel


def _sets(stmt: str) -> str:
    return f"con.execute({stmt!r})\ncon.execute('CREATE TABLE t AS {ROWS}')"


_MERGE = ("con.execute('CREATE TABLE x.t (id BIGINT, email VARCHAR, ssn VARCHAR)')\n"
          "con.execute('MERGE INTO x.t USING wh.customers c ON x.t.id = c.id {w}')")
ATTACKS = [
    pytest.param(_sets("SET search_path = 'x.main'"), id="search-path-db-schema"),
    pytest.param(_sets("SET search_path = 'x'"), id="search-path-db"),
    pytest.param(_sets("SET SESSION search_path TO '\"x\".main,main'"), id="search-path-to"),
    pytest.param(_sets("SET schema = 'x.main'"), id="set-schema"),
    pytest.param(_sets("SET search_path = x"), id="search-path-unquoted"),
    pytest.param(_sets('SET search_path = "x.main"'), id="search-path-double-quoted"),
    pytest.param(_sets("/* here */ USE x"), id="use-after-comment"),
    pytest.param("con.execute('-- a comment\\nUSE x')\n"
                 f"con.execute('CREATE TABLE t AS {ROWS}')", id="use-after-line-comment"),
    pytest.param(_MERGE.format(w="WHEN NOT MATCHED THEN INSERT VALUES (c.id, c.email, c.ssn)"),
                 id="merge-insert-values"),
    pytest.param(_MERGE.format(w="WHEN NOT MATCHED THEN INSERT *").replace(
        "USING wh.customers c", f"USING ({ROWS}) c"), id="merge-insert-star"),
    pytest.param(_MERGE.format(w="WHEN NOT MATCHED THEN INSERT BY NAME").replace(
        "USING wh.customers c ON x.t.id = c.id", f"USING ({ROWS}) c USING (id)"),
        id="merge-using-by-name"),
    pytest.param("con.execute('CREATE TABLE x.t AS SELECT id, NULL::VARCHAR AS e FROM "
                 "wh.customers')\ncon.execute('MERGE INTO x.t USING wh.customers c ON x.t.id = "
                 "c.id WHEN MATCHED THEN UPDATE SET e = c.ssn')", id="merge-update-set"),
]


@pytest.mark.parametrize("code", ATTACKS)
def test_sensitive_values_reach_no_file_by_search_path_or_merge(k: Kernel, code: str) -> None:
    name = f"x_{uuid.uuid4().hex[:8]}.duckdb"
    k.ok(f"con.execute(\"ATTACH '{name}' AS x\")")
    try:
        k.blocked(code, "exfiltration")
    finally:
        k.ok("for s in ('RESET search_path', 'USE wh', 'DETACH x'):\n"
             "    try:\n        con.execute(s)\n    except Exception:\n        pass")
    _no_raw(_tables(k.workdir / name))


def test_search_path_aggregates_and_merged_plain_columns_arrive_intact(k: Kernel) -> None:
    a = f"p_{uuid.uuid4().hex[:8]}.duckdb"
    k.ok(f"con.execute(\"ATTACH '{a}' AS pa\")\n"
         "con.execute(\"SET search_path = 'pa.main'\")\n"
         "con.execute('CREATE TABLE agg AS SELECT city, count(*) AS n FROM wh.customers "
         "GROUP BY city')\n"
         "con.execute('RESET search_path')\n"
         "con.execute('CREATE TABLE pa.m (id BIGINT, city VARCHAR)')\n"
         "con.execute('MERGE INTO pa.m USING customers c ON pa.m.id = c.id "
         "WHEN NOT MATCHED THEN INSERT VALUES (c.id, c.city)')\n"
         "con.execute('CREATE TABLE pa.u (id BIGINT, city VARCHAR)')\n"
         "con.execute('MERGE INTO pa.u USING (SELECT id, city FROM customers) s USING (id) "
         "WHEN NOT MATCHED THEN INSERT BY NAME')")
    r = k.ok("print(con.execute('SELECT count(*) FROM customers').fetchall())\n"
             "con.execute('DETACH pa')")
    assert r.stream.strip() == "[(5000,)]"   # RESET: bare names are the warehouse's again
    tables = _tables(k.workdir / a)
    counts = dict(tables["agg"])
    assert sum(counts.values()) == 5000 and set(counts) == {"Paris", "Lyon", "Nice"}
    for t in ("m", "u"):
        assert len(tables[t]) == 5000 and {r[1] for r in tables[t]} == {"Paris", "Lyon", "Nice"}
