"""A sensitive column renamed by an alias column list (``FROM customers t(a, b, c)``, a derived
table's or a CTE's), named by its position (DuckDB's ``#3``), or compared in a ``PIVOT … ON
<expression>`` is the column it is (issue 15; red team 20): each spelling is refused as
``inference`` in a real guarded kernel on a real DuckDB warehouse file, through ``con.sql``,
``con.execute`` with a bound guess, ``%%guarded_sql`` with a bound variable and a registered
Python function, and no answer reaches any message the kernel sent. The benign twins (the same
spellings on other columns, ``#1`` on the id, a PIVOT on a plain column) give the answers a
raw DuckDB connection gives on the same file.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.enforce.raw_answers import Answers, answered_kernel, ask, refused, same_answer
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

N = 300
G = "100000012"   # an SSN the warehouse holds (customer 12)

ATTACKS = {
    "alias-like": "SELECT a FROM customers t(a, b, c) WHERE c LIKE '1000000%'",
    "alias-equal": f"SELECT a, b FROM customers t(a, b, c) WHERE c = '{G}'",
    "alias-qualified": f"SELECT count(*) FROM customers t(a, b, c) WHERE t.c = '{G}'",
    "alias-email": "SELECT a FROM customers t(a, b) WHERE b LIKE 'user12@%'",
    "alias-rank": "SELECT count(*) FROM customers t(a, b, c) WHERE c > '100000150'",
    "alias-shown": f"SELECT a, c = '{G}' AS hit FROM customers t(a, b, c) WHERE a = 12",
    "alias-join": f"SELECT count(*) FROM customers t(a, b, c) JOIN orders o "
                  f"ON o.customer_id = t.a WHERE c = '{G}'",
    "alias-subquery": f"SELECT a FROM (SELECT * FROM customers) t(a, b, c) WHERE c = '{G}'",
    "alias-cte": f"WITH t(a, b, c) AS (SELECT * FROM customers) SELECT a FROM t WHERE c = '{G}'",
    "alias-of-a-cte": f"WITH w AS (SELECT id, email, ssn FROM customers) "
                      f"SELECT x FROM w t(x, y, z) WHERE z = '{G}'",
    "positional": f"SELECT count(*) FROM customers WHERE #3 = '{G}'",
    "positional-like": "SELECT id FROM customers WHERE #3 LIKE '1000000%'",
    "positional-shown": "SELECT id, #3 LIKE '1000000%' FROM customers WHERE id = 12",
    "positional-derived": f"SELECT count(*) FROM (SELECT id, ssn FROM customers) WHERE #2 = '{G}'",
    "positional-join": f"SELECT count(*) FROM customers c, orders o "
                       f"WHERE o.order_id = 1 AND #3 = '{G}'",
    "star-rename": f"SELECT count(*) FROM (SELECT * RENAME (ssn AS zz) FROM customers) "
                   f"WHERE zz = '{G}'",   # red team 21
    "star-rename-shown": "SELECT id, zz LIKE '1000000%' FROM (SELECT * RENAME (ssn AS zz) "
                         "FROM customers) WHERE id < 40",
    # red team 21: UNPIVOT's value column, an aliased ``COLUMNS``, a struct's fields, query_table
    "unpivot": f"SELECT id FROM (UNPIVOT customers ON ssn, email INTO NAME k VALUE v) "
               f"WHERE v = '{G}'",
    "unpivot-columns": f"SELECT id FROM (UNPIVOT (SELECT id, ssn, city FROM customers) "
                       f"ON COLUMNS(* EXCLUDE (id)) INTO NAME k VALUE v) WHERE v = '{G}'",
    "unpivot-like": "SELECT id FROM (UNPIVOT customers ON ssn, city INTO NAME k VALUE v) "
                    "WHERE v LIKE '1000000%'",
    "unpivot-shown": "SELECT id, v LIKE '1000000%' FROM (UNPIVOT customers ON ssn, email "
                     "INTO NAME k VALUE v) WHERE id < 40",
    "unnest-struct-pack": f"SELECT id FROM (SELECT id, unnest(struct_pack(v := ssn)) "
                          f"FROM customers) WHERE v = '{G}'",
    "columns-aliased": f"SELECT id FROM (SELECT COLUMNS('s.n') AS q, id FROM customers) "
                       f"WHERE q = '{G}'",
    "unnest-struct": f"SELECT id FROM (SELECT id, unnest({{'v': ssn}}) FROM customers) "
                     f"WHERE v = '{G}'",
    "query-table": f"SELECT c0 FROM query_table('customers') t(c0, c1, c2) WHERE c2 = '{G}'",
    "query-table-named": f"SELECT id FROM query_table('customers') WHERE ssn = '{G}'",
    "pivot-equal": f"PIVOT customers ON (ssn = '{G}') USING count(*)",
    "pivot-rank": "PIVOT customers ON (ssn > '100000150') USING count(*)",
    "pivot-subquery": f"SELECT * FROM (PIVOT customers ON (ssn = '{G}') USING count(*))",
}
HONEST = {
    "alias-list": "SELECT a, d FROM customers t(a, b, c, d) WHERE d = 'Paris' ORDER BY a LIMIT 5",
    "alias-subquery": "SELECT a FROM (SELECT * FROM customers) t(a, b, c, d) "
                      "WHERE d = 'Lyon' ORDER BY a LIMIT 3",
    "alias-cte": "WITH t(a, b, c, d) AS (SELECT * FROM customers) "
                 "SELECT count(*) FROM t WHERE d = 'Nice'",
    "alias-short": "SELECT count(*) FROM customers t(a) WHERE a < 40 AND city = 'Paris'",
    # a domain filter and a data-quality check keep working through the list (the crowd probe)
    "alias-domain": "SELECT count(*) FROM customers t(a, b) "
                    "WHERE a < 100 AND b LIKE '%@example.com'",
    "alias-length": "SELECT count(*) FROM customers t(a, b, c) WHERE length(c) <> 9",
    "star-rename": "SELECT count(*) FROM (SELECT * RENAME (city AS town) FROM customers) "
                   "WHERE town = 'Paris'",
    "unpivot-city": "SELECT count(*) FROM (UNPIVOT (SELECT id, city, upper(city) AS c2 FROM "
                    "customers) ON city, c2 INTO NAME k VALUE v) WHERE v = 'Paris'",
    "columns-aliased": "SELECT count(*) FROM (SELECT COLUMNS('c.ty') AS q, id FROM customers) "
                       "WHERE q = 'Lyon'",
    "unnest-struct": "SELECT count(*) FROM (SELECT id, unnest({'w': city}) FROM customers) "
                     "WHERE w = 'Nice'",
    "query-table": "SELECT count(*) FROM query_table('customers') t(a, b, c, d) WHERE d = 'Paris'",
    "positional-id": "SELECT count(*) FROM customers WHERE #1 = 12",
    "positional-city": "SELECT #4, count(*) FROM customers GROUP BY 1 ORDER BY 1",
    # a PIVOT keeps every other column as a key (``customers``' are masked): keys chosen here
    "pivot-city": "PIVOT (SELECT city FROM customers) ON city USING count(*)",
    "pivot-city-amount": "SELECT * FROM (PIVOT (SELECT city, id < 100 AS low, amount FROM "
                         "customers) ON city USING sum(amount) GROUP BY low) ORDER BY 1",
}


expected, k = answered_kernel(HONEST, N)


@pytest.mark.parametrize("name", list(ATTACKS))
def test_a_renamed_or_positional_sensitive_column_is_refused(k: Kernel, name: str) -> None:
    refused(k.run(ask(ATTACKS[name])))


@pytest.mark.parametrize("code", [
    pytest.param("print('ANSWER', con.execute('SELECT count(*) FROM customers WHERE #3 = ?', "
                 "[g]).fetchall())", id="execute-positional-bound"),
    pytest.param("print('ANSWER', con.execute('SELECT a FROM customers t(a, b, c) WHERE c = ?', "
                 "[g]).fetchall())", id="execute-alias-bound"),
    pytest.param("%%guarded_sql con\nSELECT a AS ANSWER FROM customers t(a, b, c) WHERE c = $g",
                 id="guarded-sql-alias"),
    pytest.param("%%guarded_sql con\nSELECT count(*) AS ANSWER FROM customers WHERE #3 = $g",
                 id="guarded-sql-positional"),
])
def test_a_bound_guess_is_refused(k: Kernel, code: str) -> None:
    k.ok(f"g = {G!r}")
    refused(k.run(code))


def test_a_registered_function_on_a_renamed_column_is_refused(k: Kernel) -> None:
    k.ok(f"g = {G!r}\ncon.create_function('h20', lambda x: x == g, ['VARCHAR'], 'BOOLEAN')")
    refused(k.run("print('ANSWER', con.execute('SELECT a FROM customers t(a, b, c) "
                  "WHERE h20(c)').fetchall())"))


@pytest.mark.parametrize(("made", "q"), [
    pytest.param("CREATE TEMP TABLE x20 AS SELECT a, c AS s FROM customers t(a, b, c)",
                 f"SELECT count(*) FROM x20 WHERE s = '{G}'", id="table-made-from-a-list"),
    pytest.param("CREATE TEMP TABLE y20 AS SELECT id, #3 AS s FROM customers",
                 f"SELECT count(*) FROM y20 WHERE s = '{G}'", id="table-made-by-position"),
    pytest.param("CREATE TEMP VIEW v20 AS SELECT * FROM customers t(a, b, c)",
                 f"SELECT count(*) FROM v20 WHERE c = '{G}'", id="view-of-a-list"),
])
def test_a_renamed_column_kept_in_a_table_or_view_is_refused(k: Kernel, made: str,
                                                             q: str) -> None:
    k.ok(f"con.execute({made!r})")
    refused(k.run(ask(q)))


def test_the_recovery_loop_stops_at_its_first_listing(k: Kernel) -> None:
    """Red team 20's loop (one listing per digit and position): its first query is refused."""
    refused(k.run("for d in '0123456789':\n    print('ANSWER', d, con.execute(\"SELECT a FROM "
                  "customers t(a, b, c) WHERE c LIKE '\" + d + \"%'\").fetchall())"))


@pytest.mark.parametrize("name", list(HONEST))
def test_a_benign_twin_gives_raw_duckdbs_answer(
        k: Kernel, expected: tuple[Path, Answers], name: str) -> None:
    same_answer(k, expected, name, HONEST[name])
