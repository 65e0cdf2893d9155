"""Inference through derived sources the first naming missed (red team, 2026-11-30): an
unaliased derived table (``FROM (SELECT ssn AS x …) WHERE x …``, DuckDB allows it), a UNION's
branches (named by the first branch), a LATERAL subquery, ``unnest`` in a derived table, a FROM-less
subquery (``(SELECT ssn) LIKE …`` reads the outer row), a constant ``IN`` a subquery of the
column, and ``JOIN … USING``/``NATURAL JOIN`` with a constant source each answered a yes/no
question about single values. Each is refused (``inference``, no count printed); the benign twins
(joins on a column between tables, a UNION of plain columns filtered on ``city``, a constant in a
subquery of ``city``) run with correct results."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

N = 300


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "redteam2_infer"
    d.mkdir()
    with guarded_kernel(d, warehouse=N, connect=True) as kernel:
        yield kernel


ATTACKS = [
    pytest.param("SELECT count(*) FROM (SELECT ssn AS x FROM customers UNION ALL SELECT 'a') "
                 "WHERE x LIKE '1%'", id="unaliased-union"),
    pytest.param("WITH t AS (SELECT 'a' AS x UNION ALL (SELECT email FROM customers)) "
                 "SELECT count(*) FROM t WHERE x LIKE 'a%'", id="cte-union-second-branch"),
    pytest.param("SELECT count(*) FROM customers c, LATERAL (SELECT c.ssn AS z) l "
                 "WHERE l.z LIKE '1%'", id="lateral"),
    pytest.param("SELECT count(*) FROM (SELECT unnest([ssn]) AS u FROM customers) "
                 "WHERE u LIKE '1%'", id="unnest-in-unaliased"),
    pytest.param("SELECT count(*) FROM customers WHERE (SELECT ssn) LIKE '1%'",
                 id="from-less-subquery"),
    pytest.param("SELECT count(*) FROM (SELECT '123' AS k) q "
                 "WHERE k IN (SELECT ssn FROM customers)", id="constant-in-subquery"),
    pytest.param("SELECT '123' = (SELECT max(ssn) FROM customers)", id="constant-eq-scalar"),
    pytest.param("SELECT count(*) FROM customers JOIN (SELECT '123' AS ssn) USING (ssn)",
                 id="using-constant"),
    pytest.param("SELECT count(*) FROM customers NATURAL JOIN (SELECT '123' AS ssn)",
                 id="natural-constant"),
    pytest.param("SELECT count(*) FROM (VALUES ('a@b.c')) v(email) JOIN customers "
                 "USING (email)", id="values-using-first"),
    pytest.param("SELECT count(*) FROM (SELECT {'a': ssn} AS s FROM customers) "
                 "WHERE s.a LIKE '1%'", id="struct-field-of-derived"),
    pytest.param("SELECT count(*) FROM (PIVOT customers ON city USING first(ssn) GROUP BY id) "
                 "WHERE Lyon LIKE '1%'", id="pivot"),
    pytest.param("SELECT count(*) FROM (SELECT list(ssn) AS l FROM customers) t, "
                 "unnest(t.l) AS u(v) WHERE u.v LIKE '1%'", id="unnest-of-derived-list"),
]


@pytest.mark.parametrize("q", ATTACKS)
def test_comparing_through_a_derived_source_is_refused(k: Kernel, q: str) -> None:
    r = k.blocked(f"print('ANSWER', con.sql({q!r}).fetchall())", "inference")
    assert "ANSWER" not in r.stream


def test_benign_twins_run_with_correct_results(k: Kernel) -> None:
    r = k.ok("print(con.sql(\"SELECT count(*) FROM (SELECT id, city FROM customers UNION ALL "
             "SELECT id, city FROM customers) WHERE city = 'Lyon'\").fetchall())")
    assert r.stream.strip() == f"[({2 * len(range(1, N, 3))},)]"
    r = k.ok("print(con.sql('SELECT count(*) FROM customers c JOIN (SELECT id, email FROM "
             "customers) d USING (email)').fetchall())")
    assert r.stream.strip() == f"[({N},)]"
    r = k.ok("print(con.sql(\"SELECT count(*) FROM customers WHERE 'Lyon' IN (SELECT city FROM "
             "customers)\").fetchall())")
    assert r.stream.strip() == f"[({N},)]"
    r = k.ok("print(con.sql('SELECT count(*) FROM customers c, LATERAL (SELECT c.amount * 2 "
             "AS z) l WHERE l.z > 0').fetchall()[0][0] > 0)")
    assert r.stream.strip() == "True"


SAVED = [
    pytest.param("CREATE TEMP VIEW rv1 AS SELECT ssn AS n FROM customers",
                 "SELECT count(*) FROM rv1 WHERE n LIKE '1%'", id="temp-view"),
    pytest.param("CREATE VIEW rv2(n, i) AS SELECT c.email, c.id FROM customers c",
                 "SELECT count(*) FROM rv2 WHERE n = 'user1@example.com'", id="view-renamed"),
    pytest.param("CREATE VIEW rv3 AS SELECT n AS m FROM rv1",
                 "SELECT count(*) FROM rv3 r WHERE r.m LIKE '1%'", id="view-of-a-view"),
    pytest.param("CREATE TEMP TABLE rt4 AS SELECT ssn AS q FROM customers",
                 "SELECT count(*) FROM rt4 WHERE q LIKE '1%'", id="temp-table-as"),
    pytest.param("CREATE MACRO rm5() AS TABLE SELECT ssn AS s FROM customers",
                 "SELECT count(*) FROM rm5() WHERE s LIKE '1%'", id="table-macro"),
    pytest.param("SELECT 1", "SELECT count(*) FROM query('SELECT ssn AS s FROM customers') "
                 "WHERE s LIKE '1%'", id="query-table-function"),
    pytest.param("CREATE MACRO rm6(a) AS a LIKE '1%'",
                 "SELECT count(*) FROM customers WHERE rm6(ssn)", id="scalar-macro"),
    pytest.param("CREATE MACRO rm7(a, b) AS starts_with(b, a)",
                 "SELECT count(*) FROM customers WHERE rm7('1', email)", id="scalar-macro-args"),
    pytest.param("CREATE VIEW rv8 AS FROM customers",
                 "SELECT count(*) FROM rv8 WHERE ssn LIKE '1%'", id="view-from-first"),
]


@pytest.mark.parametrize(("make", "q"), SAVED)
def test_comparing_through_a_view_or_table_made_earlier_is_refused(k: Kernel, make: str,
                                                                  q: str) -> None:
    k.ok(f"con.execute({make!r})")
    r = k.blocked(f"print('ANSWER', con.sql({q!r}).fetchall())", "inference")
    assert "ANSWER" not in r.stream


def test_views_of_plain_columns_run_with_correct_results(k: Kernel) -> None:
    k.ok("con.execute('CREATE TEMP VIEW rb1 AS SELECT id, city, email FROM customers')")
    r = k.ok("print(con.sql(\"SELECT count(*) FROM rb1 WHERE city = 'Lyon'\").fetchall())")
    assert r.stream.strip() == f"[({len(range(1, N, 3))},)]"
    r = k.ok("print(con.sql('SELECT count(*) FROM rb1 JOIN customers c USING (email)')"
             ".fetchall())")
    assert r.stream.strip() == f"[({N},)]"
    k.ok("con.execute(\"CREATE MACRO rb2(c) AS c = 'Lyon'\")\n"
         "con.execute('CREATE MACRO rb3(a) AS a * 2')")
    r = k.ok("print(con.sql('SELECT count(*) FROM customers WHERE rb2(city)').fetchall())")
    assert r.stream.strip() == f"[({len(range(1, N, 3))},)]"
    r = k.ok("print(con.sql('SELECT sum(rb3(id)) FROM customers').fetchall())")
    assert r.stream.strip() == f"[({2 * sum(range(N))},)]"
    r = k.ok("print(con.sql('SELECT count(*) FROM (PIVOT customers ON city USING sum(amount) "
             "GROUP BY id) WHERE Lyon > 0').fetchall())")
    assert r.stream.strip() == f"[({len(range(1, N, 3))},)]"
