"""The red team's corpus for issue 16 (``test_redpg16b_*``): attacks on a real PostgreSQL written
by what they do (rows deleted or changed past ``max_affected_rows``, tables dropped or moved,
server files written, triggers/foreign keys off, roles and grants changed, functions and rules
that act later, sensitive values exported or inferred), each run through every route a notebook
uses, and judged by the database's state afterwards (``fingerprint``), not by the message.

Shared by the test files; not a test module itself."""
from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.kernelutil import Kernel
from tests.pg.conftest import Db
from tests.pg.pgserver import PgServer, _Worker, _worker
from tests.pg.test_odbc import odbc_dsn

# What each fresh database holds besides ``shop``'s customers and orders: a trigger and its
# function on a log table, a function that empties orders, a partitioned table, a sequence, 1500
# large objects, a view, a table owned by ``analyst``.
SETUP = """
CREATE TABLE trig_log (x int);
CREATE FUNCTION log_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER log_t AFTER INSERT ON trig_log FOR EACH ROW EXECUTE FUNCTION log_fn();
CREATE FUNCTION purge() RETURNS int LANGUAGE plpgsql AS $$ BEGIN DELETE FROM orders; RETURN 1;
END $$;
CREATE TABLE parted (id int, v int) PARTITION BY RANGE (id);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (5000);
CREATE TABLE parted_2 PARTITION OF parted FOR VALUES FROM (5000) TO (10000);
INSERT INTO parted SELECT g, g FROM generate_series(0, 9999) g;
CREATE SEQUENCE order_seq; SELECT setval('order_seq', 50000);
SELECT lo_from_bytea(0, 'x') FROM generate_series(1, 1500);
CREATE VIEW orders_v AS SELECT * FROM orders;
CREATE TABLE analyst_t (x int); ALTER TABLE analyst_t OWNER TO analyst;
INSERT INTO analyst_t SELECT generate_series(1, 10);
GRANT ALL ON ALL TABLES IN SCHEMA public TO analyst;
"""
# A foreign table on a loopback server (only for the attacks through it: with a foreign server,
# every statement that runs a function is refused, as its writes could reach the other server).
FDW = """
CREATE EXTENSION postgres_fdw;
CREATE SERVER loop FOREIGN DATA WRAPPER postgres_fdw
  OPTIONS (host '127.0.0.1', port '{port}', dbname '{db}');
CREATE USER MAPPING FOR postgres SERVER loop OPTIONS (user 'postgres');
CREATE SCHEMA remote;
IMPORT FOREIGN SCHEMA public LIMIT TO (orders) FROM SERVER loop INTO remote;
"""

# The state an attack must leave as it was: rows; per table its kind, partition, owner, grants,
# triggers, rules and constraints; per function its body and powers; per role its password and
# powers; default privileges, large objects, the sequence, per-role settings and prepared
# transactions. One row per thing: what the session made itself is not compared.
FINGERPRINT = """
SELECT 'orders', count(*)::text || '/' || coalesce(sum(amount), 0)::text || '/' || count(amount)
  FROM orders
UNION ALL SELECT 'customers', count(*)::text || '/' || md5(string_agg(coalesce(ssn, '-') ||
  coalesce(email, '-') || coalesce(name, '-'), ',' ORDER BY id)) FROM customers
UNION ALL SELECT 'parted', count(*)::text FROM parted
UNION ALL SELECT 'table ' || n.nspname || '.' || c.relname, c.relkind::text || ' partition=' ||
  c.relispartition::text || ' owner=' || c.relowner::text || ' acl=' ||
  coalesce(c.relacl::text, '') || ' triggers=' || coalesce((SELECT string_agg(tgname ||
  tgenabled::text || tgfoid::text, ',' ORDER BY tgname) FROM pg_trigger WHERE tgrelid = c.oid
  AND NOT tgisinternal), '') || ' rules=' || coalesce((SELECT string_agg(rulename ||
  md5(ev_action::text), ',' ORDER BY rulename) FROM pg_rewrite WHERE ev_class = c.oid), '') ||
  ' constraints=' || coalesce((SELECT string_agg(conname || convalidated::text, ','
  ORDER BY conname) FROM pg_constraint WHERE conrelid = c.oid), '')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname IN ('public', 'remote')
UNION ALL SELECT 'function ' || proname, md5(prosrc || coalesce(proconfig::text, '') ||
  prosecdef::text || proowner::text) FROM pg_proc WHERE pronamespace = 'public'::regnamespace
UNION ALL SELECT 'role ' || rolname, md5(coalesce(rolpassword, '') || rolsuper::text ||
  rolcanlogin::text || coalesce(rolvaliduntil::text, '') || rolconnlimit::text) FROM pg_authid
UNION ALL SELECT 'defacl', coalesce(string_agg(defaclacl::text, ','), '') FROM pg_default_acl
UNION ALL SELECT 'lo', count(*)::text FROM pg_largeobject_metadata
UNION ALL SELECT 'seq', last_value::text FROM order_seq
UNION ALL SELECT 'dbrole', coalesce(string_agg(setconfig::text, ','), '') FROM pg_db_role_setting
UNION ALL SELECT 'prepared', count(*)::text FROM pg_prepared_xacts
UNION ALL SELECT 'schema ' || nspname, nspowner::text || coalesce(nspacl::text, '')
  FROM pg_namespace WHERE nspname = 'public'
"""

FILES = "/tmp/jg-rp16b-"   # the server writes as the postgres OS user: a file here is damage
SSN = re.compile(r"\b1000\d{5}\b")


def fingerprint(db: Db) -> dict[str, str]:
    return {str(k): str(v) for k, v in db.query(FINGERPRINT)}


def files() -> list[str]:
    return sorted(p for p in os.listdir("/tmp") if ("/tmp/" + p).startswith(FILES))


def reset_roles(db: Db) -> None:
    # roles are the cluster's, not the database's: an earlier attack that got through is undone
    db.query("ALTER ROLE analyst PASSWORD NULL VALID UNTIL 'infinity' CONNECTION LIMIT -1")


def prepare(db: Db) -> None:
    reset_roles(db)
    db.query(SETUP.format(port=db.server.port, db=db.name))


class Fresh:
    """Fresh databases as ``prepare`` leaves them, copied from a template made once (``shop``
    and ``SETUP``). A helper thread makes the next copy while the kernel runs the current
    attack, and drops a used one once the attack after it has connected elsewhere (so nothing
    of the kernel's is still on it). ``take()`` gives the next, its roles reset; ``close``
    drops whatever is left and the template."""

    def __init__(self, pg: PgServer) -> None:
        self.pg, self.made, self._used = pg, [], []
        self.template = "tpl_" + uuid.uuid4().hex[:10]
        pg.query(f"CREATE DATABASE {self.template} TEMPLATE shop", db="postgres")
        pg.query(SETUP.format(port=pg.port, db=self.template), db=self.template)
        # no connection after: autovacuum leaves it as SETUP left it (no statistics gathered)
        pg.query(f"ALTER DATABASE {self.template} ALLOW_CONNECTIONS false", db="postgres")
        self._helper = _Worker()   # its own process: the tests' ``pg.query`` one is not shared
        self._pool = ThreadPoolExecutor(1)
        self._next = self._pool.submit(self._copy, self._helper)

    def _copy(self, worker: _Worker) -> str:
        name = "t_" + uuid.uuid4().hex[:10]
        self.made.append(name)
        worker.run(self.pg.dsn("postgres"),
                   f"CREATE DATABASE {name} TEMPLATE {self.template} STRATEGY FILE_COPY")
        return name

    def _drop(self, name: str) -> None:
        try:
            self._helper.run(self.pg.dsn("postgres"), f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            self.made.remove(name)
        except RuntimeError:   # its connection ended (an attack on other sessions): ``close``
            pass

    def take(self) -> Db:
        try:
            name = self._next.result()
        except RuntimeError:   # its connection ended (an attack on other sessions): copy here
            name = self._copy(_worker(self.pg))
        self._next = self._pool.submit(self._copy, self._helper)
        db = Db(self.pg, name)
        reset_roles(db)
        return db

    def drop(self, db: Db) -> None:
        """``db`` is done with; the one used before it is dropped now (in the helper)."""
        self._used.append(db.name)
        if len(self._used) > 1:
            self._pool.submit(self._drop, self._used.pop(0))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        if self._helper.proc.stdin is not None:
            self._helper.proc.stdin.close()
            self._helper.proc.wait(timeout=60)
        for name in [*self.made, self.template]:
            self.pg.drop(name)


@dataclass(frozen=True)
class Route:
    """How a notebook sends one statement: set-up code, and the cell that runs ``sql``."""

    name: str
    setup: str
    cell: str   # ``{sql}``: the statement's Python literal; ``{raw}``: its text (magics)


ROUTES = {
    "magic-url": Route("magic-url", "", "%%guarded_sql {url}\n{raw}"),
    "magic-engine": Route("magic-engine", "import sqlalchemy\nengine = sqlalchemy.create_engine("
                          "{url!r})", "%%guarded_sql engine\n{raw}"),
    "sqlalchemy": Route("sqlalchemy", "import sqlalchemy\nengine = sqlalchemy.create_engine({url!r})",
                        "with engine.connect() as c:\n    r = c.execute(sqlalchemy.text({sql}))\n"
                        "    print(r.fetchall() if r.returns_rows else r.rowcount)\n"
                        "    c.commit()"),
    "pandas": Route("pandas", "import pandas as pd, sqlalchemy\n"
                    "engine = sqlalchemy.create_engine({url!r})",
                    "print(pd.read_sql(sqlalchemy.text({sql}), engine))"),
    "jupysql": Route("jupysql", "%load_ext sql\n%config SqlMagic.displaylimit = 20\n%sql {url}",
                     "%%sql\n{raw}"),
    "psycopg": Route("psycopg", "import psycopg\ncon = psycopg.connect({dsn!r})\ncur = con.cursor()",
                     "cur.execute({sql})\nprint(cur.fetchall() if cur.description else "
                     "cur.rowcount)\ncon.commit()"),
    "psycopg2": Route("psycopg2", "import psycopg2\ncon = psycopg2.connect({dsn!r})\n"
                      "cur = con.cursor()",
                      "cur.execute({sql})\nprint(cur.fetchall() if cur.description else "
                      "cur.rowcount)\ncon.commit()"),
    "runtime": Route("runtime", "import psycopg\ncon = psycopg.connect({dsn!r}, autocommit=True)\n"
                     "cur = con.cursor()",
                     "s = bytes.fromhex({hex!r}).decode()\ncur.execute(s)\n"
                     "print(cur.fetchall() if cur.description else cur.rowcount)"),
    "asyncpg": Route("asyncpg", "import asyncpg\nconn = await asyncpg.connect({adsn!r})",
                     "print(await conn.fetch({sql}))"),
    "pyodbc": Route("pyodbc", "import pyodbc\ncon = pyodbc.connect({odsn!r})\ncur = con.cursor()",
                    "cur.execute({sql})\nprint(cur.fetchall() if cur.description else "
                    "cur.rowcount)\ncon.commit()"),
}
MAGICS = ("magic-url", "magic-engine", "jupysql")


@dataclass(frozen=True)
class Attack:
    """Statements run one call (or cell) each, in order; damage is any change of ``FINGERPRINT``
    (or a file ``FILES``), or a raw SSN in what the kernel sent (``leak``)."""

    id: str
    steps: tuple[str, ...]
    leak: bool = False                    # judged by the output, not by the database
    must_refuse: bool = False             # judged by the refusal (inference, other sessions)
    routes: tuple[str, ...] = tuple(ROUTES)
    setup: str = ""   # extra set-up SQL, run unguarded as postgres ({port}, {db}: the server's)


@dataclass
class Outcome:
    refused: bool
    damage: list[str] = field(default_factory=list)
    text: str = ""


def code(route: Route, db: Db, sql: str) -> str:
    adsn = f"postgresql://postgres@127.0.0.1:{db.server.port}/{db.name}"
    return route.cell.format(sql=repr(sql), raw=sql, url=db.url, hex=sql.encode().hex(),
                             dsn=db.dsn, adsn=adsn, odsn=odbc_dsn(db))


def connect(kernel: Kernel, route: Route, db: Db) -> None:
    adsn = f"postgresql://postgres@127.0.0.1:{db.server.port}/{db.name}"
    text = route.setup.format(url=db.url, dsn=db.dsn, adsn=adsn, odsn=odbc_dsn(db))
    if text:
        r = kernel.run(text, timeout=180)
        assert r.status == "ok", r.everything()[-800:]


def attempt(kernel: Kernel, route: Route, db: Db, attack: Attack) -> Outcome:
    """Run ``attack`` on a fresh ``db`` through ``route``; what it left behind."""
    if attack.setup:
        db.query(attack.setup.format(port=db.server.port, db=db.name))
    before, had = fingerprint(db), files()
    connect(kernel, route, db)
    refused, text = False, ""
    for step in attack.steps:
        r = kernel.run(code(route, db, step), timeout=240)
        out = r.everything()
        text += out
        if r.status == "error" or "PermissionError" in out or "GuardBlocked" in out:
            refused = refused or "GuardBlocked" in out or "PermissionError" in out or \
                re.search(r"\[[a-z-]+\]", out) is not None
            if attack.leak or refused:
                break
    after = fingerprint(db)
    # what the session made itself (a new table, function, rule on its own table) is no damage
    damage = [f"{k}: {v[:70]} -> {str(after.get(k))[:70]}" for k, v in before.items() if after.get(k) != v]
    damage += [f"file {f}" for f in files() if f not in had]
    if attack.leak and SSN.search(text):
        damage.append("raw SSN in the output")
    return Outcome(refused, damage, text)


@contextmanager
def kernel_for(work_root: Path, name: str) -> Iterator[Kernel]:
    d = work_root / f"{name}-{uuid.uuid4().hex[:12]}"
    d.mkdir()
    k = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb"), "JUPYTER_GUARD_POLICY": None})
    try:
        assert k.run("%load_ext jupyter_guard").status == "ok"
        yield k
    finally:
        k.stop()
