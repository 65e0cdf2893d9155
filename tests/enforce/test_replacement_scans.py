"""DuckDB reads Python variables named in SQL (``SELECT * FROM df``, a replacement scan) from the
first frame outside its own package. Under the guard that frame was the guard's, and every such
statement failed with "Table with name df does not exist". In a real kernel: every route answers
with the right numbers, from a cell, a function and a cell magic; a frame of the user's named
like one of the guard's own variables is still the user's; and a sensitive frame read this way
is masked on display and refused on export like a table."""
from __future__ import annotations

import json

import pytest

from tests.conftest import make_warehouse

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(kernel):
    make_warehouse(kernel.workdir / "wh.duckdb", rows=300)
    kernel.ok("import duckdb, pandas as pd\ncon = duckdb.connect('wh.duckdb')\n"
              "nums = pd.DataFrame({'a': [1, 2, 3, 4]})\n"
              "people = con.sql('SELECT * FROM customers').df()")
    return kernel


HONEST = [
    pytest.param("print(duckdb.sql('SELECT sum(a) FROM nums').fetchall())", "[(10,)]",
                 id="module-sql"),
    pytest.param("print(duckdb.query('SELECT max(a) FROM nums').fetchall())", "[(4,)]",
                 id="module-query"),
    pytest.param("print(duckdb.execute('SELECT min(a) FROM nums').fetchall())", "[(1,)]",
                 id="module-execute"),
    pytest.param("print(con.sql('SELECT count(*) FROM nums').fetchall())", "[(4,)]",
                 id="connection-sql"),
    pytest.param("print(con.execute('SELECT count(*) FROM nums WHERE a > ?', [2]).fetchall())",
                 "[(2,)]", id="connection-execute-params"),
    pytest.param("def f():\n    mine = pd.DataFrame({'b': [5, 6]})\n"
                 "    return con.execute('SELECT sum(b) FROM mine').fetchall()\nprint(f())",
                 "[(11,)]", id="function-local"),
    pytest.param("query = pd.DataFrame({'c': [7, 8, 9]})\n"
                 "print(con.sql('SELECT sum(c) FROM query').fetchall())", "[(24,)]",
                 id="named-like-the-guards-own-variable"),
    pytest.param("c2 = duckdb.connect()\nc2.execute('CREATE TABLE t AS SELECT * FROM nums')\n"
                 "print(c2.sql('SELECT sum(a) FROM t').fetchall())", "[(10,)]",
                 id="create-table-from-frame"),
    pytest.param("print(con.sql('SELECT city, count(*) AS n FROM people GROUP BY city "
                 "ORDER BY city').fetchall())", "('Lyon', 100)", id="aggregate-of-sensitive-frame"),
    pytest.param("%%guarded_sql con\nSELECT sum(a) AS total FROM nums", "10", id="cell-magic"),
]


@pytest.mark.parametrize(("code", "expect"), HONEST)
def test_python_variables_are_read_as_tables(k, code, expect):
    r = k.ok(code)
    assert expect in r.text, r.text


def test_a_sensitive_frame_read_by_sql_is_masked_on_display(k):
    r = k.ok("print(duckdb.sql('SELECT email, ssn FROM people LIMIT 5').fetchall())")
    text = json.dumps([m["content"] for m in r.messages])
    assert "@example.com" in r.text and "user1@example.com" not in text
    assert "100000001" not in text


@pytest.mark.parametrize("code", [
    "duckdb.sql(\"COPY (SELECT email FROM people) TO 'scan_out1.csv'\")",
    "con.execute(\"COPY (SELECT * FROM people) TO 'scan_out2.csv'\")",
    "duckdb.sql('SELECT ssn FROM people').write_csv('scan_out3.csv')",
], ids=["module-copy", "connection-copy-star", "relation-writer"])
def test_a_sensitive_frame_read_by_sql_is_not_exported(k, code):
    k.blocked(code, "exfiltration")
    for p in k.workdir.glob("scan_out*"):
        assert "user1@example.com" not in p.read_text(errors="replace")


# Values fetched from a sensitive column, bound as parameters into a scratch table, then copied
# out by DuckDB (which writes the file natively, past every byte scan).
BOUND = [
    pytest.param("s = duckdb.connect()\ns.execute('CREATE TABLE t (e VARCHAR)')\n"
                 "s.executemany('INSERT INTO t VALUES (?)', [[e] for e in people.email[:50]])\n"
                 "s.execute(\"COPY t TO 'bound1.csv'\")", id="executemany-then-copy"),
    pytest.param("s = duckdb.connect()\ns.execute('CREATE TABLE t (id INT, v VARCHAR)')\n"
                 "rows = con.sql('SELECT id, ssn FROM customers LIMIT 20').fetchall()\n"
                 "s.executemany('INSERT INTO t (id, v) VALUES (?, ?)', rows)\n"
                 "s.sql('SELECT v FROM t').write_csv('bound2.csv')", id="fetchall-listed-columns"),
    pytest.param("s = duckdb.connect()\ns.execute('CREATE TABLE t (id INT, v VARCHAR)')\n"
                 "s.execute('INSERT INTO t VALUES (1, NULL)')\n"
                 "s.execute('UPDATE t SET v = ? WHERE id = 1', [people.email[3]])\n"
                 "s.execute(\"COPY (SELECT v FROM t) TO 'bound3.csv'\")", id="update-set"),
    pytest.param("s = duckdb.connect()\ns.execute('CREATE TABLE t (v VARCHAR)')\n"
                 "s.execute('INSERT INTO t VALUES ($v)', {'v': ','.join(people.ssn[:30])})\n"
                 "s.execute(\"COPY t TO 'bound4.csv'\")", id="named-parameter"),
    pytest.param("s = duckdb.connect()\ns.execute('CREATE TABLE t (v VARCHAR)')\n"
                 "duckdb.execute('INSERT INTO t VALUES (?)', [people.email[9]], connection=s)\n"
                 "s.execute(\"COPY t TO 'bound5.csv'\")", id="module-execute-connection"),
]


@pytest.mark.parametrize("code", BOUND)
def test_sensitive_values_bound_into_a_table_are_not_copied_out(k, code, request):
    n = request.node.callspec.id
    k.blocked(code, "exfiltration")
    for p in k.workdir.glob("bound*.csv"):
        text = p.read_text(errors="replace")
        assert "@example.com" not in text and "10000000" not in text, (n, text[:200])


def test_plain_values_bound_into_a_table_are_copied_out(k):
    k.ok("s = duckdb.connect()\ns.execute('CREATE TABLE t (id INT, city VARCHAR, v VARCHAR)')\n"
         "rows = con.sql('SELECT id, city, ssn FROM customers LIMIT 20').fetchall()\n"
         "s.executemany('INSERT INTO t VALUES (?, ?, ?)', rows)\n"
         "s.execute(\"COPY (SELECT id, city FROM t) TO 'plain_bound.csv'\")")
    assert "Lyon" in (k.workdir / "plain_bound.csv").read_text()
