"""Issue 16's red team, second round: PostgreSQL attacks written by their effect, through every
route (``%%guarded_sql`` by URL and by engine, SQLAlchemy, pandas, jupysql, psycopg 3 and
psycopg2 cursors, SQL built at run time, asyncpg, pyodbc), in a real guarded kernel on a fresh
database each. Each attack must leave the database as it was (rows, tables, triggers, functions,
rules, roles and passwords, privileges, partitions, large objects, sequences: ``FINGERPRINT``),
write no file on the server, and end in the guard's refusal."""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg.conftest import Db
from tests.pg.pgserver import PgServer
from tests.pg.redpg16b_corpus import (
    FDW,
    MAGICS,
    ROUTES,
    Attack,
    Fresh,
    attempt,
    kernel_for,
    prepare,
)

pytestmark = pytest.mark.kernel

NO_ASYNC = tuple(r for r in ROUTES if r != "asyncpg")
ATTACKS = [
    # rows deleted or changed past max_affected_rows
    Attack("prepare-delete", ("PREPARE d AS DELETE FROM orders", "EXECUTE d")),
    Attack("prepare-param", ("PREPARE d(int) AS DELETE FROM orders WHERE id > $1",
                             "EXECUTE d(0)")),
    Attack("merge-delete", ("MERGE INTO orders o USING customers c ON o.customer_id = c.id "
                            "WHEN MATCHED THEN DELETE",)),
    Attack("upsert-all", ("INSERT INTO orders SELECT id, customer_id, 0 FROM orders "
                          "ON CONFLICT (id) DO UPDATE SET amount = EXCLUDED.amount",)),
    Attack("rule-own-table", ("CREATE TABLE inbox (x int)",
                              "CREATE RULE r AS ON INSERT TO inbox DO INSTEAD DELETE FROM orders",
                              "INSERT INTO inbox VALUES (1)")),
    Attack("view-instead-of", (
        "CREATE VIEW cv AS SELECT id, email FROM customers",
        "CREATE FUNCTION cv_upd() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "UPDATE customers SET email = NULL; RETURN NEW; END $$",
        "CREATE TRIGGER cv_t INSTEAD OF UPDATE ON cv FOR EACH ROW EXECUTE FUNCTION cv_upd()",
        "UPDATE cv SET email = NULL WHERE id = 1")),
    Attack("view-delete", ("DELETE FROM orders_v WHERE id > 0",)),
    Attack("delete-returning", ("DELETE FROM orders WHERE id > 0 RETURNING id",)),   # rows:
    # pd.read_sql commits it
    Attack("alter-type-using", ("ALTER TABLE orders ALTER COLUMN amount TYPE numeric USING NULL",)),
    Attack("alter-type-text", ("ALTER TABLE customers ALTER COLUMN email TYPE text USING ''",)),
    Attack("existing-function", ("SELECT purge()",)),
    Attack("sql-function", ("CREATE FUNCTION t() RETURNS void LANGUAGE sql AS 'TRUNCATE orders'",
                            "SELECT t()")),
    Attack("lo-unlink-all", ("SELECT lo_unlink(oid) FROM pg_largeobject_metadata",)),
    Attack("partitions-delete", ("DELETE FROM parted WHERE v >= 0",)),
    Attack("commit-chain", ("SELECT purge(); COMMIT",), routes=NO_ASYNC),
    Attack("prepare-transaction-chain", ("SELECT purge(); PREPARE TRANSACTION 'x'",),
           routes=NO_ASYNC),
    Attack("reindex-chain", ("REINDEX TABLE orders; SELECT purge()",), routes=NO_ASYNC),
    Attack("cluster-chain", ("CLUSTER orders USING orders_pkey; DO $$ BEGIN DELETE FROM orders; "
                             "END $$",), routes=NO_ASYNC),
    Attack("vacuum-chain", ("VACUUM orders;\nSELECT purge()",), routes=MAGICS),
    # tables dropped, moved or detached
    Attack("detach-partition", ("ALTER TABLE parted DETACH PARTITION parted_1",)),
    Attack("set-schema", ("CREATE SCHEMA junk", "ALTER TABLE orders SET SCHEMA junk")),
    Attack("drop-owned", ("DROP OWNED BY analyst",)),
    Attack("reassign-owned", ("REASSIGN OWNED BY analyst TO postgres",)),
    # what acts on rows later, outside the guard
    Attack("rule-others-table", ("CREATE RULE r AS ON INSERT TO trig_log DO ALSO DELETE FROM "
                                 "orders",)),
    Attack("replace-trigger-fn", ("CREATE OR REPLACE FUNCTION log_fn() RETURNS trigger LANGUAGE "
                                  "plpgsql AS $$ BEGIN DELETE FROM orders; RETURN NEW; END $$",)),
    Attack("replace-fn-then-fire", (
        "CREATE OR REPLACE FUNCTION log_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "DELETE FROM orders; RETURN NEW; END $$", "INSERT INTO trig_log VALUES (1)")),
    Attack("alter-fn-owner", ("ALTER FUNCTION log_fn() OWNER TO analyst",)),
    Attack("alter-fn-config", ("ALTER FUNCTION purge() SET search_path = pg_temp, public",)),
    Attack("alter-fn-definer", ("ALTER FUNCTION purge() SECURITY DEFINER",)),
    Attack("drop-fn-cascade", ("DROP FUNCTION log_fn() CASCADE",)),
    Attack("replace-existing-fn", ("CREATE OR REPLACE FUNCTION purge() RETURNS int LANGUAGE sql "
                                   "AS 'SELECT 2'",)),
    Attack("replace-view", ("CREATE OR REPLACE VIEW orders_v AS SELECT * FROM orders WHERE false",)),
    Attack("drop-fk", ("ALTER TABLE orders DROP CONSTRAINT orders_customer_id_fkey",)),
    Attack("pg-settings-replica", (
        "UPDATE pg_settings SET setting = 'replica' WHERE name = 'session_replication_role'",
        "INSERT INTO orders VALUES (60001, 999999, 1)")),
    Attack("seq-restart", ("ALTER SEQUENCE order_seq RESTART",)),
    Attack("seq-setval", ("SELECT setval('order_seq', 1)",)),
    # roles and privileges
    Attack("role-password", ("ALTER ROLE analyst PASSWORD 'pwned'",)),
    Attack("user-password", ("ALTER USER analyst WITH ENCRYPTED PASSWORD 'pwned'",)),
    Attack("role-valid-until", ("ALTER ROLE analyst VALID UNTIL '2000-01-01'",)),
    Attack("role-connection-limit", ("ALTER ROLE analyst CONNECTION LIMIT 0",)),
    Attack("role-password-do", ("DO $$ BEGIN EXECUTE 'ALTER ROLE analyst PASSWORD ' || "
                                "quote_literal('x'); END $$",)),
    Attack("default-privileges-schema", ("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON "
                                         "TABLES TO analyst",)),
    Attack("default-privileges", ("ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC",)),
    Attack("grant-public", ("GRANT SELECT ON customers TO PUBLIC",)),
    Attack("schema-owner", ("ALTER SCHEMA public OWNER TO analyst",)),
    Attack("schema-grant", ("GRANT CREATE ON SCHEMA public TO PUBLIC",)),
    # other servers and server files
    Attack("fdw-do-delete", ("DO $$ BEGIN DELETE FROM remote.orders WHERE id > 0; END $$",),
           setup=FDW),
    Attack("fdw-function", ("CREATE FUNCTION rp() RETURNS int LANGUAGE sql AS "
                            "'DELETE FROM remote.orders WHERE id > 0 RETURNING 1'",
                            "SELECT rp()"), setup=FDW),
    Attack("fdw-direct", ("DELETE FROM remote.orders WHERE id > 0",), setup=FDW),
    Attack("fdw-import-do", ("IMPORT FOREIGN SCHEMA public LIMIT TO (customers) FROM SERVER loop "
                             "INTO remote", "DO $$ BEGIN UPDATE remote.customers SET ssn = NULL; "
                             "END $$"), setup=FDW),
    Attack("copy-from-program", ("COPY trig_log FROM PROGRAM 'touch /tmp/jg-rp16b-prog; echo 1'",)),
    Attack("cursor-delete", ("DECLARE c CURSOR FOR DELETE FROM orders RETURNING id",)),
    Attack("terminate-backends", ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE pid <> pg_backend_pid()",), must_refuse=True),
    # sensitive values exported or inferred
    Attack("setting-stash", ("SELECT set_config('my.x', (SELECT string_agg(ssn, ',') FROM customers "
                             "WHERE id < 4), false)", "SELECT current_setting('my.x')"),
           leak=True, routes=NO_ASYNC),
    Attack("setting-stash-fn", ("SELECT length(stash())", "SELECT current_setting('my.y')"),
           leak=True, routes=NO_ASYNC,
           setup="CREATE FUNCTION stash() RETURNS text LANGUAGE sql AS $$ SELECT set_config("
                 "'my.y', (SELECT string_agg(ssn, ',') FROM customers WHERE id < 4), false) $$"),
    Attack("setting-stash-do", ("DO $$ BEGIN PERFORM set_config('my.z', (SELECT ssn FROM customers "
                                "WHERE id = 3), false); END $$", "SELECT current_setting('my.z')"),
           leak=True, routes=NO_ASYNC),
    Attack("leak-table", ("CREATE TABLE leak AS SELECT ssn AS v FROM customers",
                          "SELECT v FROM leak LIMIT 3"), leak=True),
    Attack("leak-agg", ("SELECT string_agg(ssn, ',') FROM customers WHERE id < 4",), leak=True),
    Attack("leak-row-text", ("SELECT c::text FROM customers c WHERE id < 4",), leak=True),
    Attack("leak-jsonb", ("SELECT to_jsonb(c) FROM customers c WHERE id < 4",), leak=True),
    Attack("leak-hex", ("SELECT convert_from(decode(encode(convert_to(ssn, 'UTF8'), 'hex'), 'hex'),"
                        " 'UTF8') FROM customers WHERE id < 4",), leak=True),
]

INFERENCE = [
    "SELECT count(*) FROM customers WHERE ssn = '100000005'",
    "SELECT count(*) FROM customers WHERE ssn ~ '^10000000'",
    "SELECT count(*) FROM customers c WHERE c::text LIKE '%100000005%'",
    "SELECT count(*) FROM customers c WHERE to_jsonb(c) @> '{\"ssn\": \"100000005\"}'",
    "SELECT count(*) FROM customers WHERE ssn SIMILAR TO '1000000%'",
    "SELECT count(*) FROM customers WHERE position('5' in ssn) = 9",
    "SELECT count(*) FROM customers WHERE ssn::bigint BETWEEN 100000000 AND 100000010",
    "SELECT count(*) FROM customers WHERE row(id, ssn) = row(5, '100000005')",
    "SELECT count(*) FROM customers WHERE ssn = ANY(ARRAY['100000005'])",
    "SELECT count(*) FROM customers WHERE starts_with(ssn, '1000')",
    "SELECT count(*) FROM customers WHERE ssn ILIKE '1%'",
    "SELECT (SELECT count(*) FROM customers WHERE ssn > '100005000')",
    "SELECT count(*) FILTER (WHERE ssn < '100000500') FROM customers",
    "SELECT sum(CASE WHEN left(ssn, 4) = '1000' THEN 1 ELSE 0 END) FROM customers",
]
ATTACKS += [Attack(f"infer-{n}", (sql,), must_refuse=True) for n, sql in enumerate(INFERENCE)]

OUT = os.environ.get("JG_REDPG16B_OUT")   # the probe's table for the report, when asked
ONLY = os.environ.get("JG_REDPG16B_ONLY")  # a comma-separated list of attack ids


@pytest.fixture(scope="module")
def fresh(pg: PgServer) -> Iterator[Fresh]:
    f = Fresh(pg)
    yield f
    f.close()


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_attacks_leave_the_database_as_it_was(work_root: Path, fresh: Fresh, route: str) -> None:
    failures, table = [], {}
    with kernel_for(work_root, f"rp16b-{route}") as kernel:
        for attack in ATTACKS:
            if route not in attack.routes or (ONLY and attack.id not in ONLY.split(",")):
                continue
            db = fresh.take()   # as ``prepare`` leaves a fresh copy of shop
            try:
                out = attempt(kernel, ROUTES[route], db, attack)
            finally:
                fresh.drop(db)
            # damage nothing here measures (inference, other sessions ended): refused or not
            ok = out.refused if attack.must_refuse else not out.damage
            table[attack.id] = {"refused": out.refused, "damage": out.damage}
            if not ok or out.damage:
                failures.append(f"{attack.id}: refused={out.refused} damage={out.damage}\n"
                                f"    {out.text[-300:]!r}")
    if OUT:
        Path(OUT).mkdir(parents=True, exist_ok=True)
        (Path(OUT) / f"{route}.json").write_text(json.dumps(table, indent=1))
    assert not failures, "\n".join(failures)


def test_to_sql_replace_is_refused_and_append_runs(work_root: Path, db: Db) -> None:
    """``DataFrame.to_sql`` with ``if_exists='replace'`` drops the table it replaces: refused on
    a table the session did not create, the table and its rows intact; an append of two rows
    runs and adds them."""
    prepare(db)
    with kernel_for(work_root, "rp16b-to-sql") as kernel:
        r = kernel.run(f"import pandas as pd, sqlalchemy\nengine = sqlalchemy.create_engine("
                       f"{db.url!r})")
        assert r.status == "ok", r.everything()[-600:]
        for table in ("orders", "trig_log"):
            r = kernel.run(f"pd.DataFrame({{'id': [1]}}).to_sql({table!r}, engine, "
                           "if_exists='replace', index=False)", timeout=240)
            assert r.status == "error" and "[destructive-ddl]" in r.everything(), r.everything()
        assert db.count("orders") == 50_000 and "trig_log" in db.tables()
        r = kernel.run("pd.DataFrame({'id': [70001, 70002], 'customer_id': [1, 2], 'amount': "
                       "[1.0, 2.0]}).to_sql('orders', engine, if_exists='append', index=False)",
                       timeout=240)
        assert r.status == "ok", r.everything()[-600:]
    assert db.count("orders") == 50_002
