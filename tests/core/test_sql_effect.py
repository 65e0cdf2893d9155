"""SQL decided by what it does: every form of issue 14 refused by its measured effect, with the
table, schema and file untouched, and benign twins that run with correct results."""
from __future__ import annotations

import pytest

# (code, rule) -- each emptied, dropped or rewrote a table before the effect check.
ATTACKS = [
    ("%%guarded_sql con\nEXPLAIN ANALYZE DELETE FROM customers", "bulk-change"),
    ("%%guarded_sql con\nEXPLAIN ANALYZE DROP TABLE customers", "destructive-ddl"),
    ("%%guarded_sql con\nEXPLAIN ANALYZE UPDATE customers SET ssn = NULL", "bulk-change"),
    ('con.execute("WITH d AS (DELETE FROM customers RETURNING id) SELECT count(*) FROM d")',
     "bulk-change"),
    ('con.execute("MERGE INTO customers USING (SELECT range AS id FROM range(5000)) s '
     'ON customers.id = s.id WHEN MATCHED THEN DELETE")', "bulk-change"),
    ('con.execute("MERGE INTO customers USING (SELECT range AS id FROM range(5000)) s '
     "ON customers.id = s.id WHEN MATCHED THEN UPDATE SET city = 'X'\")", "bulk-change"),
    ("con.execute(\"ALTER TABLE customers ALTER COLUMN email SET DATA TYPE VARCHAR USING NULL\")",
     "bulk-change"),
    ('con.execute("ALTER TABLE customers RENAME TO gone")', "destructive-ddl"),
    ('con.sql("DELETE FROM customers WHERE id IN (SELECT id FROM customers)")', "bulk-change"),
    ("con.execute(\"CREATE TEMP TABLE ids AS SELECT range AS id FROM range(5000); "
     "DELETE FROM customers WHERE id IN (SELECT id FROM ids)\")", "bulk-change"),
    ("%%guarded_sql con\nCREATE SEQUENCE sq; "
     "DELETE FROM customers WHERE id < nextval('sq') * 0 + 4000", "bulk-change"),
    ("for i in range(5):\n    con.execute(f'DELETE FROM customers WHERE id >= {i*300} "
     "AND id < {(i+1)*300}')", "bulk-change"),
    ("con.executemany('DELETE FROM customers WHERE id = ?', [[i] for i in range(1500)])",
     "bulk-change"),
]


@pytest.mark.parametrize("code,rule", ATTACKS, ids=range(len(ATTACKS)))
def test_forms_are_refused_by_effect(s, code, rule):
    cell = s.run(code)
    assert not cell.ok
    assert cell.rule == rule, cell.error
    assert s.count() == 5000
    assert "customers" in s.tables()
    assert s.sql("SELECT count(*) FROM customers WHERE email IS NULL OR ssn IS NULL "
                 "OR city = 'X'")[0][0] == 0


def test_refusal_states_the_measured_effect(s):
    cell = s.run('con.execute("MERGE INTO customers USING (SELECT range AS id FROM range(5000)) s '
                 'ON customers.id = s.id WHEN MATCHED THEN DELETE")')
    assert "would delete 5000 rows of customers" in str(cell.error)
    assert "nothing was changed" in str(cell.error)


OWNERSHIP = [
    "%%guarded_sql con\nCREATE TABLE IF NOT EXISTS customers (id INT)",
    "%%guarded_sql con\nCREATE TABLE customers AS SELECT * FROM no_such_table",
    "%%guarded_sql con\nCREATE TEMP TABLE customers AS SELECT 1 AS id; DROP TABLE temp.customers",
]


@pytest.mark.parametrize("first", OWNERSHIP, ids=["if-not-exists", "failed", "temp-twin"])
@pytest.mark.parametrize("via", ["magic", "python"])
def test_ownership_is_earned_only_by_effect(s, first, via):
    s.run(first)
    drop = "DROP TABLE customers"
    cell = s.run(f"%%guarded_sql con\n{drop}" if via == "magic" else f"con.execute({drop!r})")
    assert not cell.ok and cell.rule == "destructive-ddl"
    assert s.count() == 5000


def test_existing_schema_is_not_granted(s):
    s.sql("CREATE SCHEMA finance")
    s.sql("CREATE TABLE finance.ledger AS SELECT 1 AS a")
    assert s.run("%%guarded_sql con\nCREATE SCHEMA IF NOT EXISTS finance").ok
    cell = s.run('con.execute("DROP SCHEMA finance CASCADE")')
    assert not cell.ok and cell.rule == "destructive-ddl"
    assert s.sql("SELECT count(*) FROM finance.ledger")[0][0] == 1


@pytest.mark.parametrize("code", [
    "%%guarded_sql con\nCREATE TABLE IF NOT EXISTS scratch (a INT); DROP TABLE scratch",
    "%%guarded_sql con\nCREATE TABLE IF NOT EXISTS scratch (a INT)\n",
    'con.execute("CREATE TABLE IF NOT EXISTS scratch (a INT)")',
])
def test_really_new_table_may_be_dropped_and_renamed(s, code):
    assert s.run(code).ok
    if "scratch" in s.tables():
        assert s.run('con.execute("ALTER TABLE scratch RENAME TO scratch2")').ok
        assert s.run('con.execute("DROP TABLE scratch2")').ok
    assert "scratch" not in s.tables() and "scratch2" not in s.tables()


BENIGN = [
    ('con.execute("MERGE INTO customers USING (SELECT range AS id FROM range(5)) s '
     "ON customers.id = s.id WHEN MATCHED THEN UPDATE SET city = 'X'\").fetchall()", [(5,)]),
    ("con.execute(\"INSERT OR REPLACE INTO kv SELECT range, 'new' FROM range(5)\").fetchall()",
     [(5,)]),
    ("con.execute(\"INSERT INTO kv SELECT range, 'up' FROM range(5) ON CONFLICT DO UPDATE "
     "SET v = excluded.v\").fetchall()", [(5,)]),
    ('con.execute("EXPLAIN DELETE FROM customers").fetchall()[0][0]', "physical_plan"),
    ('con.execute("DELETE FROM customers WHERE id < 5").fetchall()', [(5,)]),
    ('con.execute("WITH d AS (DELETE FROM customers WHERE id < 5 RETURNING id) '
     'SELECT count(*) FROM d").fetchall()', [(5,)]),
]


@pytest.mark.parametrize("code,expected", BENIGN, ids=range(len(BENIGN)))
def test_benign_twins_run_with_correct_results(s, code, expected):
    s.sql("CREATE TABLE kv (k BIGINT PRIMARY KEY, v VARCHAR)")
    s.sql("INSERT INTO kv SELECT range, 'old' FROM range(100)")
    assert s.run(f"got = {code}").ok
    assert s.ip.user_ns["got"] == expected
    assert s.sql("SELECT count(*) FROM kv")[0][0] == 100


@pytest.mark.parametrize("sql,ok", [
    ("INSTALL httpfs", False), ("LOAD httpfs", False), ("CREATE SECRET s (TYPE s3)", False),
    ("IMPORT DATABASE 'somewhere'", False), ("COPY FROM DATABASE memory TO other", False),
    ("CREATE MACRO plus1(a) AS a + 1", True), ("CHECKPOINT", True), ("VACUUM", True),
])
def test_unmodelled_kinds_are_decided(s, sql, ok):
    cell = s.run(f"%%guarded_sql con\n{sql}")
    assert cell.ok is ok, cell.error
    if not ok:
        assert cell.rule in ("sql-outside", "exfiltration")


def test_copy_to_a_protected_file_is_refused(s):
    (s.dir / "data").mkdir(exist_ok=True)
    target = s.dir / "data" / "orders.parquet"
    target.write_bytes(b"keep")
    cell = s.run("%%guarded_sql con\nCOPY orders TO 'data/orders.parquet' (FORMAT parquet)")
    assert not cell.ok and cell.rule == "destructive-files"
    assert target.read_bytes() == b"keep"
    assert s.run("%%guarded_sql con\nCOPY (SELECT order_id FROM orders) TO 'out.csv'").ok
    assert (s.dir / "out.csv").read_text().count("\n") == 2001


RELATION_ATTACKS = [
    ("con.table('customers').update({'city': duckdb.ConstantExpression('X')})", "bulk-change"),
    ("con.table('customers').update({'city': duckdb.ConstantExpression('X')}, "
     "condition='id < 4000')", "bulk-change"),
    ("con.sql('SELECT * FROM customers').write_csv('data/c.csv')", "exfiltration"),
    ("con.sql('SELECT id FROM orders').write_parquet('data/keep.parquet')", "destructive-files"),
    ("con.sql('SELECT 1 AS a').create_view('orders_v2', replace=True)", None),
    ("con.table('orders').query('v', 'MERGE INTO customers USING (SELECT range AS id FROM "
     "range(5000)) s ON customers.id = s.id WHEN MATCHED THEN DELETE')", "bulk-change"),
    ("con.table('orders').query('v', 'DELETE FROM customers')", "bulk-change"),
]


@pytest.mark.parametrize("code,rule", RELATION_ATTACKS, ids=range(len(RELATION_ATTACKS)))
def test_relation_api_is_decided(s, code, rule):
    (s.dir / "data").mkdir(exist_ok=True)
    keep = s.dir / "data" / "keep.parquet"
    keep.write_bytes(b"keep")
    if rule is None:   # benign: a new view of the session's own
        assert s.run(code).ok
        return
    cell = s.run(code)
    assert not cell.ok and cell.rule == rule, cell.error
    assert s.count() == 5000
    assert s.sql("SELECT count(*) FROM customers WHERE city = 'X'")[0][0] == 0
    assert keep.read_bytes() == b"keep" and not (s.dir / "data" / "c.csv").exists()


def test_relation_api_benign_twins(s):
    assert s.run("con.table('customers').update({'city': duckdb.ConstantExpression('X')}, "
                 "condition='id < 5')").ok
    assert s.sql("SELECT count(*) FROM customers WHERE city = 'X'")[0][0] == 5
    assert s.run("con.sql('SELECT order_id FROM orders').create('order_ids')").ok
    assert s.run("con.table('order_ids').insert([99999])").ok
    assert s.sql("SELECT count(*) FROM order_ids")[0][0] == 2001
    assert s.run("con.execute('DROP TABLE order_ids')").ok   # created by the session: its own
    assert s.run("n = con.table('orders').query('v', 'SELECT count(*) FROM v').fetchall()").ok
    assert s.ip.user_ns["n"] == [(2000,)]
    assert s.run("m = con.table('orders').query('v', 'DELETE FROM customers WHERE id < 3')"
                 ".fetchall()").ok
    assert s.ip.user_ns["m"] == [(3,)] and s.count() == 4997
    assert s.run("con.sql('SELECT order_id FROM orders').write_csv('ids.csv')").ok
    assert (s.dir / "ids.csv").read_text().count("\n") == 2001


MERGE_ALL = ("MERGE INTO customers USING (SELECT range AS id FROM range(5000)) s "
             "ON customers.id = s.id WHEN MATCHED THEN DELETE")
MERGE_FIVE = MERGE_ALL.replace("range(5000)", "range(5)")


def test_sqlalchemy_duckdb_engine_is_checked_by_effect(s):
    from tests.conftest import make_warehouse

    make_warehouse(s.dir / "sa.duckdb")
    assert s.run("import sqlalchemy as sa\neng = sa.create_engine('duckdb:///sa.duckdb')").ok
    try:
        cell = s.run(f"with eng.begin() as c:\n    c.execute(sa.text({MERGE_ALL!r}))")
        assert not cell.ok and cell.rule == "bulk-change", cell.error
        assert "would delete 5000 rows of customers" in str(cell.error)
        ok = s.run(f"with eng.begin() as c:\n    n = c.execute(sa.text({MERGE_FIVE!r})).rowcount")
        assert ok.ok, ok.error
        assert s.run("with eng.connect() as c:\n"
                     "    left = c.execute(sa.text('SELECT count(*) FROM customers')).scalar()").ok
        assert s.ip.user_ns["left"] == 4995
    finally:
        s.run("eng.dispose()")


def test_jupysql_is_checked_by_effect(s):
    from tests.conftest import make_warehouse

    make_warehouse(s.dir / "jq.duckdb")
    assert s.run("%load_ext sql").ok
    assert s.run("%sql duckdb:///jq.duckdb").ok
    cell = s.run(f"%sql {MERGE_ALL}")
    assert not cell.ok and cell.rule == "bulk-change", cell.error
    assert s.run("left = %sql SELECT count(*) AS n FROM customers").ok
    assert list(s.ip.user_ns["left"].DataFrame()["n"]) == [5000]
    assert s.run(f"%sql {MERGE_FIVE}").ok
    assert s.run("left = %sql SELECT count(*) AS n FROM customers").ok
    assert list(s.ip.user_ns["left"].DataFrame()["n"]) == [4995]
    s.run("%sql --close duckdb:///jq.duckdb")


def test_files_written_by_the_database_go_through_the_file_rules(s):
    (s.dir / "data" / "export").mkdir(parents=True, exist_ok=True)
    (s.dir / "data" / "export" / "keep.csv").write_text("x\n")
    cell = s.run("%%guarded_sql con\nEXPORT DATABASE 'data/export'")
    assert not cell.ok and cell.rule in ("destructive-files", "exfiltration")
    assert (s.dir / "data" / "export" / "keep.csv").read_text() == "x\n"
    audit = s.ip.user_ns.get("_jg_audit_path") or __import__("os").environ["JUPYTER_GUARD_AUDIT"]
    cell = s.run(f"%%guarded_sql con\nATTACH '{audit}' AS a")
    assert not cell.ok and cell.rule == "self-protection"
    assert s.run("%%guarded_sql con\nATTACH 'scratch_other.duckdb' AS o; "
                 "CREATE TABLE o.t AS SELECT 1 AS a; DETACH o").ok


@pytest.mark.parametrize("code,says", [
    ("%%guarded_sql con\nEXPLAIN ANALYZE DELETE FROM customers",
     "deletes every row of customers (no WHERE clause, 5000 rows)"),
    ("%%guarded_sql con\nEXPLAIN ANALYZE UPDATE customers SET ssn = NULL",
     "updates every row of customers (no WHERE clause, 5000 rows)"),
    ('con.execute("DELETE FROM customers WHERE 1 = 1")',
     "(the WHERE clause is always true, 5000 rows)"),
])
def test_static_refusals_state_the_rows(s, code, says):
    cell = s.run(code)
    assert not cell.ok and says in str(cell.error)
    assert s.count() == 5000


def test_a_measured_result_reads_as_duckdb_gives_it(s):
    assert s.run("r = con.execute('DELETE FROM customers WHERE id < 3')\n"
                 "a = r.fetchone()\nb = r.fetchone()\nc = r.fetchall()").ok
    assert (s.ip.user_ns["a"], s.ip.user_ns["b"], s.ip.user_ns["c"]) == ((3,), None, [])
    assert s.run("d = con.execute('DELETE FROM customers WHERE id < 6').df()").ok
    assert list(s.ip.user_ns["d"]["Count"]) == [3]
    assert s.run("e = con.execute(\"UPDATE customers SET city = 'Z' WHERE id < 8\").description").ok
    assert s.ip.user_ns["e"][0][0] == "Count"
    assert s.run("f = con.execute('SELECT count(*) FROM customers').fetchall()").ok
    assert s.ip.user_ns["f"] == [(4994,)]


def test_ownership_from_a_rolled_back_cell_is_taken_back(s):
    cell = s.run("%%guarded_sql con\nCREATE TABLE scratch AS SELECT 1 AS a; SELECT * FROM nowhere")
    assert not cell.ok and "scratch" not in s.tables()
    s.sql("CREATE TABLE scratch AS SELECT 2 AS a")   # someone else's table of that name
    cell = s.run('con.execute("DROP TABLE scratch")')
    assert not cell.ok and cell.rule == "destructive-ddl"
    assert s.sql("SELECT a FROM scratch") == [(2,)]


def test_a_loop_of_guarded_sql_cells_adds_up_within_one_cell(s):
    code = ("for i in range(3):\n    get_ipython().run_cell_magic('guarded_sql', 'con', "
            "f'DELETE FROM customers WHERE id >= {i*400} AND id < {(i+1)*400}')")
    cell = s.run(code)
    assert not cell.ok and cell.rule == "bulk-change"
    assert "in this cell" in str(cell.error)
    assert s.count() == 5000 - 800


def test_a_broken_view_does_not_stop_measuring_and_odd_names_are_quoted(s):
    s.sql('CREATE TABLE "odd ""name" AS SELECT range AS "a""b" FROM range(3000)')
    s.sql("CREATE TABLE gone AS SELECT 1 AS x")
    s.sql("CREATE VIEW broken AS SELECT * FROM gone")
    s.sql("DROP TABLE gone")
    cell = s.run("con.execute('WITH d AS (DELETE FROM \"odd \"\"name\" RETURNING 1) "
                 "SELECT count(*) FROM d')")
    assert not cell.ok and cell.rule == "bulk-change"
    assert s.sql('SELECT count(*) FROM "odd ""name"')[0][0] == 3000
    assert s.run("x = con.execute('WITH d AS (DELETE FROM \"odd \"\"name\" WHERE \"a\"\"b\" < 3 "
                 "RETURNING 1) SELECT count(*) FROM d').fetchall()").ok
    assert s.ip.user_ns["x"] == [(3,)]
