"""Inference by form rather than by spelling (issue 15, red team 17's open findings): a guess
about a sensitive column is refused as ``inference`` however the statement is written (a real
guarded kernel on a real DuckDB warehouse file, one kernel for the module):

- statements with no ``SELECT`` keyword: DuckDB's FROM-first ``FROM customers WHERE ssn = '…'``
  (with a ``?`` parameter too), and their fetched values are remembered as sensitive;
- ``UNION ALL`` of a guess with the sensitive column, read by an outer query that groups,
  de-duplicates or sorts it (``GROUP BY ssn HAVING count(*) > 1``, ``count(DISTINCT ssn)``);
- list and map functions that compare: a map keyed by ``list(ssn)`` read with a guess
  (``element_at``, ``map_extract``, ``m['…']``), a merged list de-duplicated
  (``list_distinct(list(ssn) || ['…'])``), lambdas and comprehensions comparing their
  parameter, membership and position of a guess in ``list(ssn)`` or ``string_agg(ssn)``.

Benign twins run with correct results: FROM-first counts and plain filters, ``list(ssn)``
shown masked, ``UNION ALL`` of plain columns, ``list_filter`` on a plain column, joins on
``email`` between warehouse tables, ``count(DISTINCT ssn)``.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from jupyter_guard.connections import unwrap
from tests.conftest import make_warehouse, new_workspace
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

N = 300
G = "'100000012'"   # an SSN the warehouse holds (customer 12)
LYON = len(range(1, N, 3))


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = new_workspace(work_root)
    make_warehouse(d / "wh.duckdb", rows=N)
    c = unwrap(duckdb.connect(str(d / "wh.duckdb")))   # a warehouse table, before the guard
    c.execute("CREATE TABLE contacts AS SELECT id AS cid, email AS contact_email, ssn AS tax_ssn "
              "FROM customers WHERE id < 7")
    c.close()
    with guarded_kernel(d, connect=True) as kernel:
        yield kernel


def _refused(r_text: str, stream: str) -> None:
    assert "ANSWER" not in stream and "inference" in r_text, r_text


FROM_FIRST = [
    pytest.param(f"FROM customers WHERE ssn = {G}", id="from-where"),
    pytest.param("FROM customers SELECT id WHERE ssn LIKE '1000000%'", id="from-select-like"),
    pytest.param("FROM customers SELECT count(*) WHERE email = 'user12@example.com'",
                 id="from-select-count-email"),
    pytest.param(f"FROM customers c WHERE c.ssn IN ({G}, '100000013')", id="from-in"),
    pytest.param(f"FROM (FROM customers WHERE ssn = {G}) SELECT count(*)", id="from-nested"),
    pytest.param(f"WITH t AS (FROM customers) FROM t WHERE ssn = {G}", id="cte-from-first"),
    pytest.param(f"FROM customers QUALIFY ssn = {G}", id="from-qualify"),
    # EXPLAIN ANALYZE runs the query and prints how many rows each step kept
    pytest.param(f"EXPLAIN ANALYZE FROM customers WHERE ssn = {G}", id="explain-analyze-from"),
    pytest.param(f"EXPLAIN ANALYZE SELECT count(*) FROM customers WHERE ssn = {G}",
                 id="explain-analyze-select"),
]


@pytest.mark.parametrize("q", FROM_FIRST)
def test_a_from_first_guess_is_refused(k: Kernel, q: str) -> None:
    r = k.run(f"print('ANSWER', con.sql({q!r}).fetchall())")
    _refused(r.everything(), r.stream)


@pytest.mark.parametrize("how", [
    pytest.param("con.execute(q, [v]).fetchall()", id="execute"),
    pytest.param("con.execute(q.replace('?', '$1'), [v]).fetchall()", id="dollar-number"),
    pytest.param("con.execute(q.replace('?', '$g'), {'g': v}).fetchall()", id="dollar-name"),
    pytest.param("con.sql(q, params=[v]).fetchall()", id="sql-params"),
    pytest.param("duckdb.execute(q, [v], connection=con).fetchall()", id="module-execute"),
])
def test_a_from_first_guess_with_a_parameter_is_refused(k: Kernel, how: str) -> None:
    r = k.run(f"q = 'FROM customers WHERE ssn = ?'\nv = {G}\nprint('ANSWER', {how})")
    _refused(r.everything(), r.stream)


UNION_ALL = [
    pytest.param(f"SELECT count(*) FROM (SELECT ssn FROM customers UNION ALL SELECT {G}) t "
                 "GROUP BY ssn HAVING count(*) > 1", id="group-having"),
    pytest.param(f"SELECT count(DISTINCT ssn) FROM (SELECT ssn FROM customers UNION ALL "
                 f"SELECT {G}) t", id="count-distinct"),
    pytest.param(f"SELECT count(*) FROM (SELECT DISTINCT s FROM (SELECT ssn AS s FROM "
                 f"customers UNION ALL SELECT {G}))", id="select-distinct"),
    pytest.param("WITH u AS (SELECT email AS e FROM customers UNION ALL SELECT "
                 "'user12@example.com') SELECT max(n) FROM (SELECT count(*) n FROM u GROUP BY e)",
                 id="cte-email"),
    pytest.param(f"SELECT count(*) FROM (SELECT ssn FROM customers UNION ALL BY NAME "
                 f"SELECT {G} AS ssn) GROUP BY ssn HAVING count(*) > 1", id="by-name"),
    pytest.param(f"SELECT max(r) FROM (SELECT row_number() OVER (PARTITION BY ssn) r FROM "
                 f"(SELECT ssn FROM customers UNION ALL SELECT {G}))", id="partition-by"),
    pytest.param(f"FROM (FROM customers SELECT ssn UNION ALL SELECT {G}) SELECT count(*) "
                 "GROUP BY ssn HAVING count(*) > 1", id="from-first-union-all"),
    pytest.param(f"SELECT s, count(*) FROM (SELECT ssn AS s FROM customers UNION ALL SELECT {G})"
                 " GROUP BY 1 HAVING count(*) > 1", id="group-by-ordinal"),
    pytest.param(f"SELECT count(*) FROM (SELECT unnest(list(ssn) || [{G}]) AS u FROM customers) "
                 "GROUP BY u HAVING count(*) > 1", id="unnest-of-a-merged-list"),
    pytest.param(f"SELECT arg_max(src, s) FROM (SELECT ssn AS s, 'real' AS src FROM customers "
                 f"UNION ALL SELECT {G}, 'guess')", id="arg-max-ranks-the-guess"),
    pytest.param(f"SELECT ssn, 'real' FROM customers UNION ALL SELECT {G}, 'guess' ORDER BY 1",
                 id="sorted-union-all"),
    pytest.param(f"SELECT ssn FROM customers UNION ALL SELECT {G} UNION ALL SELECT tax_ssn "
                 "FROM contacts ORDER BY 1", id="sorted-union-all-chain"),
]


@pytest.mark.parametrize("q", UNION_ALL)
def test_union_all_with_a_guess_then_compared_is_refused(k: Kernel, q: str) -> None:
    r = k.run(f"print('ANSWER', con.sql({q!r}).fetchall())")
    _refused(r.everything(), r.stream)


@pytest.mark.parametrize("fill", [
    pytest.param(f"INSERT INTO {{t}} SELECT ssn FROM customers UNION ALL SELECT {G}",
                 id="insert-union-all"),
    pytest.param(f"INSERT INTO {{t}} VALUES ({G}); INSERT INTO {{t}} SELECT ssn FROM customers",
                 id="two-inserts"),
])
def test_a_table_of_guesses_and_ssns_grouped_is_refused(k: Kernel, fill: str) -> None:
    """Storing the mix runs (no row is compared yet); grouping the stored column compares."""
    t = f"mix18_{len(fill)}"
    k.ok(f"con.execute('CREATE TABLE {t}(s VARCHAR)')\n"
         f"con.execute({fill.format(t=t)!r})")
    r = k.run(f"print('ANSWER', con.sql('SELECT count(*) FROM {t} GROUP BY s "
              "HAVING count(*) > 1').fetchall())")
    _refused(r.everything(), r.stream)


COLLECTIONS = [
    pytest.param(f"SELECT element_at(map(list(ssn), list(id)), {G}) FROM customers",
                 id="element-at-map"),
    pytest.param(f"SELECT map_extract(map(list(ssn), list(id)), {G}) FROM customers",
                 id="map-extract"),
    pytest.param(f"SELECT map(list(ssn), list(id))[{G}] FROM customers", id="map-bracket"),
    pytest.param(f"WITH m AS (SELECT map(list(ssn), list(id)) AS mm FROM customers) "
                 f"SELECT mm[{G}] FROM m", id="map-from-a-cte"),
    pytest.param(f"SELECT map_contains(map(list(ssn), list(id)), {G}) FROM customers",
                 id="map-contains"),
    pytest.param(f"SELECT len(list_distinct(list(ssn) || [{G}])) FROM customers",
                 id="list-distinct-concat"),
    pytest.param(f"SELECT len(array_distinct(list_concat(list(ssn), [{G}]))) FROM customers",
                 id="array-distinct-list-concat"),
    pytest.param(f"SELECT len(list_distinct(list_append(list(ssn), {G}))) FROM customers",
                 id="list-distinct-append"),
    pytest.param(f"SELECT len(list_unique(list_prepend({G}, list(ssn)))) FROM customers",
                 id="list-unique-prepend"),
    pytest.param(f"SELECT list_aggregate(list(ssn) || [{G}], 'count_distinct') FROM customers",
                 id="list-aggregate-count-distinct"),
    pytest.param(f"SELECT len(map(list(ssn) || [{G}], range(301))) FROM customers",
                 id="map-keys-merged"),
    pytest.param(f"SELECT len(list_filter(list(ssn), lambda x: x = {G})) FROM customers",
                 id="list-filter-lambda"),
    pytest.param("SELECT len(list_filter(list(ssn), lambda x: x LIKE '10000001%')) "
                 "FROM customers", id="list-filter-like"),
    pytest.param("SET lambda_syntax = 'ENABLE_SINGLE_ARROW'; SELECT len(list_filter(list(ssn), "
                 "x -> x LIKE '10000001%')) FROM customers", id="list-filter-arrow"),
    pytest.param(f"SELECT list_bool_or(list_transform(list(ssn), lambda s: s = {G})) "
                 "FROM customers", id="list-transform-bool-or"),
    pytest.param(f"SELECT list_reduce(list(ssn), lambda a, b: CASE WHEN b = {G} THEN 'hit' "
                 "ELSE a END) FROM customers", id="list-reduce"),
    pytest.param(f"SELECT len([x FOR x IN list(ssn) IF x = {G}]) FROM customers",
                 id="comprehension"),
    pytest.param("SELECT len(list_filter(list(email), lambda e: starts_with(e, 'user12@'))) "
                 "FROM customers", id="list-filter-email-function"),
    pytest.param(f"SELECT list_contains(list(ssn), {G}) FROM customers", id="list-contains"),
    pytest.param(f"SELECT list_has_any(list(ssn), [{G}]) FROM customers", id="list-has-any"),
    pytest.param(f"SELECT list_has_all(list(ssn), [{G}]) FROM customers", id="list-has-all"),
    pytest.param(f"SELECT array_position(list(ssn), {G}) FROM customers", id="array-position"),
    pytest.param(f"SELECT list_position(list(ssn), {G}) FROM customers", id="list-position"),
    pytest.param(f"SELECT len(list_intersect(list(ssn), [{G}])) FROM customers",
                 id="list-intersect"),
    pytest.param(f"SELECT contains(string_agg(ssn, ','), {G}) FROM customers",
                 id="contains-string-agg"),
    pytest.param(f"SELECT instr(string_agg(ssn, ','), {G}) FROM customers", id="instr-agg"),
    pytest.param(f"SELECT strpos(string_agg(ssn, ','), {G}) FROM customers", id="strpos-agg"),
    pytest.param(f"SELECT position({G} IN string_agg(ssn, ',')) FROM customers",
                 id="position-agg"),
    pytest.param("SELECT string_agg(email, ',') LIKE '%user12@example.com%' FROM customers",
                 id="like-on-string-agg"),
]


@pytest.mark.parametrize("q", COLLECTIONS)
def test_a_collection_function_comparing_a_guess_is_refused(k: Kernel, q: str) -> None:
    r = k.run(f"print('ANSWER', con.sql({q!r}).fetchall())")
    _refused(r.everything(), r.stream)


TWINS = [
    pytest.param("FROM customers SELECT count(*)", f"[({N},)]", id="from-first-count"),
    pytest.param("FROM orders SELECT count(*) WHERE total > 10", "[(1995,)]",
                 id="from-first-plain-filter"),
    pytest.param("SELECT len(list(ssn)) FROM customers", f"[({N},)]", id="list-length"),
    pytest.param("SELECT count(*) FROM (SELECT city FROM customers UNION ALL SELECT 'Rome') "
                 "GROUP BY city HAVING count(*) > 1", "[(100,), (100,), (100,)]",
                 id="union-all-plain-grouped"),
    pytest.param("SELECT len(list_filter(list(city), lambda x: x = 'Lyon')) FROM customers",
                 f"[({LYON},)]", id="list-filter-plain-column"),
    pytest.param("SELECT count(*) FROM customers c JOIN contacts k "
                 "ON c.email = k.contact_email", "[(7,)]", id="join-email-warehouse-tables"),
    pytest.param("FROM customers c JOIN contacts k ON c.email = k.contact_email "
                 "SELECT count(*)", "[(7,)]", id="from-first-join-email"),
    pytest.param("SELECT count(DISTINCT ssn) FROM customers", f"[({N},)]", id="count-distinct"),
    pytest.param("SELECT len(list_distinct(list(city))) FROM customers", "[(3,)]",
                 id="list-distinct-plain"),
    pytest.param("SELECT count(*) FROM (SELECT ssn FROM customers UNION ALL "
                 "SELECT tax_ssn FROM contacts) GROUP BY ssn HAVING count(*) > 1", "[(2,)] * 7",
                 id="union-all-two-warehouse-ssn-columns"),
]


@pytest.mark.parametrize(("q", "want"), TWINS)
def test_benign_twins_run_with_correct_results(k: Kernel, q: str, want: str) -> None:
    r = k.ok(f"res = con.sql({q!r}).fetchall()\n"
             f"print('ANSWER', 'matches' if sorted(res) == {want} else res)")
    assert "ANSWER matches" in r.stream, r.everything()


def test_explain_analyze_of_a_plain_query_runs(k: Kernel) -> None:
    r = k.ok("print('ANSWER', con.sql('EXPLAIN ANALYZE FROM customers SELECT count(*) "
             "WHERE city = \\'Lyon\\'').fetchall()[0][0])")
    assert "ANSWER analyzed_plan" in r.stream, r.everything()


def test_a_union_all_listed_alone_runs_masked(k: Kernel) -> None:
    r = k.ok("rows = con.sql(\"SELECT ssn FROM customers WHERE id < 3 UNION ALL SELECT 'x'\")"
             ".fetchall()\nprint('ANSWER', len(rows))\nprint(rows)")
    assert "ANSWER 4" in r.stream and "100000001" not in r.everything(), r.everything()


@pytest.mark.parametrize("how", [
    pytest.param("con.execute(q).fetchall()", id="execute"),
    pytest.param("con.sql(q).fetchall()", id="sql"),
    pytest.param("con.sql(q).df().values.tolist()", id="sql-df"),
])
def test_values_fetched_by_a_from_first_statement_are_remembered(k: Kernel, how: str) -> None:
    """Values fetched by a FROM-first statement are known sensitive values: computed ones the
    warehouse does not hold (``ssn * 7``) are refused at a file exit from plain Python. (This
    held before ``result_taint`` judged statements without SELECT too, by the other paths that
    remember fetched rows: a regression guard, not the proof of that change.)"""
    r = k.run("q = 'FROM customers SELECT CAST(ssn AS BIGINT) * 7 AS k WHERE id BETWEEN 10 AND "
              f"12'\nrows = {how}\n"
              "open('k18.txt', 'w').write(' '.join(str(v[0]) for v in rows))\nprint('ANSWER')")
    assert "ANSWER" not in r.stream and "exfiltration" in r.everything(), r.everything()


def test_list_of_ssn_is_shown_masked(k: Kernel) -> None:
    r = k.ok("print(con.sql('SELECT list(ssn) AS l FROM customers WHERE id < 3').fetchall())")
    assert "100000001" not in r.everything() and "█" in r.stream, r.everything()
