"""Inference through the user's own constraints, types and functions (issue 15, item 3; red team
19): a sensitive column's values written into a table whose ``CHECK``, key, foreign key or
``ENUM`` column judges them, cast to a user's ``ENUM``, or handed to a registered Python function
whose result is aggregated or tested, answer questions about single values (a ``CHECK (x < mid)``
bisection recovered one SSN in 30 statements). Each is refused as ``inference`` in a real guarded
kernel on a real DuckDB warehouse file, no answer reaches any message the kernel sent, and the
judging table is unchanged. The honest twins (tables without constraints, keys on ids, ``ENUM``
types over plain columns, functions over plain columns, a function's result shown row by row)
run with the answer raw DuckDB gives on the same file.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.enforce.raw_answers import answered_kernel
from tests.kernelutil import Kernel, Reply

pytestmark = pytest.mark.kernel

N = 300
G = "100000012"   # an SSN the warehouse holds (customer 12)


def refused(r: Reply) -> None:
    """Refused by ``inference``; no constraint's verdict and no answer in any message."""
    seen = r.everything() + "\n" + repr(r.reply)
    assert r.status == "error" and "[inference]" in r.everything(), seen
    assert "ANSWER" not in seen and "Constraint" not in seen and "Conversion" not in seen, seen


def ddl(sql: str) -> str:
    return f"con.execute({sql!r}).fetchall()\n"


def ask(sql: str) -> str:
    return f"print('ANSWER', con.execute({sql!r}).fetchall())\n"


HONEST = {
    "count-filter-domain": "SELECT count(*) FILTER (WHERE email LIKE '%@gmail.com') AS gmail, "
                           "count(*) FROM customers",
    "count-filter-dash": "SELECT count(*) FILTER (WHERE contains(ssn, '-')) AS d FROM customers",
    "area-counts-having": "SELECT left(ssn, 3) AS area, count(*) AS n FROM customers "
                          "GROUP BY 1 HAVING count(*) >= 5",
    "plain-enum": "SELECT city::ENUM('Paris', 'Lyon', 'Nice') AS c, count(*) FROM customers "
                  "GROUP BY 1 ORDER BY 1",
}


expected, k = answered_kernel({
    **HONEST,
    "emails": "SELECT count(*), count(DISTINCT email) FROM customers",
    "cities": "SELECT sum(length(city)) FROM customers",
    "per-city": "SELECT city, count(*) + 1 FROM customers GROUP BY 1 ORDER BY 1"}, N)


# (setup, attack, table the attack writes, rows it holds before): the setup alone runs
ATTACKS = {
    "check-member": (f"CREATE TEMP TABLE c1 (x VARCHAR CHECK (x <> '{G}'))",
                     "INSERT INTO c1 SELECT ssn FROM customers", "c1", 0),
    "check-rank-one-person": ("CREATE TEMP TABLE c2 (x BIGINT CHECK (x < 100000150))",
                              "INSERT INTO c2 SELECT ssn::BIGINT FROM customers WHERE id = 77",
                              "c2", 0),
    "check-table-level": (f"CREATE TEMP TABLE c3 (x VARCHAR, CHECK (x <> '{G}'))",
                          "INSERT INTO c3 (x) SELECT ssn FROM customers", "c3", 0),
    "primary-key-collision": (f"CREATE TEMP TABLE u1 (x VARCHAR PRIMARY KEY); "
                              f"INSERT INTO u1 VALUES ('{G}')",
                              "INSERT INTO u1 SELECT ssn FROM customers", "u1", 1),
    "unique-on-conflict": (f"CREATE TEMP TABLE u2 (x VARCHAR UNIQUE); INSERT INTO u2 VALUES ('{G}')",
                           "INSERT INTO u2 SELECT ssn FROM customers ON CONFLICT DO NOTHING",
                           "u2", 1),
    "insert-or-ignore": (f"CREATE TEMP TABLE u3 (x VARCHAR PRIMARY KEY); "
                         f"INSERT INTO u3 VALUES ('{G}')",
                         "INSERT OR IGNORE INTO u3 SELECT ssn FROM customers", "u3", 1),
    "guess-into-a-key-over-ssns": ("CREATE TEMP TABLE u4 (x VARCHAR); "
                                   "INSERT INTO u4 SELECT ssn FROM customers; "
                                   "CREATE UNIQUE INDEX u4i ON u4 (x)",
                                   f"INSERT INTO u4 VALUES ('{G}')", "u4", N),
    "foreign-key": (f"CREATE TABLE g1 (x VARCHAR PRIMARY KEY); INSERT INTO g1 VALUES ('{G}'); "
                    "CREATE TABLE f1 (y VARCHAR REFERENCES g1 (x))",
                    "INSERT INTO f1 SELECT ssn FROM customers WHERE id = 12", "f1", 0),
    "enum-column": (f"CREATE TYPE e1 AS ENUM ('{G}'); CREATE TEMP TABLE ec1 (x e1)",
                    "INSERT INTO ec1 SELECT ssn FROM customers WHERE id = 12", "ec1", 0),
    "update-into-a-key": (f"CREATE TEMP TABLE k1 (id INT, x VARCHAR UNIQUE); "
                          f"INSERT INTO k1 VALUES (1, '{G}'), (2, NULL)",
                          "UPDATE k1 SET x = (SELECT ssn FROM customers WHERE id = 12) "
                          "WHERE id = 2", "k1", 2),
    "values-of-a-subquery": (f"CREATE TEMP TABLE c4 (x VARCHAR CHECK (x <> '{G}'))",
                             "INSERT INTO c4 VALUES ((SELECT ssn FROM customers WHERE id = 12))",
                             "c4", 0),
    "key-added-after-the-ssns": ("CREATE TEMP TABLE u5 (x VARCHAR); "
                                 "INSERT INTO u5 SELECT ssn FROM customers; "
                                 "ALTER TABLE u5 ADD PRIMARY KEY (x)",
                                 f"INSERT INTO u5 VALUES ('{G}')", "u5", N),
    "merge-matches": (f"CREATE TEMP TABLE m1 (x VARCHAR, n INT); INSERT INTO m1 VALUES ('{G}', 0)",
                      "MERGE INTO m1 USING customers c ON m1.x = c.ssn "
                      "WHEN MATCHED THEN UPDATE SET n = 1", "m1", 1),
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_a_judging_constraint_over_sensitive_values_is_refused(k: Kernel, name: str) -> None:
    setup, attack, table, before = ATTACKS[name]
    k.ok(ddl(setup))
    refused(k.run(ddl(attack) + "print('ANSWER')"))
    r = k.ok(f"print('ROWS', con.execute('SELECT count(*) FROM {table}').fetchall())")
    assert f"ROWS [({before},)]" in r.stream, r.everything()   # nothing written


def test_the_check_bisection_stops_at_its_first_insert(k: Kernel) -> None:
    refused(k.run(
        "lo, hi = 0, 999999999\nn = 0\nwhile lo < hi:\n    mid = (lo + hi + 1) // 2\n"
        "    n += 1\n    con.execute(f'CREATE TEMP TABLE b_{n} (x BIGINT CHECK (x < {mid}))')\n"
        "    try:\n        con.execute(f'INSERT INTO b_{n} SELECT ssn::BIGINT FROM customers "
        "WHERE id = 77').fetchall()\n        hi = mid - 1\n"
        "    except duckdb.ConstraintException:\n        lo = mid\n"
        "print('ANSWER', lo)"))


@pytest.mark.parametrize("setup,q", [
    pytest.param(f"CREATE TYPE e2 AS ENUM ('{G}')",
                 "SELECT count(*) FROM customers WHERE try_cast(ssn AS e2) IS NOT NULL",
                 id="try-cast-to-user-enum"),
    pytest.param(f"CREATE TYPE e3 AS ENUM (SELECT '{G}')",
                 "SELECT count(*) FROM customers WHERE ssn::e3 IS NOT NULL", id="enum-of-a-query"),
    pytest.param("SELECT 1", f"SELECT count(*) FROM customers WHERE "
                 f"try_cast(ssn AS ENUM('{G}')) IS NOT NULL", id="inline-enum"),
    pytest.param("SELECT 1", "WITH t AS (SELECT email AS m FROM customers) SELECT count(*) FROM t "
                 "WHERE try_cast(m AS ENUM('user12@example.com')) IS NOT NULL", id="through-a-cte"),
])
def test_a_cast_to_a_user_enum_is_refused(k: Kernel, setup: str, q: str) -> None:
    k.ok(ddl(setup))
    refused(k.run(ask(q)))


@pytest.mark.parametrize("fn,q", [
    pytest.param(f"lambda s: s == '{G}'", "SELECT count(*) FROM customers WHERE {f}(ssn)",
                 id="membership-in-where"),
    pytest.param("lambda s: 1 if s > '100000150' else 0", "SELECT sum({f}(ssn)) FROM customers",
                 id="rank-by-sum"),
    pytest.param(f"lambda s: s == '{G}'", "SELECT count(*) FILTER (WHERE {f}(ssn)) FROM customers",
                 id="in-a-filter"),
    pytest.param(f"lambda s: s == '{G}'", "SELECT {f}(ssn) AS b, count(*) FROM customers "
                 "GROUP BY 1", id="grouped-on"),
    pytest.param(f"lambda s: s == '{G}'", "WITH t AS (SELECT {f}(ssn) AS b FROM customers) "
                 "SELECT count(*) FROM t WHERE b", id="through-a-cte"),
])
def test_a_registered_function_judging_a_sensitive_column_is_refused(
        k: Kernel, fn: str, q: str, request: pytest.FixtureRequest) -> None:
    f = "f_" + request.node.callspec.id.replace("-", "_")
    typ = "BOOLEAN" if "==" in fn else "INTEGER"
    k.ok(f"con.create_function({f!r}, {fn}, ['VARCHAR'], {typ!r})")
    refused(k.run(ask(q.format(f=f))))


def test_a_registered_function_through_the_relational_api_is_refused(k: Kernel) -> None:
    k.ok(f"con.create_function('f_rel', lambda s: s == '{G}', ['VARCHAR'], 'BOOLEAN')")
    refused(k.run("print('ANSWER', con.table('customers').filter('f_rel(ssn)')"
                  ".aggregate('count(*)').fetchall())"))


def test_a_key_over_plain_values_takes_inserts_and_updates(
        k: Kernel, expected: tuple[Path, dict[str, list[tuple[object, ...]]]]) -> None:
    r = k.ok(ddl("CREATE TEMP TABLE h3 (city VARCHAR PRIMARY KEY, n INT)")
             + ddl("INSERT INTO h3 SELECT city, count(*) FROM customers GROUP BY 1")
             + ddl("UPDATE h3 SET n = n + 1")
             + ask("SELECT * FROM h3 ORDER BY 1"))
    assert f"ANSWER {expected[1]['per-city']!r}" in r.stream, r.everything()


def test_honest_tables_keys_and_functions_still_work(
        k: Kernel, expected: tuple[Path, dict[str, list[tuple[object, ...]]]]) -> None:
    want = expected[1]
    r = k.ok(ddl("CREATE TABLE h1 AS SELECT id, email FROM customers")
             + ddl("CREATE TEMP TABLE h2 (id INT PRIMARY KEY, email VARCHAR)")
             + ddl("INSERT INTO h2 SELECT id, email FROM customers")
             + "print('ANSWER', con.execute('SELECT count(*), count(DISTINCT email) FROM h1')"
             ".fetchall(), con.execute('SELECT count(*), count(DISTINCT email) FROM h2')"
             ".fetchall())")
    assert f"ANSWER {want['emails']!r} {want['emails']!r}" in r.stream, r.everything()
    r = k.ok("con.create_function('plain_len', lambda s: len(s), ['VARCHAR'], 'BIGINT')\n"
             + ask("SELECT sum(plain_len(city)) FROM customers"))
    assert f"ANSWER {want['cities']!r}" in r.stream, r.everything()


def test_a_function_over_a_sensitive_column_shown_row_by_row_is_masked(k: Kernel) -> None:
    r = k.ok("con.create_function('shown_rev', lambda s: s[::-1], ['VARCHAR'], 'VARCHAR')\n"
             + ask("SELECT id, shown_rev(ssn) FROM customers WHERE id IN (12, 13) ORDER BY id"))
    assert "ANSWER" in r.stream and G[::-1] not in r.everything() + repr(r.reply), r.everything()


@pytest.mark.parametrize("name", list(HONEST))
def test_an_honest_count_runs_with_the_right_answer(
        k: Kernel, expected: tuple[Path, dict[str, list[tuple[object, ...]]]], name: str) -> None:
    r = k.ok(ask(HONEST[name]))   # through ``con.execute``
    assert f"ANSWER {expected[1][name]!r}" in r.stream, r.everything()
