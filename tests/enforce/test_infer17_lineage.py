"""Inference decided by lineage (issue 15, item 3): a comparison, join or membership test on a
sensitive column is judged by where the OTHER side's values come from. Unless every value there
is read from a sensitive column of a table the database holds, it is a guess and is refused as
``inference``: constants, ``VALUES`` in any nesting, generated rows (``range``,
``generate_series``, ``unnest`` of a literal list, ``string_split``, list comprehensions,
recursive CTEs), files (``read_csv``, ``'g.csv'`` as a table, globs, ``read_json``,
``read_parquet``), Python objects DuckDB scans by name (pandas, polars, Arrow), tables and views
filled from those, and macros that return them. Each guess: no answer printed, ``inference`` in
the refusal (a real guarded kernel on a real warehouse file). Benign twins run with correct
results: joins on ``ssn``/``email`` between warehouse tables, counts, groups, joins on plain
columns to a file or a DataFrame, literal filters on plain columns, and a role that may unmask.
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
LYON = len(range(1, N, 3))
G = "'100000012'"   # an SSN the warehouse holds (customer 12)
GEN = "lpad(CAST(100000000 + {v} AS VARCHAR), 9, '0')"
SETUP = ("import pandas as pd, polars as pl, pyarrow as pa\n"
         "gdf = pd.DataFrame({'s': ['100000012']})\n"
         "gssn = pd.DataFrame({'ssn': ['100000012'], 'email': ['user12@example.com']})\n"
         "gpl = pl.DataFrame({'s': ['100000012']})\n"
         "gpa = pa.table({'s': ['100000012']})\n"
         "towndf = pd.DataFrame({'town': ['Lyon']})\n")


def _files(d: Path) -> None:
    """The guesses in files, and a warehouse table with sensitive columns made from customers
    outside the guard (``contacts``), written before any kernel reads them."""
    (d / "g.csv").write_text("s\n100000012\n")
    (d / "g2.csv").write_text("s\n100000013\n")
    (d / "g.json").write_text('{"s": "100000012"}\n')
    (d / "towns.csv").write_text("town\nLyon\n")
    c = unwrap(duckdb.connect(str(d / "wh.duckdb")))
    c.execute("COPY (SELECT '100000012' AS s) TO '" + str(d / "g.parquet") + "' (FORMAT parquet)")
    c.execute("CREATE TABLE contacts AS SELECT id AS cid, email AS contact_email, ssn AS tax_ssn "
              "FROM customers WHERE id < 7")
    c.execute("CREATE TABLE notes AS SELECT id AS nid, ssn AS s FROM customers WHERE id < 7")
    c.execute("CREATE TABLE old_guesses AS SELECT '100000012' AS ssn")   # before the guard
    c.close()


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = new_workspace(work_root)
    make_warehouse(d / "wh.duckdb", rows=N)
    _files(d)
    with guarded_kernel(d, connect=True) as kernel:
        kernel.ok(SETUP)
        yield kernel


# (set-up code run first, unguarded by this test's assertion; the WHERE clause of a count)
GUESSES = [
    pytest.param("", f"ssn IN (SELECT * FROM (SELECT * FROM (VALUES ({G}))))",
                 id="values-nested"),
    pytest.param("", f"ssn IN (WITH g(s) AS (VALUES ({G})) SELECT s FROM g)", id="values-cte"),
    pytest.param("", f"ssn IN (SELECT {GEN.format(v='range')} FROM range(20))", id="range"),
    pytest.param("", f"ssn IN (SELECT {GEN.format(v='x')} FROM generate_series(0, 20) t(x))",
                 id="generate-series"),
    pytest.param("", f"ssn IN (SELECT unnest([{G}, '100000013']))", id="unnest-literal-list"),
    pytest.param("", "ssn IN (SELECT unnest(string_split('100000012,100000013', ',')))",
                 id="string-split"),
    pytest.param("", f"list_contains([{GEN.format(v='i')} for i in range(20)], ssn)",
                 id="list-comprehension"),
    pytest.param("", f"list_contains(list_transform(range(20), i -> {GEN.format(v='i')}), ssn)",
                 id="list-transform"),
    pytest.param("", "ssn IN (WITH RECURSIVE r(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM r "
                 f"WHERE n < 20) SELECT {GEN.format(v='n')} FROM r)", id="recursive-cte"),
    pytest.param("", "ssn IN (SELECT s FROM read_csv_auto('g.csv', all_varchar=true))",
                 id="read-csv-auto"),
    pytest.param("", "ssn IN (SELECT CAST(s AS VARCHAR) FROM 'g.csv')", id="file-as-table"),
    pytest.param("", "ssn IN (SELECT CAST(s AS VARCHAR) FROM read_csv('g*.csv'))", id="glob"),
    pytest.param("", "ssn IN (SELECT s FROM read_json('g.json'))", id="read-json"),
    pytest.param("", "ssn IN (SELECT s FROM read_parquet('g.parquet'))", id="read-parquet"),
    pytest.param("", "ssn IN (SELECT s FROM gpl)", id="polars-frame"),
    pytest.param("", "ssn IN (SELECT s FROM gpa)", id="arrow-table"),
    pytest.param("", "ssn IN (SELECT ssn FROM gssn)", id="frame-with-a-sensitive-name"),
    pytest.param("", "email IN (SELECT email FROM gssn)", id="frame-email"),
    pytest.param("con.execute(\"CREATE TEMP TABLE gt1(s VARCHAR)\")\n"
                 "con.execute(\"INSERT INTO gt1 SELECT * FROM (VALUES ('100000012'))\")\n",
                 "ssn IN (SELECT s FROM gt1)", id="temp-table-insert-star"),
    pytest.param("con.execute(\"CREATE TABLE gt2(ssn VARCHAR)\")\n"
                 "con.execute(\"INSERT INTO gt2 SELECT * FROM gdf\")\n",
                 "ssn IN (SELECT ssn FROM gt2)", id="table-filled-from-a-frame"),
    pytest.param("con.execute(\"CREATE TABLE gt3(ssn VARCHAR)\")\n"
                 "con.execute(\"COPY gt3 FROM 'g.csv' (HEADER)\")\n",
                 "ssn IN (SELECT ssn FROM gt3)", id="copy-from-file"),
    pytest.param("con.execute(\"CREATE TABLE gt4(ssn VARCHAR)\")\n"
                 "con.executemany('INSERT INTO gt4 VALUES (?)', [['100000012']])\n",
                 "ssn IN (SELECT ssn FROM gt4)", id="insert-parameters"),
    pytest.param("con.execute(\"CREATE TABLE gt5 AS SELECT * FROM read_csv('g.csv', "
                 "all_varchar=true)\")\n", "ssn IN (SELECT s FROM gt5)", id="ctas-from-file"),
    pytest.param("con.execute(\"CREATE VIEW gv6 AS SELECT unnest(['100000012']) AS s\")\n",
                 "ssn IN (SELECT s FROM gv6)", id="view-of-a-literal-list"),
    pytest.param("con.execute(\"CREATE MACRO gm7() AS TABLE SELECT * FROM (VALUES "
                 "('100000012')) t(s)\")\n", "ssn IN (SELECT s FROM gm7())", id="table-macro"),
    pytest.param("con.execute(\"CREATE TABLE gt8(s VARCHAR)\")\n"
                 "con.execute(\"INSERT INTO gt8 VALUES ('100000012')\")\n"
                 "con.execute('INSERT INTO gt8 SELECT ssn FROM customers WHERE id < 3')\n",
                 "ssn IN (SELECT s FROM gt8)", id="guesses-mixed-with-real-rows"),
    # every function form of membership and comparison
    pytest.param("", f"array_has_any([ssn], [{G}])", id="array-has-any"),
    pytest.param("", f"list_has_any([ssn], [{G}])", id="list-has-any"),
    pytest.param("", f"list_has_all([{G}], [ssn])", id="list-has-all"),
    pytest.param("", f"array_contains([{G}], ssn)", id="array-contains"),
    pytest.param("", f"list_position([{G}], ssn) > 0", id="list-position"),
    pytest.param("", "contains(ssn, '00012')", id="contains"),
    pytest.param("", "prefix(ssn, '1000000')", id="prefix"),
    pytest.param("", "suffix(ssn, '012')", id="suffix"),
    pytest.param("", "instr(ssn, '00012') > 0", id="instr"),
    pytest.param("", "position('00012' IN ssn) > 0", id="position"),
    pytest.param("", f"jaro_winkler_similarity(ssn, {G}) = 1", id="jaro-winkler"),
    pytest.param("", f"hamming(ssn, {G}) = 0", id="hamming"),
    pytest.param("", f"jaccard(ssn, {G}) = 1", id="jaccard"),
    pytest.param("", "regexp_full_match(ssn, '1000000[1]2')", id="regexp-full-match"),
    pytest.param("", "ssn GLOB '10000001[2]'", id="glob-operator"),
    pytest.param("", "ssn SIMILAR TO '10000001[2]'", id="similar-to"),
    pytest.param("", "email ILIKE 'USER12@%'", id="ilike"),
    pytest.param("", "ssn BETWEEN '100000012' AND '100000012'", id="between"),
    pytest.param("", f"CASE WHEN ssn = {G} THEN true ELSE false END", id="case-when"),
    pytest.param("con.execute('SELECT 1').fetchall()\n"   # no result left open before it
                 "con.create_function('same', lambda a, b: a == b, ['VARCHAR', 'VARCHAR'], "
                 "'BOOLEAN')\n", f"same(ssn, {G})", id="python-udf"),
    # derived forms of the column against guesses
    pytest.param("", "replace(ssn, '-', '') IN (SELECT s FROM gdf)", id="replace-vs-frame"),
    pytest.param("", "substr(ssn, 1, 8) IN (SELECT substr(s, 1, 8) FROM 'g.csv')",
                 id="substr-vs-file"),
    pytest.param("", f"hash(ssn) = hash({G})", id="hash"),
    pytest.param("", "md5(email) IN (SELECT md5(email) FROM gssn)", id="md5-vs-frame"),
    pytest.param("", "lower(email) = 'user12@example.com'", id="lower"),
]


def _count(where: str) -> str:
    return "SELECT count(*) FROM customers WHERE " + where


@pytest.mark.parametrize(("pre", "where"), GUESSES)
def test_a_guess_is_refused_as_inference(k: Kernel, pre: str, where: str) -> None:
    if pre:
        k.ok(pre)
    r = k.run(f"print('ANSWER', con.sql({_count(where)!r}).fetchall())")
    assert "ANSWER" not in r.stream and "inference" in r.everything(), r.everything()


AGGREGATED = [
    pytest.param(f"SELECT count_if(ssn = {G}) FROM customers", id="count-if"),
    pytest.param(f"SELECT sum(CASE WHEN ssn = {G} THEN 1 ELSE 0 END) FROM customers",
                 id="sum-case"),
    pytest.param("SELECT count(*) FROM customers c JOIN gssn g ON c.ssn = g.ssn",
                 id="join-a-frame-on-ssn"),
    pytest.param("SELECT count(*) FROM customers JOIN gssn USING (ssn)", id="using-a-frame"),
    pytest.param("SELECT count(*) FROM customers NATURAL JOIN gssn", id="natural-join-a-frame"),
    pytest.param("SELECT count(*) FROM customers c WHERE EXISTS (SELECT 1 FROM gdf "
                 "WHERE gdf.s = c.ssn)", id="exists-correlated"),
    pytest.param("SELECT count(*) FROM customers, gdf WHERE ssn = s", id="bare-names"),
    pytest.param("SELECT count(*) FROM customers WHERE ssn IN (FROM gdf)", id="from-first"),
    pytest.param("SELECT count(*) FROM customers c ASOF JOIN gdf g ON c.ssn >= g.s",
                 id="asof-join"),
    pytest.param("SELECT count(*) FROM (SELECT ssn FROM customers INTERSECT SELECT s FROM gdf)",
                 id="intersect-a-frame"),
    pytest.param("SELECT count(*) FROM customers c JOIN read_csv('g.csv', all_varchar=true) g "
                 "ON c.ssn = g.s", id="join-a-file"),
    pytest.param("SELECT count(*) FROM customers c JOIN customers d ON c.ssn < d.ssn "
                 "WHERE d.id = 5", id="rank-by-a-range-join"),
    pytest.param("SELECT c.id FROM customers c JOIN notes n ON c.ssn = n.s ORDER BY c.id",
                 id="join-a-plain-named-warehouse-column"),
]


@pytest.mark.parametrize("q", AGGREGATED)
def test_other_shapes_of_a_guess_are_refused(k: Kernel, q: str) -> None:
    r = k.run(f"print('ANSWER', con.sql({q!r}).fetchall())")
    assert "ANSWER" not in r.stream and "inference" in r.everything(), r.everything()


@pytest.mark.parametrize("make", [
    pytest.param("con.register('greg', gssn)", id="registered-frame"),
    pytest.param("con.from_df(gssn).create('grel')", id="relation-create-from-frame"),
    pytest.param("con.sql(\"SELECT '100000012' AS ssn\").create('grel2')",
                 id="relation-create-of-a-literal"),
])
def test_a_frame_made_a_table_or_view_stays_a_guess(k: Kernel, make: str) -> None:
    k.ok(make)
    name = make.split("'")[1] if "register" in make else make.split("create('")[1].split("'")[0]
    r = k.run(f"print('ANSWER', con.sql('SELECT count(*) FROM customers c JOIN {name} g "
              "ON c.ssn = g.ssn').fetchall())")
    assert "ANSWER" not in r.stream and "inference" in r.everything(), r.everything()


def test_a_generated_join_does_not_map_ids_to_ssns(k: Kernel) -> None:
    r = k.run("print('ANSWER', con.sql(\"WITH g AS (SELECT lpad(CAST(100000000 + range AS "
              "VARCHAR), 9, '0') AS s FROM range(1000)) SELECT c.id, CAST(g.s AS BIGINT) - "
              "100000000 FROM customers c JOIN g ON c.ssn = g.s ORDER BY c.id LIMIT 3\")"
              ".fetchall())")
    assert "ANSWER" not in r.stream and "inference" in r.everything(), r.everything()


TWINS = [
    pytest.param("SELECT count(*) FROM customers", N, id="count"),
    pytest.param("SELECT count(*) FROM customers c JOIN contacts k ON c.email = k.contact_email",
                 7, id="join-email-with-a-warehouse-table"),
    pytest.param("SELECT count(*) FROM customers c JOIN contacts k ON c.ssn = k.tax_ssn", 7,
                 id="join-ssn-with-a-warehouse-table"),
    pytest.param("SELECT count(*) FROM customers c JOIN contacts k "
                 "ON lower(c.email) = lower(k.contact_email)", 7, id="join-lowered-emails"),
    pytest.param("SELECT count(*) FROM customers a JOIN customers b USING (email)", N,
                 id="self-join-using-email"),
    pytest.param("SELECT count(*) FROM customers WHERE ssn IN (SELECT tax_ssn FROM contacts)",
                 7, id="in-a-warehouse-column"),
    pytest.param("SELECT count(*) FROM customers c JOIN towndf t ON c.city = t.town", LYON,
                 id="plain-join-to-a-frame"),
    pytest.param("SELECT count(*) FROM customers c JOIN read_csv('towns.csv') t "
                 "ON c.city = t.town", LYON, id="plain-join-to-a-file"),
    pytest.param("SELECT count(*) FROM customers WHERE city = 'Lyon' AND id < 1000", LYON,
                 id="plain-literal-filter"),
    pytest.param("SELECT count(*) FROM (SELECT city, count(*) FROM customers GROUP BY city)", 3,
                 id="group-by-a-plain-column"),
    pytest.param("SELECT count(*) FROM customers WHERE email IS NOT NULL", N, id="is-not-null"),
    pytest.param("SELECT count(*) FROM customers a NATURAL JOIN customers b", N,
                 id="natural-self-join"),
    pytest.param("SELECT count(*) FROM customers c JOIN customers d ON c.ssn = d.ssn "
                 "WHERE d.id < 5", 5, id="self-join-on-ssn"),
]


@pytest.mark.parametrize(("q", "want"), TWINS)
def test_benign_twins_run_with_correct_results(k: Kernel, q: str, want: int) -> None:
    r = k.ok(f"print('ANSWER', con.sql({q!r}).fetchall())")
    assert f"ANSWER [({want},)]" in r.stream, r.everything()


def test_a_table_made_here_from_customers_joins_on_ssn(k: Kernel) -> None:
    k.ok("con.execute('CREATE TABLE kept17 AS SELECT id AS k, ssn FROM customers WHERE id < 5')"
         "\ncon.execute('CREATE TEMP TABLE kept17b(e VARCHAR)')\n"
         "con.execute('INSERT INTO kept17b SELECT email FROM customers WHERE id < 4')")
    r = k.ok("print('ANSWER', con.sql('SELECT count(*) FROM customers c JOIN kept17 USING (ssn)')"
             ".fetchall(), con.sql('SELECT count(*) FROM customers c JOIN kept17b b "
             "ON c.email = b.e').fetchall())")
    assert "ANSWER [(5,)] [(4,)]" in r.stream, r.everything()


UNMASK = "version: 1\nextends: default\nroles:\n  gov: {users: [gina], may_unmask: true}\n"


def test_a_role_that_may_unmask_gets_its_answers(work_root: Path) -> None:
    d = new_workspace(work_root)
    make_warehouse(d / "wh.duckdb", rows=N)
    _files(d)
    with guarded_kernel(d, {"JUPYTER_GUARD_USER": "gina"}, policy=UNMASK,
                        connect=True) as kernel:
        kernel.ok(SETUP)
        r = kernel.ok("print('ANSWER', con.sql(\"SELECT count(*) FROM customers c JOIN gssn g "
                      "ON c.ssn = g.ssn\").fetchall(), con.sql(\"SELECT count(*) FROM "
                      "customers WHERE ssn IN (SELECT s FROM read_csv('g.csv', "
                      "all_varchar=true))\").fetchall())")
        assert "ANSWER [(1,)] [(1,)]" in r.stream, r.everything()


HOLE = pytest.mark.xfail(strict=True, reason="open: guesses the guard could not see being made")


@HOLE
def test_a_guess_table_made_before_the_guard_with_a_sensitive_name_is_refused(k: Kernel) -> None:
    """A table whose column is named like a sensitive one but was filled with guesses out of
    the guard's sight (here before it loaded; also another process, an ``ATTACH``ed file) counts
    as warehouse data: the join is answered. Closing it needs provenance of warehouse tables
    (who filled them, from what) that the catalog does not keep."""
    r = k.run("print('ANSWER', con.sql('SELECT count(*) FROM customers c JOIN old_guesses g "
              "ON c.ssn = g.ssn').fetchall())")
    assert "ANSWER" not in r.stream and "inference" in r.everything(), r.everything()


@HOLE
def test_values_fetched_into_python_are_not_compared_there(k: Kernel) -> None:
    """Out of the SQL rule's reach: raw values fetched into Python (masked only where shown)
    compared in Python answer the same question."""
    r = k.run("rows = con.execute('SELECT ssn FROM customers').fetchall()\n"
              "print('ANSWER', sum(v == '100000012' for (v,) in rows))")
    assert "ANSWER 1" not in r.stream, r.everything()
