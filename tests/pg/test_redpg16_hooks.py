"""What acts later, or for someone else, is judged by its effect: a trigger or rule created on a
table the session did not create (it fires on others' writes, outside any statement the guard
judges), row-security policies, constraints, grants and owner of such a table, roles and their
powers, ``ALTER SYSTEM`` (the server's configuration for every session),
the settings a role or database starts its sessions with, and functions that switch
``session_replication_role`` while they run. Each spelling runs through a real driver in a real
kernel on a real PostgreSQL (a fresh database each); the cell ends in error naming the rule and
the catalog is as it was. The everyday twins (a trigger, a grant and a foreign key on the
session's own table, an index, a temporary table, a one-row DELETE) run."""
from __future__ import annotations

import re

import pytest

from tests.kernelutil import Kernel
from tests.pg.conftest import Db
from tests.pg.pgserver import PgServer

pytestmark = pytest.mark.kernel

SETUP = {
    "pg3": "import psycopg\ncon = psycopg.connect(DSN)\ncur = con.cursor()",
    "pg2": "import psycopg2\ncon = psycopg2.connect(DSN)\ncur = con.cursor()",
    "analyst": "import psycopg\ncon = psycopg.connect(ANALYST, autocommit=True)\n"
               "cur = con.cursor()",
    "sa": "import sqlalchemy as sa\ncon = sa.create_engine(URL).connect()\n"
          "class _C:\n    def execute(self, q):\n        con.execute(sa.text(q))\ncur = _C()",
    "asyncpg": "import asyncpg\nclass _C:\n    def execute(self, q):\n"
               "        async def f():\n            c = await asyncpg.connect(host='127.0.0.1', "
               "port=PORT, user='postgres', database=NAME)\n            await c.execute(q)\n"
               "        import asyncio\n        asyncio.get_event_loop().run_until_complete(f())"
               "\ncur = _C()",
}
TRIGGER_FN = ("CREATE FUNCTION wipe() RETURNS trigger LANGUAGE plpgsql AS "
              "$$ BEGIN DELETE FROM orders; RETURN NEW; END $$")
ATTACKS = [
    ("pg3", "CREATE RULE r AS ON INSERT TO customers DO ALSO DELETE FROM orders"),
    ("pg2", "CREATE OR REPLACE RULE r AS ON UPDATE TO orders DO INSTEAD NOTHING"),
    ("sa", "CREATE RULE r AS ON INSERT TO customers DO ALSO DELETE FROM orders"),
    ("pg3", "CREATE TRIGGER t AFTER INSERT ON customers FOR EACH STATEMENT "
            "EXECUTE FUNCTION wipe()"),
    ("analyst", "DO $$ BEGIN EXECUTE 'CREATE TRIGGER t AFTER INSERT ON customers FOR EACH "
                "STATEMENT EXECUTE FUNCTION ' || 'wipe()'; END $$"),
    ("pg2", "ALTER TABLE customers ENABLE ROW LEVEL SECURITY; "
            "CREATE POLICY p ON customers USING (false)"),
    ("pg3", "ALTER TABLE orders ADD CONSTRAINT c CHECK (amount < 0) NOT VALID"),
    ("pg3", "GRANT ALL ON customers TO PUBLIC"),
    ("pg2", "ALTER TABLE orders OWNER TO analyst"),
    ("pg3", "ALTER SYSTEM SET session_replication_role = replica"),
    ("pg3", "CREATE ROLE jg_evil SUPERUSER LOGIN"),
    ("pg2", "ALTER ROLE analyst SUPERUSER"),
    ("pg3", "GRANT pg_write_server_files TO analyst"),
    ("pg3", "ALTER ROLE analyst SET session_replication_role = replica"),
    ("pg2", "ALTER DATABASE {name} SET session_replication_role = replica"),
    ("pg3", "CREATE PUBLICATION pub FOR TABLE customers"),
    ("pg2", "CREATE FUNCTION e() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$; "
            "CREATE EVENT TRIGGER ev ON ddl_command_start EXECUTE FUNCTION e()"),
    ("pg3", "CREATE FUNCTION f() RETURNS void LANGUAGE sql SET session_replication_role = "
            "replica AS $$ DELETE FROM customers WHERE id = 5 $$"),
]
# the catalog that must be as it was: rules, triggers, policies, constraints and grants of the
# two tables, the roles, the session defaults, and role-switching functions
CATALOG = """SELECT
  (SELECT count(*) FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
     WHERE c.relname IN ('customers', 'orders')),
  (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal),
  (SELECT count(*) FROM pg_policy),
  (SELECT count(*) FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
     WHERE c.relname IN ('customers', 'orders')),
  (SELECT string_agg(coalesce(relacl::text, '-'), ',' ORDER BY relname) FROM pg_class
     WHERE relname IN ('customers', 'orders')),
  (SELECT string_agg(rolname || rolsuper::text, ',' ORDER BY rolname) FROM pg_roles),
  (SELECT count(*) FROM pg_auth_members),
  (SELECT count(*) FROM pg_db_role_setting),
  (SELECT count(*) FROM pg_proc WHERE proconfig IS NOT NULL),
  (SELECT count(*) FROM pg_event_trigger), (SELECT count(*) FROM pg_publication),
  (SELECT string_agg(relowner::text, ',' ORDER BY relname) FROM pg_class
     WHERE relname IN ('customers', 'orders')),
  pg_read_file('postgresql.auto.conf')"""


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _prelude(db: Db) -> str:
    return (f"DSN = {db.dsn!r}\nANALYST = {db.analyst!r}\nURL = {db.url!r}\n"
            f"PORT = {db.server.port}\nNAME = {db.name!r}\n")


def test_hooks_roles_and_session_defaults_are_judged_by_effect(kernel: Kernel,
                                                               pg: PgServer) -> None:
    for setup, sql in ATTACKS:
        name = pg.fresh()
        db = Db(pg, name)
        try:
            db.query(TRIGGER_FN)   # the trigger's function exists: only the trigger is at stake
            db.query("GRANT EXECUTE ON FUNCTION wipe() TO analyst")
            before = db.query(CATALOG)
            r = kernel.run(_prelude(db) + SETUP[setup])
            assert r.status == "ok", _plain(r.everything())[-600:]
            r = kernel.run(f"cur.execute({sql.format(name=name)!r})\n"
                           "getattr(con, 'commit', lambda: None)()", timeout=180)
            text = _plain(r.everything())
            assert r.status == "error", f"ran: {sql}\n{text[-400:]}"
            assert "[self-protection]" in text, f"{sql}\n{text[-600:]}"
            kernel.run("try:\n    con.rollback()\nexcept Exception:\n    pass\n"
                       "try:\n    con.close()\nexcept Exception:\n    pass")
            assert db.query(CATALOG) == before, sql
            db.intact()
            db.query("INSERT INTO customers VALUES (20001, 'x', 'x@y.z', '1', 'P')")
            db.query("UPDATE orders SET amount = amount WHERE id = 1")
            assert db.count("orders") == 50_000, sql   # nothing created fires later
        finally:
            pg.drop(name)


TWINS = """
cur.execute('CREATE TABLE mine (id int PRIMARY KEY, c int REFERENCES customers(id))')
cur.execute("CREATE FUNCTION keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$")
cur.execute('CREATE TRIGGER k BEFORE INSERT ON mine FOR EACH ROW EXECUTE FUNCTION keep()')
cur.execute('CREATE RULE r AS ON UPDATE TO mine DO ALSO NOTHING')
cur.execute('GRANT SELECT ON mine TO PUBLIC')
cur.execute('INSERT INTO mine VALUES (1, 1)')
cur.execute('CREATE INDEX ON customers (city)')
cur.execute('CREATE TEMP TABLE few AS SELECT id FROM orders LIMIT 5')
cur.execute('CREATE VIEW mv AS SELECT id FROM mine')
cur.execute('CREATE OR REPLACE VIEW mv AS SELECT id, c FROM mine')
cur.execute('DELETE FROM orders WHERE id = %s', (7,))
con.commit()
cur.execute('SELECT count(*) FROM mine'); print('mine', cur.fetchone()[0])
"""


@pytest.mark.parametrize("driver", ["pg3", "pg2"])
def test_everyday_twins_on_own_tables_run(kernel: Kernel, db: Db, driver: str) -> None:
    assert kernel.run(_prelude(db) + SETUP[driver]).status == "ok"
    r = kernel.run(TWINS, timeout=180)
    text = _plain(r.everything())
    assert r.status == "ok", text[-800:]
    assert "mine 1" in text, text
    assert db.count("orders") == 49_999
    assert db.query("SELECT count(*) FROM pg_trigger WHERE tgname = 'k'")[0][0] == 1
