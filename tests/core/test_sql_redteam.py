"""Red-team bypasses of the SQL effect check and the store protection, each refused by its
measured effect (table, file, store untouched; the cell ends in error), with benign twins."""
from __future__ import annotations

import pytest

# EXPLAIN with ANALYZE in its option list runs the statement it explains.
EXPLAINS = [
    ("con.execute('EXPLAIN (FORMAT json, ANALYZE) DELETE FROM customers').fetchall()",
     "bulk-change"),
    ("%%guarded_sql con\nEXPLAIN (FORMAT json, ANALYZE) UPDATE customers SET ssn = NULL",
     "bulk-change"),
    ("con.sql('EXPLAIN (FORMAT json, ANALYZE) DROP TABLE customers')", "destructive-ddl"),
    ("duckdb.execute('EXPLAIN (FORMAT text, ANALYZE) DELETE FROM customers', connection=con)",
     "bulk-change"),
    ("%%guarded_sql con\nEXPLAIN (FORMAT json, ANALYZE) MERGE INTO customers USING (SELECT range "
     "AS id FROM range(4500)) s ON customers.id = s.id WHEN MATCHED THEN DELETE", "bulk-change"),
    ("con.execute('EXPLAIN (FORMAT json, ANALYZE) TRUNCATE customers')", "destructive-ddl"),
    ("cur = con.cursor()\ncur.execute('EXPLAIN (FORMAT text, ANALYZE true) DELETE FROM customers')",
     "bulk-change"),
    ("con.execute('explain(format json,analyse false)delete from customers')", "bulk-change"),
    ("con.execute('EXPLAIN /* x */ ( ANALYZE 1 ) DELETE FROM customers')", "bulk-change"),
    ("q = ' '.join(['EXPLAIN', '(FORMAT json,', 'ANALYZE)', 'DELETE', 'FROM', 'customers'])\n"
     "con.execute(q)", "bulk-change"),
    ("con.execute('EXPLAIN (FORMAT json, ANALYZE) ALTER TABLE customers DROP COLUMN ssn')", None),
    ("con.execute('BEGIN')\ncon.execute('EXPLAIN (FORMAT json, ANALYZE) DELETE FROM customers')",
     "bulk-change"),
    ("import threading\ndef go():\n    try:\n        con.execute("
     "'EXPLAIN (FORMAT json, ANALYZE) DELETE FROM customers')\n    except Exception as e:\n"
     "        errs.append(e)\nerrs = []\nt = threading.Thread(target=go)\nt.start(); t.join()\n"
     "raise errs[0]", "bulk-change"),
    # DuckDB cannot prepare an EXPLAIN; the guard refuses it before DuckDB says so.
    ("con.execute('PREPARE p AS EXPLAIN (FORMAT json, ANALYZE) DELETE FROM customers')\n"
     "con.execute('EXECUTE p')", None),
]


@pytest.mark.parametrize("code,rule", EXPLAINS, ids=range(len(EXPLAINS)))
def test_explain_with_analyze_in_its_options_is_measured(s, code, rule):
    cell = s.run(code)
    s.run("try:\n    con.execute('ROLLBACK')\nexcept Exception:\n    pass")
    assert not cell.ok, code
    if rule:
        assert cell.rule == rule, cell.error
    assert s.count() == 5000
    assert "ssn" in {r[0] for r in s.sql("SELECT column_name FROM duckdb_columns() "
                                         "WHERE table_name = 'customers'")}
    assert s.sql("SELECT count(*) FROM customers WHERE ssn IS NULL")[0][0] == 0


def test_explain_analyze_benign_twins(s):
    assert s.run("r = con.execute('EXPLAIN (FORMAT json, ANALYZE) DELETE FROM customers "
                 "WHERE id < 3').fetchall()").ok
    assert s.count() == 4997 and s.ip.user_ns["r"]
    assert s.run("r = con.execute(\"EXPLAIN (FORMAT 'json') SELECT count(*) FROM customers\")"
                 ".fetchall()").ok
    assert s.run("%%guarded_sql con\nEXPLAIN (ANALYZE, FORMAT json) SELECT count(*) FROM orders").ok
    assert s.run("%%guarded_sql con\nEXPLAIN (FORMAT json, ANALYZE) DELETE FROM customers "
                 "WHERE id = 10").ok
    assert s.count() == 4996


def test_explain_analyze_via_sqlalchemy_and_jupysql(s):
    from tests.conftest import make_warehouse

    make_warehouse(s.dir / "sa.duckdb")
    assert s.run("import sqlalchemy as sa\neng = sa.create_engine('duckdb:///sa.duckdb')").ok
    try:
        cell = s.run("with eng.begin() as c:\n    c.exec_driver_sql("
                     "'EXPLAIN (FORMAT json, ANALYZE) DELETE FROM customers')")
        assert not cell.ok and cell.rule == "bulk-change", cell.error
        assert s.run("with eng.connect() as c:\n"
                     "    left = c.execute(sa.text('SELECT count(*) FROM customers')).scalar()").ok
        assert s.ip.user_ns["left"] == 5000
    finally:
        s.run("eng.dispose()")
    make_warehouse(s.dir / "jq.duckdb")
    assert s.run("%load_ext sql").ok
    assert s.run("%sql duckdb:///jq.duckdb").ok
    try:
        cell = s.run("%sql EXPLAIN (FORMAT json, ANALYZE) DELETE FROM orders")
        assert not cell.ok and cell.rule == "bulk-change", cell.error
        assert s.run("left = %sql SELECT count(*) AS n FROM orders").ok
        assert list(s.ip.user_ns["left"].DataFrame()["n"]) == [2000]
    finally:
        s.run("%sql --close duckdb:///jq.duckdb")


def _reopen(s):
    s.run("for c in [v for v in list(globals().values()) if type(v).__name__.endswith("
          "'Connection') and v is not con]:\n    c.close()")
    assert s.run("con = duckdb.connect(DB)").ok


@pytest.mark.parametrize("second", [
    "c2.execute('DROP TABLE w.customers')",
    "c2.execute('CREATE OR REPLACE TABLE w.customers AS SELECT 1 AS id')",
    "c2.execute('ALTER TABLE w.customers RENAME TO gone')",
    "c2.execute('DROP SCHEMA w.main CASCADE')",
])
def test_attaching_an_existing_warehouse_grants_nothing(s, second):
    assert s.run("con.close()\nc2 = duckdb.connect()").ok
    assert s.run("c2.execute(f\"ATTACH '{DB}' AS w\")").ok
    cell = s.run(second)
    assert not cell.ok and cell.rule == "destructive-ddl", cell.error
    _reopen(s)
    assert "customers" in s.tables() and s.count() == 5000


def test_attaching_another_existing_file_grants_nothing(s):
    from tests.conftest import make_warehouse

    (s.dir / "data").mkdir(exist_ok=True)
    make_warehouse(s.dir / "data" / "other.duckdb")
    assert s.run("con.execute(\"ATTACH 'data/other.duckdb' AS o\")").ok
    for drop in ("DROP TABLE o.customers", "DROP TABLE o.main.orders",
                 "CREATE OR REPLACE TABLE o.customers AS SELECT 1 AS id"):
        cell = s.run(f"con.execute({drop!r})")
        assert not cell.ok and cell.rule == "destructive-ddl", (drop, cell.error)
    # a database attached empty and detached again: the name does not stay owned
    assert s.run("con.execute('DETACH o')\ncon.execute(\"ATTACH 'fresh.duckdb' AS f\")\n"
                 "con.execute('DETACH f')").ok
    assert s.run("con.execute(\"ATTACH 'data/other.duckdb' AS f\")").ok
    cell = s.run("con.execute('DROP TABLE f.orders')")
    assert not cell.ok and cell.rule == "destructive-ddl", cell.error
    assert s.sql("SELECT count(*) FROM f.orders")[0][0] == 2000
    assert s.sql("SELECT count(*) FROM f.customers")[0][0] == 5000


def test_a_new_attached_database_is_the_sessions_own(s):
    assert s.run("con.execute(\"ATTACH 'brand_new.duckdb' AS n\")\n"
                 "con.execute('CREATE TABLE n.t AS SELECT 1 AS a')\n"
                 "con.execute('DROP TABLE n.t')\n"
                 "con.execute('DETACH n')").ok
    assert s.run("%%guarded_sql con\nATTACH ':memory:' AS m; CREATE TABLE m.x AS SELECT 1 AS a; "
                 "DROP TABLE m.x; DETACH m").ok
    assert s.count() == 5000


def test_detaching_the_warehouse_stays_refused(s):
    from jupyter_guard.connections import unwrap

    cell = s.run("con.execute(\"ATTACH ':memory:' AS m\")\ncon.execute('USE m')\n"
                 "con.execute('DETACH wh')")
    assert not cell.ok and cell.rule == "destructive-ddl", cell.error
    # DuckDB detaches outside the transaction, so the rollback cannot undo it; the file is intact
    raw = unwrap(s.ip.user_ns["con"])
    if "wh" not in {r[0] for r in raw.execute("SELECT database_name FROM duckdb_databases()")
                    .fetchall()}:
        raw.execute(f"ATTACH '{s.db}' AS wh")
    raw.execute("USE wh")
    assert s.count() == 5000


SYMLINK_WRITES = [
    "con.execute(\"COPY (SELECT 1 AS a) TO 'lnk/keep.csv'\")",
    "%%guarded_sql con\nCOPY (SELECT 1 AS a) TO 'lnk/keep.csv'",
    "con.sql('SELECT 1 AS a').to_csv('lnk/keep.csv')",
    "con.sql('SELECT 1 AS a').write_csv('lnk/keep.csv')",
    "con.execute(\"COPY (SELECT 1 AS a) TO 'klink.csv'\")",
    "con.execute(f\"COPY (SELECT 1 AS a) TO '{WORK}/lnk/./keep.csv'\")",
    "con.execute(\"COPY (SELECT 1 AS a) TO 'lnk2/keep.csv'\")",
]


@pytest.mark.parametrize("code", SYMLINK_WRITES, ids=range(len(SYMLINK_WRITES)))
def test_copy_through_a_symlink_into_a_protected_path_is_refused(s, code):
    (s.dir / "data").mkdir(exist_ok=True)
    keep = s.dir / "data" / "keep.csv"
    keep.write_text("keep\n")
    assert s.run("import os\nos.symlink('data', 'lnk')\nos.symlink('data/keep.csv', 'klink.csv')\n"
                 "os.symlink(os.path.abspath('lnk'), 'lnk2')").ok
    cell = s.run(code)
    assert not cell.ok and cell.rule == "destructive-files", cell.error
    assert keep.read_text() == "keep\n"


def test_copy_through_a_symlink_elsewhere_runs(s):
    (s.dir / "out").mkdir()
    assert s.run("import os\nos.symlink('out', 'olink')").ok
    assert s.run("con.execute(\"COPY (SELECT 1 AS a) TO 'olink/x.csv'\").fetchall()").ok
    assert s.run("con.sql('SELECT 2 AS a').write_csv('olink/y.csv')").ok
    assert (s.dir / "out" / "x.csv").read_text() == "a\n1\n"
    assert (s.dir / "out" / "y.csv").read_text() == "a\n2\n"


def _del(lo, hi, name="customers"):
    return f"con.execute('DELETE FROM {name} WHERE id >= {lo} AND id < {hi}')\n"


@pytest.mark.parametrize("switch", [
    "con.execute('USE wh.s1')\n",
    "con.execute(\"ATTACH ':memory:' AS scratch\")\n"
    "con.execute(\"SET search_path = 'scratch.main,wh.main'\")\n",
    "con.execute(\"SET search_path = 's1'\")\n",
    "",
])
@pytest.mark.parametrize("second", ["customers", "main.customers", "wh.main.customers"])
def test_cell_limit_counts_the_resolved_table(s, switch, second):
    assert s.run("con.execute('CREATE SCHEMA s1')").ok
    cell = s.run(_del(0, 600) + switch + _del(600, 1200, second))
    assert not cell.ok and cell.rule == "bulk-change", cell.error
    assert "1200 in this cell" in str(cell.error)
    s.run("con.execute('RESET search_path')\ncon.execute('USE wh.main')")
    assert s.count() == 4400   # the first delete was kept, the second refused


def test_cell_limit_across_guarded_sql_cells_with_use(s):
    assert s.run("con.execute('CREATE SCHEMA s1')").ok
    cell = s.run("for sql in ['DELETE FROM customers WHERE id < 600', 'USE wh.s1', "
                 "'DELETE FROM customers WHERE id >= 600 AND id < 1200']:\n"
                 "    get_ipython().run_cell_magic('guarded_sql', 'con', sql)")
    assert not cell.ok or s.count() == 4400
    s.run("con.execute('USE wh.main')")
    assert s.count() == 4400


def test_use_benign_twins(s):
    assert s.run("con.execute('CREATE SCHEMA s1')\ncon.execute('USE wh.s1')\n"
                 "con.execute('CREATE TABLE mine AS SELECT range AS id FROM range(3000)')\n"
                 "n = con.execute('DELETE FROM customers WHERE id < 5').fetchall()\n"
                 "m = con.execute('DELETE FROM mine WHERE id < 900').fetchall()\n"
                 "u = con.execute(\"UPDATE customers SET city = 'Y' WHERE id = 7\").fetchall()").ok
    assert s.ip.user_ns["n"] == [(5,)] and s.ip.user_ns["m"] == [(900,)]
    assert s.ip.user_ns["u"] == [(1,)]
    s.run("con.execute('USE wh.main')")
    assert s.count() == 4995 and s.sql("SELECT count(*) FROM s1.mine")[0][0] == 2100


def test_session_limit_counts_the_resolved_table(tmp_path):
    from dataclasses import replace

    import duckdb

    from jupyter_guard.errors import GuardBlocked
    from jupyter_guard.guard.effect import state
    from jupyter_guard.guard.service import Guard
    from jupyter_guard.hooks.sinks import GuardedConnection

    raw = duckdb.connect(str(tmp_path / "w.duckdb"))
    raw.execute("CREATE TABLE t AS SELECT range AS id FROM range(5000); CREATE SCHEMA s1")
    guard = Guard.create()
    guard.plug(runtime_sql=True)
    guard.policy = replace(guard.policy, max_affected_rows_per_session=1000,
                           session_window_minutes=5)
    con = GuardedConnection(raw, guard)
    con.execute("DELETE FROM t WHERE id < 600")
    state(guard).cell.clear()                       # a new cell
    con.execute("USE w.s1")
    with pytest.raises(GuardBlocked) as e:
        con.execute("DELETE FROM t WHERE id >= 600 AND id < 1200")
    assert "1200 in the last 5 minutes" in str(e.value)
    con.execute("SET search_path = 'w.s1,w.main'")
    with pytest.raises(GuardBlocked):
        con.execute("DELETE FROM t WHERE id >= 600 AND id < 1200")
    assert raw.execute("SELECT count(*) FROM w.main.t").fetchone()[0] == 4400
    raw.close()


STORE_READS = [
    "con.execute(f\"SELECT filename, octet_length(content) FROM read_blob('{GD}/audit.duck*')\")"
    ".fetchall()",
    "con.execute(f\"SELECT content FROM read_text('{AUDIT}.heads.json')\").fetchall()",
    "con.execute(f\"SELECT content FROM read_text('{GD}/*.duck*')\").fetchall()",
    "con.execute(f\"SELECT * FROM read_blob('{GD}/audit.duckdb.jour*/*')\").fetchall()",
    "con.execute(f\"SELECT * FROM read_blob('{GD}/*')\").fetchall()",
    "con.execute(f\"SELECT * FROM glob('{GD}/*')\").fetchall()",
    "con.execute(f\"SELECT * FROM read_csv('{AUDIT}.heads.json')\").fetchall()",
    "con.execute(f\"SELECT * FROM read_json('{AUDIT}.heads.json')\").fetchall()",
    "con.execute(f\"SELECT * FROM read_json_auto(['{AUDIT}.heads.json'])\").fetchall()",
    "con.execute(f\"SELECT * FROM read_parquet('{AUDIT}')\").fetchall()",
    "con.execute(f\"SELECT * FROM '{AUDIT}.heads.json'\").fetchall()",
    "con.execute('SELECT content FROM read_text(?)', [AUDIT + '.heads.json']).fetchall()",
    "con.sql(f\"SELECT content FROM read_text('{AUDIT}.heads.json')\").fetchall()",
    "%%guarded_sql con\nSELECT content FROM read_text('{AUDIT}.heads.json')",
    "import os\nos.symlink(GD, 'glink')\n"
    "con.execute(\"SELECT content FROM read_text('glink/*.json')\").fetchall()",
]


@pytest.mark.parametrize("code", STORE_READS, ids=range(len(STORE_READS)))
def test_sql_reads_of_the_audit_store_are_refused(s, code):
    import os

    audit = os.environ["JUPYTER_GUARD_AUDIT"]
    s.ip.user_ns.update(AUDIT=audit, GD=os.path.dirname(audit), out=None)
    if code.startswith("%%guarded_sql"):
        code = code.replace("{AUDIT}", audit)
    assert s.run("x = 1").ok   # the store has events and heads by now
    cell = s.run("out = " + code if code.startswith("con.") else code)
    assert not cell.ok and cell.rule == "self-protection", cell.error
    assert s.ip.user_ns.get("out") is None


def test_sql_file_reads_elsewhere_run(s):
    (s.dir / "data").mkdir(exist_ok=True)
    (s.dir / "data" / "notes.json").write_text('{"a": 1}')
    assert s.run("r = con.execute(\"SELECT content FROM read_text('data/*.json')\").fetchall()").ok
    assert s.ip.user_ns["r"] == [('{"a": 1}',)]
    assert s.run("r = con.execute(\"SELECT a FROM 'data/notes.json'\").fetchall()").ok
    assert s.ip.user_ns["r"] == [(1,)]
    assert s.run("r = con.execute(\"SELECT 'a.b' AS x, 'c/d' AS y, count(*) AS n FROM orders\")"
                 ".fetchall()").ok
    assert s.ip.user_ns["r"] == [("a.b", "c/d", 2000)]


@pytest.mark.parametrize("code", [
    "con.execute('CREATE SCHEMA s2')\ncon.execute('CREATE TABLE s2.t AS SELECT 1 AS a')\n"
    "con.execute('DROP TABLE s2.t')",
    "%%guarded_sql con\nCREATE SCHEMA s2; CREATE TABLE s2.t AS SELECT 1 AS a; DROP TABLE s2.t",
    "con.execute('CREATE SCHEMA s2')\ncon.execute('CREATE TABLE s2.t AS SELECT 1 AS a')\n"
    "con.execute('DROP TABLE wh.s2.t')\ncon.execute('DROP SCHEMA s2')",
    "con.execute('CREATE SCHEMA s2')\ncon.execute('CREATE TABLE s2.t (id INT)')\n"
    "con.execute('ALTER TABLE s2.t RENAME TO u')\ncon.execute('DROP SCHEMA s2 CASCADE')",
])
def test_a_schema_and_table_the_session_created_may_be_dropped(s, code):
    cell = s.run(code)
    assert cell.ok, cell.error
    assert "t" not in s.tables() and s.count() == 5000
    assert not s.sql("SELECT * FROM duckdb_tables() WHERE schema_name = 's2' AND table_name = 't'")


def test_separate_cells_and_the_attack_twin(s):
    assert s.run("con.execute('CREATE SCHEMA s2')").ok
    assert s.run("%%guarded_sql con\nCREATE TABLE s2.t AS SELECT 1 AS a").ok
    assert s.run("%%guarded_sql con\nDROP TABLE s2.t").ok
    s.sql("CREATE SCHEMA fin")   # made by someone else: not the session's
    s.sql("CREATE TABLE fin.t AS SELECT 1 AS a")
    for code in ("con.execute('DROP TABLE fin.t')", "con.execute('DROP SCHEMA fin CASCADE')",
                 "%%guarded_sql con\nDROP TABLE fin.t"):
        cell = s.run(code)
        assert not cell.ok and cell.rule == "destructive-ddl", (code, cell.error)
    assert s.sql("SELECT count(*) FROM fin.t")[0][0] == 1


# DuckDB's module-level functions on a named or default connection take the connection's own
# path: every parameter set of an executemany is measured, not only the first.
MODULE_LEVEL = [
    "duckdb.executemany('DELETE FROM customers WHERE id = ?', [[i] for i in range(5000)], "
    "connection=con)",
    "duckdb.executemany('UPDATE customers SET ssn = NULL WHERE id = ?', "
    "parameters=[[i] for i in range(5000)], connection=con)",
    "duckdb.set_default_connection(con)\n"
    "duckdb.executemany('DELETE FROM customers WHERE id = ?', [[i] for i in range(5000)])",
    "duckdb.set_default_connection(con)\nduckdb.execute('DELETE FROM customers WHERE id >= 0')",
    "import pandas as pd\nduckdb.query_df(pd.DataFrame({'a': [1]}), 't', "
    "'DELETE FROM customers WHERE id >= 0', connection=con)",
]


@pytest.mark.parametrize("code", MODULE_LEVEL, ids=range(len(MODULE_LEVEL)))
def test_module_level_functions_are_measured_like_the_connection(s, code):
    cell = s.run(code)
    assert not cell.ok and cell.rule == "bulk-change", (code, cell.error)
    assert s.count() == 5000
    assert s.sql("SELECT count(*) FROM customers WHERE ssn IS NULL")[0][0] == 0


def test_module_level_benign_twins(s):
    assert s.run("duckdb.executemany('DELETE FROM customers WHERE id = ?', [[1], [2]], "
                 "connection=con)").ok
    assert s.count() == 4998
    assert s.run("duckdb.set_default_connection(con)\n"
                 "n = duckdb.sql('SELECT count(*) FROM customers').fetchall()").ok
    assert s.ip.user_ns["n"] == [(4998,)]
    assert s.run("import pandas as pd\nq = duckdb.query_df(pd.DataFrame({'a': [1, 2]}), 't', "
                 "'SELECT sum(a) FROM t', connection=con).fetchall()").ok
    assert s.ip.user_ns["q"] == [(3,)]


def test_a_mask_literal_is_a_value_not_a_glob_of_the_store(s, monkeypatch):
    """In the audit store's own folder, ``'***'`` as a selected value is a value (a masked
    export runs and writes it), while the same text where DuckDB reads files is still refused."""
    import os

    audit = os.environ["JUPYTER_GUARD_AUDIT"]
    monkeypatch.chdir(os.path.dirname(audit))
    assert s.run("x = 1").ok   # the store has its files by now
    out = os.path.join(os.path.dirname(audit), "masked.csv")
    cell = s.run(f"con.execute(\"COPY (SELECT id, '***' AS email FROM customers WHERE id < 3) "
                 f"TO '{out}'\")")
    assert cell.ok, cell.error
    with open(out) as fh:
        assert fh.read().splitlines() == ["id,email", "0,***", "1,***", "2,***"]
    for code in ("out = con.execute(\"SELECT * FROM read_blob('***')\").fetchall()",
                 "out = con.execute(\"SELECT '***' AS a, * FROM read_blob('*')\").fetchall()"):
        cell = s.run(code)
        assert not cell.ok and cell.rule == "self-protection", (code, cell.error)
