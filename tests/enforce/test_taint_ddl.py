"""Taint follows values that statements move between tables, in a real kernel: renamed columns
and tables, INSERT ... SELECT into an existing table (listed columns, unions), UPDATE ... SET,
macros, views and CREATE ... AS over them, struct/list packing and string_agg. The export is
refused (no file, no raw value in any message) and a read of the moved column is shown masked;
each benign twin moves a plain column through the same path and exports the right rows."""
from __future__ import annotations

import json

import pytest

from tests.conftest import make_warehouse

pytestmark = pytest.mark.kernel

ROWS = range(1000, 1004)
EMAILS = [f"user{n}@example.com" for n in ROWS]
SSNS = [f"{100000000 + n:09d}" for n in ROWS]
RAW = EMAILS + SSNS
W = "WHERE id BETWEEN 1000 AND 1003"


@pytest.fixture(scope="module")
def k(kernel):
    make_warehouse(kernel.workdir / "wh.duckdb")
    kernel.ok("import duckdb\ncon = duckdb.connect('wh.duckdb')")
    return kernel


def _clean(r) -> None:
    text = json.dumps([m["content"] for m in r.messages]) + json.dumps(r.reply)
    for raw in RAW:
        assert raw not in text, raw


# (set-up statements, the query that reads the moved column); {c} is the column moved
PATHS = {
    "rename-column": (["CREATE TABLE a_{n} AS SELECT id, {c} FROM customers " + W,
                       "ALTER TABLE a_{n} RENAME COLUMN {c} TO k"], "SELECT id, k FROM a_{n}"),
    "rename-table": (["CREATE TABLE b_{n} AS SELECT id, {c} AS k FROM customers " + W,
                      "ALTER TABLE b_{n} RENAME TO b2_{n}"], "SELECT id, k FROM b2_{n}"),
    "insert-select": (["CREATE TABLE c_{n} (id BIGINT, k VARCHAR)",
                       "INSERT INTO c_{n} SELECT id, {c} FROM customers " + W],
                      "SELECT id, k FROM c_{n}"),
    "insert-listed": (["CREATE TABLE d_{n} (k VARCHAR, id BIGINT)",
                       "INSERT INTO d_{n} (id, k) SELECT id, {c} FROM customers " + W],
                      "SELECT id, k FROM d_{n}"),
    "insert-union": (["CREATE TABLE e_{n} (id BIGINT, k VARCHAR)",
                      "INSERT INTO e_{n} SELECT 0, 'x' UNION ALL SELECT id, {c} FROM customers "
                      + W], "SELECT id, k FROM e_{n}"),
    "update-set": (["CREATE TABLE f_{n} AS SELECT id, 'x' AS k FROM customers " + W,
                    "UPDATE f_{n} SET k = c.{c} FROM customers c WHERE c.id = f_{n}.id"],
                   "SELECT id, k FROM f_{n}"),
    "update-packed": (["CREATE TABLE g_{n} AS SELECT id, 'x' AS k FROM customers " + W,
                       "UPDATE g_{n} SET k = CAST({{'a': c.{c}}} AS VARCHAR) FROM customers c "
                       "WHERE c.id = g_{n}.id"], "SELECT id, k FROM g_{n}"),
    "macro-table": (["CREATE MACRO m_{n}() AS TABLE SELECT id, {c} AS k FROM customers " + W],
                    "SELECT id, k FROM m_{n}()"),
    "macro-scalar": (["CREATE MACRO s_{n}(x) AS (SELECT max({c}) FROM customers WHERE id = x)"],
                     "SELECT id, s_{n}(id) AS k FROM customers " + W),
    "view-over-insert": (["CREATE TABLE h_{n} (id BIGINT, k VARCHAR)",
                          "INSERT INTO h_{n} SELECT id, {c} FROM customers " + W,
                          "CREATE VIEW hv_{n} AS SELECT id, k AS z FROM h_{n}"],
                         "SELECT id, z FROM hv_{n}"),
    "ctas-from-view": (["CREATE VIEW iv_{n} AS SELECT id, {c} AS q FROM customers " + W,
                        "CREATE TABLE i_{n} AS SELECT * FROM iv_{n}"], "SELECT id, q FROM i_{n}"),
    "list-string-agg": ([], "SELECT count(*) AS id, string_agg({c}, ';') AS k, list({c}) AS l "
                        "FROM customers " + W),
    "json-struct-cast": ([], "SELECT id, to_json({{'a': {c}}}) AS j, CAST({c} AS VARCHAR) || '' "
                         "AS k FROM customers " + W),
}


def _setup(k, n: str, col: str) -> str:
    stmts, query = PATHS[n.split("__")[0]]
    tag = n.replace("-", "_")
    for s in stmts:
        k.ok(f"con.execute({s.format(n=tag, c=col)!r})")
    return query.format(n=tag, c=col)


@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize("col", ["ssn", "email"])
def test_moved_sensitive_values_stay_sensitive(k, path, col):
    query = _setup(k, f"{path}__{col}", col)
    f = f"ddl_{path}_{col}.csv"
    r = k.blocked(f"%%guarded_sql con\nCOPY ({query}) TO '{f}'", "exfiltration")
    _clean(r)
    assert not (k.workdir / f).exists()
    r = k.ok(f"%%guarded_sql con\n{query}")       # shown masked
    _clean(r)
    r = k.blocked(f"con.execute({query!r}).df().to_csv({f!r})", "exfiltration")
    _clean(r)
    assert not (k.workdir / f).exists()


@pytest.mark.parametrize("path", sorted(PATHS))
def test_moved_plain_values_export(k, path):
    query = _setup(k, f"{path}__plain", "city")
    f = f"ddl_plain_{path}.csv"
    k.ok(f"%%guarded_sql con\nCOPY ({query}) TO '{f}'")
    text = (k.workdir / f).read_text()
    city = "Paris" if path == "macro-scalar" else "Lyon"   # row 1000 is in Lyon; max(city) Paris
    assert city in text and len(text.splitlines()) >= 2, text
    r = k.ok(f"%%guarded_sql con\n{query}")
    assert city in r.everything()


def test_python_function_returning_sensitive_values_is_refused(k):
    """``create_function`` with a function that looks raw values up by a plain id: any query
    through it is refused (export, fetch, display); the audit row says exfiltration."""
    k.ok("from duckdb.sqltypes import BIGINT, VARCHAR\n"
         "vals = dict(con.execute('SELECT id, email FROM customers').fetchall())\n"
         "con.create_function('leak_udf', lambda i: vals[i], [BIGINT], VARCHAR)")
    r = k.blocked("%%guarded_sql con\nCOPY (SELECT id, leak_udf(id) AS x FROM customers "
                  f"{W}) TO 'udf_leak.csv'", "exfiltration")
    _clean(r)
    text = (k.workdir / "udf_leak.csv").read_text() if (k.workdir / "udf_leak.csv").exists() else ""
    assert not any(v in text for v in RAW)
    r = k.blocked(f"con.execute('SELECT id, leak_udf(id) FROM customers {W}').df()",
                  "exfiltration")
    _clean(r)
    r = k.blocked(f"%%guarded_sql con\nSELECT leak_udf(id) FROM customers {W}", "exfiltration")
    _clean(r)


def test_python_functions_over_their_arguments_work(k):
    k.ok("from duckdb.sqltypes import VARCHAR\n"
         "con.create_function('up_udf', lambda s: s.upper(), [VARCHAR], VARCHAR)\n"
         "con.create_function('same_udf', lambda e: e, [VARCHAR], VARCHAR)")
    r = k.ok(f"print(con.execute('SELECT id, up_udf(city) FROM customers {W} "
             "ORDER BY id').fetchall())")
    assert "[(1000, 'LYON'), (1001, 'NICE'), (1002, 'PARIS'), (1003, 'LYON')]" in r.everything()
    r = k.ok(f"%%guarded_sql con\nSELECT id, same_udf(email) AS e FROM customers {W}")
    assert "1000" in r.everything()
    _clean(r)   # the argument's taint masks the result
