"""The benign twins of ``test_redpg16b_effects``: honest work of the same shapes runs through
every route, in a real guarded kernel on a fresh database each, with correct results (what it
prints, and the database's state after it): a few-row MERGE and upsert, maintenance (REINDEX,
CLUSTER, VACUUM, ANALYZE), COMMENT, row locks, a computed ``application_name``, a setting next to
a sensitive column in WHERE, the session's own functions replaced and partitions detached, a
point DELETE and reads through a foreign table."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.pg.pgserver import PgServer
from tests.pg.redpg16b_corpus import FDW, ROUTES, Fresh, code, connect, kernel_for

pytestmark = pytest.mark.kernel


@dataclass(frozen=True)
class Honest:
    id: str
    steps: tuple[str, ...]
    shows: str = ""                          # in what the last step printed
    check: tuple[str, str] | None = None     # (SQL, its one value as text) afterwards
    setup: str = ""
    routes: tuple[str, ...] = tuple(ROUTES)


AUTOCOMMIT = ("magic-url", "magic-engine", "jupysql", "runtime", "asyncpg")
HONEST = [
    Honest("merge-few", ("MERGE INTO orders o USING (VALUES (1, 9.5)) v(id, a) ON o.id = v.id "
                         "WHEN MATCHED THEN UPDATE SET amount = v.a",),
           check=("SELECT amount FROM orders WHERE id = 1", "9.5")),
    Honest("upsert-few", ("INSERT INTO orders VALUES (1, 1, 2.0), (60001, 1, 3.0) "
                          "ON CONFLICT (id) DO UPDATE SET amount = EXCLUDED.amount",),
           check=("SELECT count(*) || '/' || sum(amount) FILTER (WHERE id IN (1, 60001)) "
                  "FROM orders", "50001/5.0")),
    Honest("comment", ("COMMENT ON TABLE orders IS 'order lines'",),
           check=("SELECT obj_description('orders'::regclass)", "order lines")),
    Honest("reindex", ("REINDEX TABLE orders",), check=("SELECT count(*) FROM orders", "50000")),
    Honest("cluster", ("CLUSTER orders USING orders_pkey",),
           check=("SELECT count(*) FROM orders", "50000")),
    Honest("vacuum-analyze", ("VACUUM orders", "ANALYZE orders", "VACUUM FULL orders"),   # autocommit routes: VACUUM
           check=("SELECT count(*) FROM orders", "50000"), routes=AUTOCOMMIT),   # runs only there
    Honest("for-update", ("SELECT id, amount FROM orders WHERE id = 2 FOR UPDATE",), shows="3.0"),
    Honest("appname-computed", ("SELECT set_config('application_name', 'job ' || "
                                "current_date::text, false) AS a",), shows="job 20"),
    Honest("setting-next-to-ssn", ("SELECT set_config('statement_timeout', '50s', false) AS t, "
                                   "count(*) AS n FROM customers WHERE ssn IS NOT NULL",),
           shows="10000"),
    Honest("setting-of-plain-column-where-ssn", (
        "SELECT set_config('jg.city', city, false) AS c FROM customers "
        "WHERE id = 2 AND ssn IS NOT NULL",), shows="Nice"),
    Honest("own-function-replaced", (
        "CREATE FUNCTION mine() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "CREATE OR REPLACE FUNCTION mine() RETURNS int LANGUAGE sql AS 'SELECT 41 + 1'",
        "SELECT mine() AS v"), shows="42"),
    Honest("own-partition-detached", (
        "CREATE TABLE mp (id int) PARTITION BY RANGE (id)",
        "CREATE TABLE mp1 PARTITION OF mp FOR VALUES FROM (0) TO (10)",
        "ALTER TABLE mp DETACH PARTITION mp1"),
        check=("SELECT count(*) FROM pg_inherits WHERE inhrelid = 'mp1'::regclass", "0")),
    Honest("own-sequence-restart", ("CREATE SEQUENCE s2", "SELECT nextval('s2')",
                                     "ALTER SEQUENCE s2 RESTART"),
           check=("SELECT count(*) FROM pg_class WHERE relname = 's2'", "1")),
    Honest("sequence-forward", ("ALTER SEQUENCE order_seq RESTART WITH 60000",),
           check=("SELECT last_value FROM order_seq", "60000")),
    Honest("own-schema-granted", ("CREATE SCHEMA mine", "GRANT USAGE ON SCHEMA mine TO analyst"),
           check=("SELECT has_schema_privilege('analyst', 'mine', 'USAGE')::text", "true")),
    Honest("city-count", ("SELECT count(*) AS n FROM customers WHERE city = 'Paris'",),
           shows="3333"),
    Honest("foreign-read", ("SELECT count(*) AS n FROM remote.orders WHERE id <= 1234",),
           shows="1234", setup=FDW),
    Honest("foreign-point-delete", ("DELETE FROM remote.orders WHERE id = 5",),
           check=("SELECT count(*) FROM orders", "49999"), setup=FDW),
    Honest("function-few-rows", ("SELECT drop_one() AS v",), shows="9",
           check=("SELECT count(*) FROM orders", "49999"),
           setup="CREATE FUNCTION drop_one() RETURNS int LANGUAGE plpgsql AS $$ BEGIN "
                 "DELETE FROM orders WHERE id = 9; RETURN 9; END $$"),
]


@pytest.fixture(scope="module")
def fresh(pg: PgServer) -> Iterator[Fresh]:
    f = Fresh(pg)
    yield f
    f.close()


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_honest_work_runs(work_root: Path, fresh: Fresh, route: str) -> None:
    failures = []
    with kernel_for(work_root, f"rp16b-honest-{route}") as kernel:
        for h in HONEST:
            if route not in h.routes or (route == "pandas" and (h.check or not all(
                    s.lstrip().upper().startswith("SELECT") for s in h.steps))):   # read_sql:
                continue   # queries only, and it never commits
            db = fresh.take()   # as ``prepare`` leaves a fresh copy of shop
            try:
                if h.setup:
                    db.query(h.setup.format(port=db.server.port, db=db.name))
                connect(kernel, ROUTES[route], db)
                out, ok = "", True
                for step in h.steps:
                    r = kernel.run(code(ROUTES[route], db, step), timeout=240)
                    out = r.everything()
                    if r.status != "ok":
                        failures.append(f"{h.id}: {step}\n    {out[-400:]!r}")
                        ok = False
                        break
                if ok and h.shows and h.shows not in out:
                    failures.append(f"{h.id}: {h.shows!r} not shown\n    {out[-400:]!r}")
                if ok and h.check:
                    got = str(db.query(h.check[0])[0][0])
                    if got != h.check[1]:
                        failures.append(f"{h.id}: {h.check[0]} = {got}, not {h.check[1]}")
            finally:
                fresh.drop(db)
    assert not failures, "\n".join(failures)
