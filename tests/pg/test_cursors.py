"""psycopg 3 and psycopg2 cursors against a real PostgreSQL: every attack of issue 16 ends the
cell in error with the data, tables, files and session settings unchanged; the everyday
statements that look like them run with correct results."""
from __future__ import annotations

import os
import uuid
from typing import Any

import pytest

from tests.pg.conftest import Db, run

CONNECT = {
    "psycopg": "import psycopg\ncon = psycopg.connect({dsn!r}, autocommit={ac})",
    "psycopg2": "import psycopg2\ncon = psycopg2.connect({dsn!r})\ncon.autocommit = {ac}",
}
DRIVERS = [pytest.param(d, ac, id=f"{d}-{'autocommit' if ac else 'transaction'}")
           for d in CONNECT for ac in (True, False)]


def connect(ip: Any, db: Db, driver: str, autocommit: bool, dsn: str = "") -> None:
    r = run(ip, CONNECT[driver].format(dsn=dsn or db.dsn, ac=autocommit) + "\ncur = con.cursor()")
    assert r.error is None, r.error


def finish(ip: Any, autocommit: bool) -> None:
    """What a user does after a refusal in a transaction: roll back, and the data is as before."""
    if not autocommit:
        assert run(ip, "con.rollback()").error is None
    run(ip, "con.close()")


ATTACKS = [
    pytest.param("cur.execute('DELETE FROM orders WHERE id <= 30000')", id="delete-30000"),
    pytest.param("cur.execute('DELETE FROM orders o USING customers c WHERE o.customer_id = c.id')",
                 id="delete-using-all"),
    pytest.param("cur.execute('UPDATE orders o SET amount = 0 FROM customers c "
                 "WHERE o.customer_id = c.id')", id="update-from-all"),
    pytest.param("cur.execute('WITH d AS (DELETE FROM orders RETURNING *) SELECT count(*) FROM d')",
                 id="writable-cte"),
    pytest.param("cur.execute(\"DO $$ BEGIN EXECUTE 'DROP TABLE orders'; END $$\")",
                 id="do-execute"),
    pytest.param("cur.execute(\"DO $$ BEGIN EXECUTE 'DELETE FROM ' || 'ord' || 'ers'; END $$\")",
                 id="do-dynamic-execute"),
    pytest.param("cur.execute('DO $$ BEGIN DELETE FROM orders WHERE id > 0; END $$')",
                 id="do-static-delete"),
    pytest.param("cur.execute('ALTER TABLE customers RENAME TO customers_old')", id="rename"),
    pytest.param("cur.execute('ALTER TABLE orders DISABLE TRIGGER ALL')", id="disable-trigger"),
    pytest.param("cur.execute('TRUNCATE orders CASCADE')", id="truncate-cascade"),
    pytest.param("cur.execute('TRUNCATE customers CASCADE')", id="truncate-cascade-parent"),
    pytest.param("cur.execute('DROP SCHEMA public CASCADE')", id="drop-schema-cascade"),
    pytest.param("t = 'ord' + 'ers'\ncur.execute('DROP TABLE ' + t)", id="runtime-drop"),
    pytest.param("t = ''.join(['ord', 'ers'])\ncur.execute(f'DELETE FROM {t} WHERE id > %s', (0,))",
                 id="runtime-delete-param"),
    pytest.param("cur.execute('DELETE FROM orders WHERE id > %(n)s', {'n': 0})",
                 id="named-param-delete-all"),
    pytest.param("cur.executemany('DELETE FROM orders WHERE id = %s', "
                 "[(i,) for i in range(1, 3001)])",
                 id="executemany-3000"),
    pytest.param("cur.execute('SELECT set_config(%s, %s, false)', "
                 "('session_replication_role', 'replica'))", id="set-config-replica"),
    pytest.param("cur.execute('SET session_replication_role = replica')", id="replication-role"),
    pytest.param("cur.execute('SET ROLE pg_read_all_data')", id="set-role"),
    pytest.param("cur.execute('CREATE TABLE orders_copy AS SELECT * FROM orders; "
                 "DROP TABLE orders')",
                 id="two-statements"),
    pytest.param("cur.execute('DELETE FROM orders WHERE id > 10; COMMIT')", id="commit-inside"),
]


@pytest.mark.parametrize("driver,autocommit", DRIVERS)
@pytest.mark.parametrize("attack", ATTACKS)
def test_attack_blocked_by_effect(ip: Any, db: Db, driver: str, autocommit: bool, attack: str
                                  ) -> None:
    connect(ip, db, driver, autocommit)
    r = run(ip, attack)
    assert r.error is not None, f"ran: {attack}"
    assert isinstance(r.error, PermissionError), repr(r.error)
    assert r.error.rule_id != "guard-error", r.error
    from jupyter_guard.connections import unwrap  # the test's own read, not a cell's

    c = unwrap(ip.user_ns["con"]).cursor()
    c.execute("SHOW session_replication_role")
    role = c.fetchone()[0]
    c.close()
    assert role == "origin"
    finish(ip, autocommit)
    db.intact()
    assert db.query("SELECT sum(amount) FROM orders")[0][0] == sum(g * 1.5 for g in range(1, 50001))


@pytest.mark.parametrize("driver", list(CONNECT))
def test_function_with_dynamic_sql_then_called(ip: Any, db: Db, driver: str) -> None:
    body = ("CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $f$ BEGIN "
            "EXECUTE 'DELETE FROM ' || 'orders'; RETURN 1; END $f$")
    connect(ip, db, driver, True)          # a superuser: run-time SQL could write server files
    r = run(ip, f"cur.execute({body!r})")
    assert isinstance(r.error, PermissionError) and r.error.rule_id == "exfiltration", r.error
    run(ip, "con.close()")
    connect(ip, db, driver, True, db.analyst)   # no server-file rights: created, then measured
    r = run(ip, f"cur.execute({body!r})")
    assert r.error is None, r.error
    r = run(ip, "cur.execute('SELECT f()')")
    assert isinstance(r.error, PermissionError), repr(r.error)
    assert r.error.rule_id != "guard-error", r.error
    assert "orders" in str(r.error)
    finish(ip, True)
    db.intact()


@pytest.mark.parametrize("driver", list(CONNECT))
def test_server_side_copy_writes_no_file(ip: Any, db: Db, driver: str) -> None:
    connect(ip, db, driver, True)
    path = f"/tmp/jg-copy-{uuid.uuid4().hex}.csv"
    for stmt in (f"COPY orders TO '{path}'", f"COPY customers TO '{path}'",
                 f"COPY (SELECT id FROM orders) TO PROGRAM 'cat > {path}'",
                 f"COPY orders FROM PROGRAM 'touch {path}'",
                 f"DO $$ BEGIN COPY orders TO '{path}'; END $$",
                 f"DO $$ BEGIN EXECUTE 'COPY orders TO ''{path}'''; END $$",
                 f"SELECT lo_export(0, '{path}')"):
        r = run(ip, f"cur.execute({stmt!r})")
        assert isinstance(r.error, PermissionError), (stmt, r.error)
        assert not os.path.exists(path), stmt
    finish(ip, True)
    db.intact()


def test_copy_to_stdout_is_an_export(ip: Any, db: Db) -> None:
    connect(ip, db, "psycopg", True)
    r = run(ip, "with cur.copy('COPY (SELECT email FROM customers) TO STDOUT') as cp:\n"
                "    leaked = b''.join(bytes(b) for b in cp)")
    assert isinstance(r.error, PermissionError), r.error
    assert "leaked" not in ip.user_ns
    r = run(ip, "with cur.copy('COPY customers TO STDOUT') as cp:\n"
                "    leaked = b''.join(bytes(b) for b in cp)")
    assert isinstance(r.error, PermissionError), r.error
    r = run(ip, "with cur.copy('COPY customers (id, email) TO STDOUT') as cp:\n"
                "    leaked = b''.join(bytes(b) for b in cp)")
    assert isinstance(r.error, PermissionError), r.error
    assert "leaked" not in ip.user_ns
    r = run(ip, "with cur.copy('COPY orders (id, amount) TO STDOUT') as cp:\n"
                "    fine = b''.join(bytes(b) for b in cp)")
    assert r.error is None, r.error
    assert ip.user_ns["fine"].count(b"\n") == 50_000
    finish(ip, True)


def test_copy_expert_psycopg2(ip: Any, db: Db) -> None:
    connect(ip, db, "psycopg2", True)
    r = run(ip, "import io\nbuf = io.StringIO()\n"
                "cur.copy_expert('COPY (SELECT ssn FROM customers) TO STDOUT', buf)")
    assert isinstance(r.error, PermissionError), r.error
    assert ip.user_ns["buf"].getvalue() == ""
    r = run(ip, "buf = io.StringIO()\ncur.copy_to(buf, 'customers')")
    assert isinstance(r.error, PermissionError), r.error
    r = run(ip, "buf = io.StringIO()\ncur.copy_to(buf, 'orders', columns=('id',))")
    assert r.error is None and ip.user_ns["buf"].getvalue().count("\n") == 50_000
    finish(ip, True)


@pytest.mark.parametrize("driver,autocommit", DRIVERS)
def test_everyday_statements_run(ip: Any, db: Db, driver: str, autocommit: bool) -> None:
    connect(ip, db, driver, autocommit)
    cells = [
        "cur.execute('DELETE FROM orders WHERE id = %s', (5,))",
        "cur.execute('DELETE FROM orders WHERE id = %(id)s', {'id': 6})",
        "cur.execute('UPDATE customers SET city = %s WHERE id = %s', ('Oslo', 1))",
        "cur.execute('CREATE TEMP TABLE scratch AS SELECT id, amount FROM orders WHERE id <= 10')",
        "cur.execute('INSERT INTO scratch SELECT id, amount FROM orders')",
        "cur.execute('DROP TABLE scratch')",
        "cur.execute(\"DO $$ BEGIN RAISE NOTICE 'hi'; END $$\")",
        "cur.execute(\"DO $$ BEGIN EXECUTE 'DELETE FROM orders WHERE id = 4'; END $$\")",
        "cur.execute('INSERT INTO customers (id, name, city) VALUES (1, %s, %s), (2, %s, %s) "
        "ON CONFLICT (id) DO UPDATE SET city = excluded.city', ('a', 'Rome', 'b', 'Rome'))",
        "cur.execute(\"SELECT relname FROM pg_class WHERE relkind = 'r' AND relname = 'orders'\")\n"
        "catalog = cur.fetchall()",
        "cur.execute('SELECT count(*) FROM orders')\nn = cur.fetchone()[0]",
        f"from {driver} import sql as S",
        "cur.execute(S.SQL('DELETE FROM {} WHERE id = {}').format(S.Identifier('orders'), "
        "S.Literal(7)))",
        "cur.executemany('DELETE FROM orders WHERE id = %s', [(8,), (9,)])",
    ]
    for cell in cells:
        r = run(ip, cell)
        assert r.error is None, (cell, r.error)
    assert ip.user_ns["catalog"] == [("orders",)]
    assert ip.user_ns["n"] == 49_997
    if not autocommit:
        assert run(ip, "con.commit()").error is None
    run(ip, "con.close()")
    assert db.count("orders") == 50_000 - 6
    assert db.query("SELECT city FROM customers WHERE id IN (1, 2) ORDER BY id") == [
        ("Rome",), ("Rome",)]
    assert db.query("SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' "
                    f"AND datname = '{db.name}'")[0][0] == 0


def test_connection_opened_before_the_guard_is_wrapped(db: Db) -> None:
    """A connection in the namespace at %load_ext is swapped for a guarded one."""
    import psycopg

    from jupyter_guard.connections import unwrap
    from jupyter_guard.connections.dbapi_proxy import wrap_existing
    from jupyter_guard.guard.service import Guard

    raw = unwrap(psycopg.connect(db.dsn, autocommit=True))
    guarded = wrap_existing(raw, Guard.create(env={}))
    assert isinstance(guarded, psycopg.Connection) and guarded is not raw
    with pytest.raises(PermissionError):
        guarded.execute("DELETE FROM orders WHERE id > 0")
    raw.close()
    db.intact()


def test_sql_built_at_run_time_inside_plpgsql(ip: Any, db: Db) -> None:
    """Measured for a role that cannot touch server files; refused for one that can."""
    dynamic = "DO $$ BEGIN EXECUTE 'DELETE FROM ' || 'orders'{}; END $$"
    r = run(ip, f"import psycopg\nan = psycopg.connect({db.analyst!r}, autocommit=True)")
    assert r.error is None
    r = run(ip, f"an.execute({dynamic.format('')!r})")
    assert isinstance(r.error, PermissionError) and r.error.rule_id == "bulk-change", r.error
    assert "50000" in str(r.error)          # the measured number of rows
    db.intact()
    r = run(ip, f"an.execute({dynamic.format(' || chr(32) || ' + repr('WHERE id = 1'))!r})")
    assert r.error is None, r.error
    assert db.count("orders") == 49_999
    connect(ip, db, "psycopg", True)        # as the superuser: may write server files
    r = run(ip, f"cur.execute({dynamic.format(' || chr(32) || ' + repr('WHERE id = 2'))!r})")
    assert isinstance(r.error, PermissionError) and r.error.rule_id == "exfiltration", r.error
    assert db.count("orders") == 49_999
    run(ip, "an.close()\ncon.close()")


@pytest.mark.parametrize("stmt,words", [
    ("ALTER TABLE customers RENAME TO customers_old", "renames table customers"),
    ("ALTER TABLE customers RENAME COLUMN email TO contact", "customers"),
    ("DO $$ BEGIN EXECUTE 'ALTER TABLE orders RENAME TO o2'; END $$", "renames table orders"),
])
def test_renames_are_refused_and_named(ip: Any, db: Db, stmt: str, words: str) -> None:
    connect(ip, db, "psycopg", True)
    r = run(ip, f"cur.execute({stmt!r})")
    assert isinstance(r.error, PermissionError) and words in str(r.error), r.error
    run(ip, "con.close()")
    db.intact()
    assert "email" in {c for (c,) in db.query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'customers'")}



@pytest.mark.parametrize("undo", [
    "import psycopg.connection\npsycopg.connect = lambda *a, **k: psycopg.connection.Connection("
    "psycopg.pq.PGconn.connect(a[0].encode()))",
    "psycopg.Connection.connect = classmethod(lambda cls, *a, **k: None)",
    "psycopg2.connect = psycopg2._connect",
])
def test_unpatching_connect_is_undone(ip: Any, db: Db, undo: str) -> None:
    """Putting a driver's own connect() back does not give an unguarded connection."""
    run(ip, "import psycopg, psycopg2")
    r = run(ip, undo)
    assert r.error is None or r.error.rule_id == "self-protection", r.error
    for connect in (f"con = psycopg.connect({db.dsn!r}, autocommit=True)",
                    f"con = psycopg2.connect({db.dsn!r})\ncon.autocommit = True"):
        r = run(ip, connect)
        assert r.error is None, r.error
        r = run(ip, "con.cursor().execute('DELETE FROM orders WHERE id > 0')")
        assert isinstance(r.error, PermissionError), (undo, r.error)
        run(ip, "con.close()")
    db.intact()


def test_rows_are_counted_across_tables(ip: Any, db: Db) -> None:
    """600 rows of each of two tables in one statement: 1,200 rows, over the default 1,000."""
    connect(ip, db, "psycopg", True)
    r = run(ip, "cur.execute('WITH a AS (UPDATE orders SET amount = 0 WHERE id <= 600 "
                "RETURNING 1), "
                "b AS (UPDATE customers SET city = 0 WHERE id <= 600 RETURNING 1) "
                "SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b)')")
    assert isinstance(r.error, PermissionError) and "1200" in str(r.error), r.error
    run(ip, "con.close()")
    db.intact()
    assert db.query("SELECT count(*) FROM orders WHERE amount = 0")[0][0] == 0



def test_unreadable_query_fails_closed_and_bytes_are_read(ip: Any, db: Db) -> None:
    connect(ip, db, "psycopg", True)
    r = run(ip, "cur.execute(12345)")
    assert isinstance(r.error, PermissionError) and "pass the SQL as a string" in str(r.error)
    r = run(ip, "cur.execute(b'DELETE FROM orders WHERE id > 0')")
    assert isinstance(r.error, PermissionError) and r.error.rule_id == "bulk-change", r.error
    r = run(ip, "cur.execute(b'SELECT count(*) FROM orders')\nn = cur.fetchone()[0]")
    assert r.error is None and ip.user_ns["n"] == 50_000
    run(ip, "con.close()")
    db.intact()


@pytest.mark.parametrize("driver", list(CONNECT))
def test_a_read_analysed_once_never_lets_another_statement_through(ip: Any, db: Db,
                                                                    driver: str) -> None:
    """A parameterised read is analysed once for all its values (the same statement with other
    literals); what a value could turn into another statement, or a function call that writes,
    is judged on its own and refused with the data intact."""
    db.query("CREATE FUNCTION del_orders(n int) RETURNS int LANGUAGE sql AS "
             "'DELETE FROM orders WHERE id <= n RETURNING 1'")
    db.query("GRANT EXECUTE ON FUNCTION del_orders(int) TO PUBLIC")
    connect(ip, db, driver, True)
    q = "SELECT name FROM customers WHERE id = %s"
    r = run(ip, f"names = []\nfor i in range(1, 21):\n    cur.execute({q!r}, (i,))\n"
                "    names.append(cur.fetchone()[0])")
    assert r.error is None, r.error
    expected = [n for (n,) in db.query("SELECT name FROM customers WHERE id <= 20 ORDER BY id")]
    assert ip.user_ns["names"] == expected
    attacks = ["cur.execute('SELECT del_orders(%s)', (30000,))",
               f"cur.execute({q.replace('%s', '%s OR del_orders(30000) > 0')!r}, (1,))"]
    if driver == "psycopg2":   # an adapter that pastes SQL into the text the server gets
        attacks.append(f"from psycopg2.extensions import AsIs\n"
                       f"cur.execute({q!r}, (AsIs('1; DELETE FROM orders WHERE id > 0'),))")
    for attack in attacks:
        r = run(ip, attack)
        assert isinstance(r.error, PermissionError), (attack, r.error)
        assert r.error.rule_id != "guard-error", r.error
    run(ip, "con.close()")
    db.intact()
