"""Rules 1-3 by effect in a real IPython shell: the table is still there, the cell ended in error
with the rule named. Each attack form has its benign twin that must run and return the right result."""
from __future__ import annotations

import pytest

DROP_FORMS = [
    pytest.param('con.execute("DROP TABLE customers")', id="plain"),
    pytest.param('con.execute("drop /* tidy up */ TABLE   CUSTOMERS")', id="comment-case"),
    pytest.param('con.execute("SELECT 1; DROP TABLE customers")', id="multi-statement"),
    pytest.param('q = "DROP" + " TABLE " + "customers"\ncon.execute(q)', id="concatenation"),
    pytest.param('t = "customers"\ncon.execute(f"DROP TABLE {t}")', id="f-string"),
    pytest.param('con.execute("DROP TABLE {}".format("customers"))', id="format"),
    pytest.param('getattr(con, "exe" + "cute")("DROP TABLE customers")', id="getattr"),
    pytest.param('cur = con.cursor()\ncur.execute("DROP TABLE customers")', id="cursor"),
    pytest.param('import duckdb as d\nd.sql("DROP TABLE customers", connection=con)', id="module-sql-alias"),
    pytest.param('exec("con.execute(\'DROP TABLE customers\')")', id="exec-literal"),
    pytest.param('import base64\nexec(base64.b64decode("Y29uLmV4ZWN1dGUoJ0RST1AgVEFCTEUgY3VzdG9tZXJzJyk=").decode())', id="exec-base64"),
    pytest.param('def tidy(name):\n    con.execute("DROP TABLE " + name)\ntidy("customers")', id="function-call"),
    pytest.param('run = con.execute\nrun("DROP TABLE customers")', id="bound-method-alias"),
    pytest.param('con.execute("TRUNCATE customers")', id="truncate"),
    pytest.param('con.execute("ALTER TABLE customers DROP COLUMN email")', id="drop-column"),
    pytest.param('con.execute("CREATE OR REPLACE TABLE customers AS SELECT 1 AS id")', id="create-or-replace"),
    pytest.param('con.execute("DROP VIEW IF EXISTS x; DROP TABLE customers CASCADE")', id="second-statement"),
    pytest.param('%%guarded_sql con\nDROP TABLE customers', id="guarded-sql"),
    pytest.param('%%guarded_sql con\nSELECT 1;\n-- then\nDROP TABLE customers;', id="guarded-sql-multi"),
    pytest.param('get_ipython().run_cell_magic("guarded_sql", "con", "DROP TABLE customers")', id="run-cell-magic"),
    pytest.param('con.execute("EXPLAIN SELECT 1"); con.execute("drop table customers")', id="after-benign"),
    pytest.param('import threading\nth = threading.Thread(target=con.execute, args=("DROP TABLE customers",))\n'
                 'th.start(); th.join()', id="thread-target"),
]


@pytest.mark.parametrize("code", DROP_FORMS)
def test_destructive_ddl_is_blocked(s, code):
    cell = s.run(code)
    assert "customers" in s.tables()
    assert s.count() == 5000
    if "threading" not in code:
        assert not cell.ok
        assert cell.rule == "destructive-ddl"


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_lambda_thread_is_stopped_at_run_time(s):
    s.run('import threading\nth = threading.Thread(target=lambda: con.execute("DROP TABLE customers"))\n'
          'th.start(); th.join()')
    assert "customers" in s.tables()


BENIGN_SQL = [
    pytest.param("SELECT 'DROP TABLE customers' AS s", [("DROP TABLE customers",)], id="string-literal"),
    pytest.param("-- DROP TABLE customers\nSELECT count(*) FROM customers", [(5000,)], id="commented-out"),
    pytest.param("/* DELETE FROM customers */ SELECT 1", [(1,)], id="block-comment"),
    pytest.param("SELECT city, count(*) FROM customers GROUP BY ALL ORDER BY city",
                 [("Lyon", 1667), ("Nice", 1666), ("Paris", 1667)], id="group-by-all"),
    pytest.param("SELECT [1, 2, 3, 4][2:3] AS l", [([2, 3],)], id="list-slice"),
    pytest.param("SELECT * FROM (PIVOT (SELECT city, amount FROM customers WHERE id < 3) ON city USING sum(amount)) ",
                 [(1.5, 3.0, 0.0)], id="pivot"),
    pytest.param("SUMMARIZE SELECT id FROM customers", None, id="summarize"),
]


@pytest.mark.parametrize("sql,expected", BENIGN_SQL)
def test_benign_sql_runs_with_correct_result(s, sql, expected):
    cell = s.run(f"%%guarded_sql con -o out\n{sql}")
    assert cell.ok, cell.error
    out = s.ip.user_ns["out"]
    assert len(out) >= 1
    if expected is not None:
        got = [tuple(x.tolist() if hasattr(x, "tolist") else x for x in row) for row in out.itertuples(index=False)]
        assert got == expected


def test_own_and_temporary_tables_may_be_dropped(s):
    assert s.run("%%guarded_sql con\nCREATE TABLE scratch AS SELECT 1 AS a").ok
    assert s.run("%%guarded_sql con\nCREATE OR REPLACE TABLE scratch AS SELECT 2 AS a").ok
    assert s.run('con.execute("DROP TABLE scratch")').ok
    assert s.run("%%guarded_sql con\nCREATE TEMP TABLE t1 AS SELECT 1 AS a; DROP TABLE t1").ok
    assert s.run("%%guarded_sql con\nCREATE TABLE x2 AS SELECT 1 AS a; TRUNCATE x2; DROP TABLE x2").ok
    assert "scratch" not in s.tables() and "x2" not in s.tables()


BULK_FORMS = [
    pytest.param("DELETE FROM customers", id="no-where"),
    pytest.param("DELETE FROM customers WHERE 1=1", id="one-equals-one"),
    pytest.param("delete from customers where TRUE", id="true"),
    pytest.param("DELETE FROM customers WHERE id = id", id="x-equals-x"),
    pytest.param("DELETE FROM customers WHERE id = 5 OR 1 = 1", id="or-tautology"),
    pytest.param("DELETE FROM customers WHERE 'a' = 'a'", id="string-tautology"),
    pytest.param("DELETE FROM customers WHERE NOT FALSE", id="not-false"),
    pytest.param("DELETE FROM customers WHERE id IS NULL OR id IS NOT NULL", id="null-pair"),
    pytest.param("DELETE FROM customers WHERE id < 4000", id="too-many-rows"),
    pytest.param("DELETE FROM customers WHERE city <> 'Atlantis'", id="row-count-not-syntax"),
    pytest.param("UPDATE customers SET city = 'X'", id="update-no-where"),
    pytest.param("UPDATE customers SET city = 'X' WHERE 2 > 1", id="update-constant"),
    pytest.param("DELETE FROM customers USING orders WHERE customers.id = orders.customer_id", id="delete-using"),
]


@pytest.mark.parametrize("sql", BULK_FORMS)
@pytest.mark.parametrize("via", ["magic", "python"])
def test_bulk_changes_are_blocked(s, sql, via):
    code = f"%%guarded_sql con\n{sql}" if via == "magic" else f"con.execute({sql!r})"
    cell = s.run(code)
    assert not cell.ok
    assert cell.rule == "bulk-change"
    assert s.count() == 5000
    assert s.sql("SELECT count(*) FROM customers WHERE city = 'X'")[0][0] == 0


@pytest.mark.parametrize("code", [
    pytest.param('con.execute("DELETE FROM customers WHERE id = ? OR ?", [1, True])', id="param-tautology"),
    pytest.param('con.execute("DELETE FROM customers WHERE id > ?", [10])', id="param-too-many"),
    pytest.param('con.executemany("DELETE FROM customers WHERE id > ?", [[10]])', id="executemany"),
    pytest.param('con.execute("DELETE FROM customers WHERE id > $n", {"n": 2})', id="named-param"),
])
def test_bound_parameters_are_checked(s, code):
    cell = s.run(code)
    assert not cell.ok and cell.rule == "bulk-change"
    assert s.count() == 5000


def test_targeted_changes_run(s):
    assert s.run("%%guarded_sql con\nDELETE FROM customers WHERE id = 5").ok
    assert s.run('con.execute("DELETE FROM customers WHERE id < ?", [10])').ok
    assert s.run('con.execute("UPDATE customers SET city = \'Lille\' WHERE id BETWEEN 100 AND 199")').ok
    assert s.count() == 4990
    assert s.sql("SELECT count(*) FROM customers WHERE city = 'Lille'")[0][0] == 100


EXFIL_FORMS = [
    pytest.param("COPY (SELECT email FROM customers) TO '{w}/out.csv'", id="copy-column"),
    pytest.param("COPY (SELECT c.email AS contact FROM customers c) TO '{w}/out.csv'", id="copy-alias"),
    pytest.param("COPY customers TO '{w}/out.csv'", id="copy-table-star"),
    pytest.param("COPY (SELECT * FROM customers WHERE id < 3) TO '{w}/out.parquet' (FORMAT parquet)", id="copy-star"),
    pytest.param("COPY (WITH x AS (SELECT ssn AS k FROM customers) SELECT k FROM x) TO '{w}/out.csv'", id="copy-cte"),
    pytest.param("COPY (SELECT city FROM customers) TO 's3://bucket/out.csv'", id="remote-destination"),
    pytest.param("EXPORT DATABASE '{w}/out'", id="export-database"),
    pytest.param("ATTACH '{w}/other.duckdb' AS o; CREATE TABLE o.leak AS SELECT email FROM customers", id="attach-copy"),
]


@pytest.mark.parametrize("sql", EXFIL_FORMS)
def test_exfiltration_is_blocked(s, sql):
    cell = s.run("%%guarded_sql con\n" + sql.format(w=s.dir))
    assert not cell.ok and cell.rule == "exfiltration"
    assert not (s.dir / "out.csv").exists() and not (s.dir / "out.parquet").exists()
    assert not (s.dir / "out").exists() and not (s.dir / "other.duckdb").exists()


def test_non_sensitive_local_export_runs(s):
    cell = s.run(f"%%guarded_sql con\nCOPY (SELECT city, amount FROM customers) TO '{s.dir}/cities.csv'")
    assert cell.ok, cell.error
    assert (s.dir / "cities.csv").read_text().startswith("city,amount")


def test_parse_error_runs_nothing(s):
    cell = s.run("%%guarded_sql con\nINSERT INTO orders VALUES (1, 1, 1.0);\nSELEC oops")
    assert not cell.ok
    assert "syntax error" in str(cell.error).lower()
    assert s.count("orders") == 2000


def test_failed_statement_rolls_back_the_cell(s):
    cell = s.run("%%guarded_sql con\nINSERT INTO orders VALUES (9999, 1, 1.0);\nSELECT * FROM missing_table")
    assert not cell.ok
    assert "rolled back" in str(cell.error)
    assert s.count("orders") == 2000


def test_dry_run_shows_decisions_and_runs_nothing(s):
    cell = s.run("%%guarded_sql con --dry-run\nDELETE FROM customers WHERE id < 3000; DELETE FROM customers WHERE id = 1")
    assert cell.ok
    frame = cell.result.result
    assert list(frame["decision"]) == ["block", "allow"]
    assert list(frame["estimated_rows"]) == [3000, 1]
    assert s.count() == 5000


def test_output_variable_holds_unmasked_frame(s):
    assert s.run("%%guarded_sql con -o rows\nSELECT id, email FROM customers ORDER BY id LIMIT 2").ok
    assert list(s.ip.user_ns["rows"]["email"]) == ["user0@example.com", "user1@example.com"]


def test_connection_by_url_is_remembered(s):
    assert s.run(f"%%guarded_sql duckdb:///{s.dir}/second.duckdb\nCREATE TABLE t AS SELECT 42 AS x").ok
    cell = s.run("%%guarded_sql -o got\nSELECT x FROM t")
    assert cell.ok and int(s.ip.user_ns["got"]["x"][0]) == 42


def test_unknown_connection_is_a_clear_error(s):
    cell = s.run("%%guarded_sql nosuchvar\nSELECT 1")
    assert not cell.ok
    assert "no variable or URL named 'nosuchvar'" in str(cell.error)


@pytest.mark.parametrize("code", [
    pytest.param("import _duckdb\nc2 = _duckdb.connect(DB)\nq = ''.join(['DR', 'OP TABLE customers'])\nc2.execute(q)",
                 id="c-module"),
    pytest.param("import duckdb\nd = duckdb.default_connection()\nd.execute(f\"ATTACH '{DB}' AS w\")\n"
                 "q = 'DROP TABLE w.' + 'customers'\nd.execute(q)", id="default-connection"),
    pytest.param("q = 'DROP TABLE ' + str(len('customers') * 0 or 'customers')\ncon.execute(q)", id="runtime-only-sql"),
    pytest.param("c3 = con.cursor().cursor()\nc3.execute(''.join(['DROP ', 'TABLE customers']))", id="cursor-of-cursor"),
])
def test_run_time_sql_through_other_doors(s, code):
    cell = s.run(code)
    assert "customers" in s.tables()
    assert not cell.ok and cell.rule == "destructive-ddl"


@pytest.mark.parametrize("code", [
    pytest.param("%%bash\nduckdb wh.duckdb -c \"COPY customers TO 'leak.csv'\"", id="duckdb-cli"),
    pytest.param("!duckdb wh.duckdb -c \"COPY (SELECT email FROM customers) TO 'leak.csv'\"", id="duckdb-cli-bang"),
    pytest.param("import subprocess\nsubprocess.run(['duckdb', 'wh.duckdb', '-c', \"EXPORT DATABASE 'leak'\"])",
                 id="subprocess-export"),
])
def test_exports_through_the_shell_are_blocked(s, code):
    cell = s.run(code)
    assert not cell.ok and cell.rule == "exfiltration"
    assert not (s.dir / "leak.csv").exists() and not (s.dir / "leak").exists()
