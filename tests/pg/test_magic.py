"""%%guarded_sql, SQLAlchemy and pandas on a real PostgreSQL: attacks end in error with the data
unchanged, the cell runs the user's text unchanged, and no transaction outlives its cell."""
from __future__ import annotations

from typing import Any

import pytest

from tests.pg.conftest import Db, run

ROUTES = ["url-psycopg", "url-psycopg2", "engine"]


def target(ip: Any, db: Db, route: str, user: str = "postgres") -> str:
    if route == "engine":
        url = db.url.replace("postgres@", f"{user}@")
        r = run(ip, f"import sqlalchemy\nengine = sqlalchemy.create_engine({url!r})")
        assert r.error is None, r.error
        return "engine"
    return db.server.url(db.name, driver=route.split("-")[1]).replace("postgres@", f"{user}@")


def idle_in_transaction(db: Db) -> int:
    return int(db.query("SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in trans%' "
                        f"AND datname = '{db.name}'")[0][0])


SQL_ATTACKS = [
    pytest.param("DELETE FROM orders WHERE id <= 30000", id="delete-30000"),
    pytest.param("DELETE FROM orders o USING customers c WHERE o.customer_id = c.id", id="using"),
    pytest.param("UPDATE orders o SET amount = 0 FROM customers c WHERE o.customer_id = c.id",
                 id="update-from"),
    pytest.param("WITH d AS (DELETE FROM orders RETURNING *) SELECT count(*) FROM d", id="cte"),
    pytest.param("DO $$ BEGIN EXECUTE 'DROP TABLE orders'; END $$", id="do-execute"),
    pytest.param("DO $$ BEGIN EXECUTE 'DELETE FROM ' || quote_ident('orders'); END $$",
                 id="do-dynamic"),
    pytest.param("ALTER TABLE customers RENAME TO customers_old", id="rename"),
    pytest.param("SET session_replication_role = replica", id="replication-role"),
    pytest.param("ALTER TABLE orders DISABLE TRIGGER ALL", id="disable-trigger"),
    pytest.param("TRUNCATE orders CASCADE", id="truncate-cascade"),
    pytest.param("COPY customers TO '/tmp/jg-magic-copy.csv'", id="copy-to-file"),
    pytest.param("COPY orders TO PROGRAM 'cat > /tmp/jg-magic-prog.csv'", id="copy-program"),
    pytest.param("SELECT 1;\nDELETE FROM orders WHERE id > 100", id="after-a-select"),
]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("sql", SQL_ATTACKS)
def test_magic_attack_blocked(ip: Any, db: Db, route: str, sql: str) -> None:
    import os

    where = target(ip, db, route)
    r = run(ip, f"%%guarded_sql {where}\n{sql}")
    assert isinstance(r.error, PermissionError), repr(r.error)
    assert r.error.rule_id != "guard-error", r.error
    assert not os.path.exists("/tmp/jg-magic-copy.csv")
    assert not os.path.exists("/tmp/jg-magic-prog.csv")
    db.intact()
    assert idle_in_transaction(db) == 0


@pytest.mark.parametrize("route", ROUTES)
def test_function_created_then_called(ip: Any, db: Db, route: str) -> None:
    create = ("CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $f$ "
              "BEGIN EXECUTE format('DELETE FROM %I', 'orders'); RETURN 1; END $f$")
    r = run(ip, f"%%guarded_sql {target(ip, db, route)}\n{create}")
    assert isinstance(r.error, PermissionError) and r.error.rule_id == "exfiltration", r.error
    where = target(ip, db, route, "analyst")
    r = run(ip, f"%%guarded_sql {where}\n{create}")
    assert r.error is None, r.error
    r = run(ip, f"%%guarded_sql {where}\nSELECT f()")
    assert isinstance(r.error, PermissionError), repr(r.error)
    assert r.error.rule_id != "guard-error", r.error
    db.intact()
    assert idle_in_transaction(db) == 0


@pytest.mark.parametrize("route", ROUTES)
def test_refused_change_is_not_committed_by_a_later_cell(ip: Any, db: Db, route: str) -> None:
    where = target(ip, db, route)
    r = run(ip, f"%%guarded_sql {where}\nWITH d AS (DELETE FROM orders RETURNING id) "
                "SELECT count(*) FROM d")
    assert isinstance(r.error, PermissionError)
    r = run(ip, f"%%guarded_sql {where}\nUPDATE orders SET amount = 1 WHERE id = 1")
    assert r.error is None, r.error
    assert db.count("orders") == 50_000
    assert db.query("SELECT amount FROM orders WHERE id = 1")[0][0] == 1
    assert idle_in_transaction(db) == 0


@pytest.mark.parametrize("route", ROUTES)
def test_everyday_cells_run_unchanged_and_close_their_transaction(ip: Any, db: Db, route: str
                                                                  ) -> None:
    where = target(ip, db, route)
    text = "SELECT   current_query()   AS q  -- exactly as typed\n"
    r = run(ip, f"%%guarded_sql {where} -o seen\n{text}")
    assert r.error is None, r.error
    assert ip.user_ns["seen"]["q"][0] == text.strip()
    cells = [
        "SELECT id, city FROM customers WHERE id <= 3 ORDER BY id",
        "DELETE FROM orders WHERE id IN (1, 2, 3, 4, 5)",
        "UPDATE customers SET city = 'Oslo' WHERE id = 1",
        "INSERT INTO customers (id, name, city) VALUES (2, 'b', 'Rome'), (3, 'c', 'Rome')\n"
        "ON CONFLICT (id) DO UPDATE SET city = excluded.city",
        "DO $$ BEGIN RAISE NOTICE 'hi'; END $$",
        "CREATE TEMP TABLE scratch AS SELECT id, amount FROM orders WHERE id <= 100;\n"
        "SELECT count(*) AS n FROM scratch",
        "SELECT relname FROM pg_class WHERE relname = 'orders'",
        "SELECT table_name FROM information_schema.tables WHERE table_name = 'customers'",
    ]
    for cell in cells:
        r = run(ip, f"%%guarded_sql {where} -o last\n{cell}")
        assert r.error is None, (cell, r.error)
        assert idle_in_transaction(db) == 0, cell
    assert list(ip.user_ns["last"]["table_name"]) == ["customers"]
    assert db.count("orders") == 50_000 - 5
    assert db.query("SELECT city FROM customers WHERE id <= 3 ORDER BY id") == [
        ("Oslo",), ("Rome",), ("Rome",)]


def test_sqlalchemy_and_pandas_routes(ip: Any, db: Db) -> None:
    r = run(ip, f"import sqlalchemy, pandas as pd, warnings, psycopg\n"
                f"engine = sqlalchemy.create_engine({db.url!r})\n"
                f"raw = psycopg.connect({db.dsn!r})")
    assert r.error is None
    attacks = [
        "with engine.begin() as c:\n"
        "    c.execute(sqlalchemy.text('DELETE FROM orders WHERE id > 10'))",
        "with engine.begin() as c:\n"
        "    c.execute(sqlalchemy.text(\"DO $$ BEGIN EXECUTE 'DROP TABLE ' "
        "|| 'orders'; END $$\"))",
        "with engine.begin() as c:\n"
        "    c.exec_driver_sql('WITH d AS (DELETE FROM orders RETURNING 1) "
        "SELECT count(*) FROM d')",
        "pd.read_sql('WITH d AS (DELETE FROM orders RETURNING id) SELECT * FROM d', engine)",
        "pd.DataFrame({'id': [1]}).to_sql('orders', engine, if_exists='replace', index=False)",
        "with warnings.catch_warnings():\n    warnings.simplefilter('ignore')\n"
        "    pd.read_sql('WITH d AS (DELETE FROM orders RETURNING id) SELECT * FROM d', raw)",
        "with warnings.catch_warnings():\n    warnings.simplefilter('ignore')\n"
        "    pd.read_sql('SELECT email FROM customers', raw).to_csv('/tmp/jg-leak.csv')",
    ]
    for cell in attacks:
        r = run(ip, cell)
        assert isinstance(r.error, PermissionError), (cell, r.error)
        assert r.error.rule_id != "guard-error", (cell, r.error)
        run(ip, "raw.rollback()" if "raw" in ip.user_ns else "pass")
        db.intact()
    benign = [
        "pd.DataFrame({'id': [1, 2], 'v': [3, 4]}).to_sql('mine', engine, index=False)",
        "df = pd.read_sql('SELECT * FROM mine ORDER BY id', engine)",
        "with warnings.catch_warnings():\n    warnings.simplefilter('ignore')\n"
        "    small = pd.read_sql('SELECT id, city FROM customers WHERE id <= %s', raw, "
        "params=(3,))",
        "with engine.begin() as c:\n"
        "    c.execute(sqlalchemy.text('DELETE FROM orders WHERE id = :i'), "
        "{'i': 10})",
    ]
    for cell in benign:
        r = run(ip, cell)
        assert r.error is None, (cell, r.error)
    assert list(ip.user_ns["df"]["v"]) == [3, 4]
    assert len(ip.user_ns["small"]) == 3
    run(ip, "raw.close()\nengine.dispose()")
    assert db.count("orders") == 49_999
