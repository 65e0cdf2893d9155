"""Inference through the user's own constraints on PostgreSQL (issue 15, red team 19's "still
open: PostgreSQL"), in a real guarded kernel on the real server, through psycopg, psycopg2 and
pg8000.

``CREATE TEMP TABLE c (x text CHECK (x <> G))`` then ``INSERT INTO c SELECT ssn FROM customers``
fails exactly when ``G`` is an SSN; ``CHECK (x < mid)`` bisects one customer's SSN; a ``UNIQUE``
table of guesses filled ``ON CONFLICT DO NOTHING`` counts matches; a domain with a ``CHECK`` and
an enum judge values written into their columns or cast to them; so do a trigger that raises on
``NEW.x = G``, a list partition for ``G`` and a generated column that divides by zero on ``G``.
Each is refused as
``inference`` before it runs: no answer and no constraint's verdict in any message, the judging
table unchanged. Twins: a ``CHECK`` on amounts, plain values in a constrained temporary table,
a ``UNIQUE`` key on ids filled from customers' ids run with PostgreSQL's own answers.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.enforce.constraint_attacks import ATTACKS as SHARED
from tests.enforce.constraint_attacks import (
    BISECTION,
    TWINS,
    Attack,
    G,
    ddl,
    judged,
    refused,
    twin_cell,
)
from tests.pg.conftest import pg_kernel
from tests.pg.pgserver import PgServer

pytestmark = pytest.mark.kernel

DRIVERS = {
    "psycopg": "import psycopg\npg = psycopg.connect({dsn!r}, autocommit=True)\n"
               "Violation = psycopg.errors.CheckViolation\n"
               "def q(sql):\n    cur = pg.execute(sql)\n"
               "    return [tuple(r) for r in cur.fetchall()] if cur.description else None",
    "psycopg2": "import psycopg2, psycopg2.errors\npg = psycopg2.connect({dsn!r})\npg.autocommit = True\n"
                "Violation = psycopg2.errors.CheckViolation\n"
                "def q(sql):\n    cur = pg.cursor()\n    cur.execute(sql)\n"
                "    return [tuple(r) for r in cur.fetchall()] if cur.description else None",
}
DRIVERS["pg8000"] = ("import pg8000.dbapi\npg = pg8000.dbapi.connect(user='postgres', "
                     "host='127.0.0.1', port={port}, database={db!r})\npg.autocommit = True\n"
                     "Violation = pg8000.dbapi.DatabaseError\n"
                     "def q(sql):\n    cur = pg.cursor()\n    cur.execute(sql)\n"
                     "    return [tuple(r) for r in cur.fetchall()] if cur.description else None")
VERDICTS = ("ANSWER", "violates", "duplicate key", "invalid input value", "check constraint",
            "ORACLE-HIT", "no partition", "division by zero")


@pytest.fixture(scope="module", params=list(DRIVERS))
def k(pg: PgServer, work_root: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    with pg_kernel(pg, work_root / f"pgcon20-{request.param}", DRIVERS[request.param]) as kernel:
        yield kernel


# the attacks PostgreSQL has in its own spelling (domains, enums, partitions, generated
# columns, a PL/pgSQL trigger), beside the ones both databases share
ATTACKS: dict[str, Attack] = {
    **SHARED,
    "named-check-by-alter": ("CREATE TEMP TABLE c4 (x text); "
                             f"ALTER TABLE c4 ADD CONSTRAINT c4g CHECK (x <> '{G}')",
                             "INSERT INTO c4 SELECT ssn FROM customers", "c4", 0),
    "unique-on-conflict": (f"CREATE TEMP TABLE u1 (x text UNIQUE); INSERT INTO u1 VALUES ('{G}')",
                           "INSERT INTO u1 SELECT ssn FROM customers ON CONFLICT DO NOTHING",
                           "u1", 1),
    "primary-key-collision": (f"CREATE TEMP TABLE u2 (x text PRIMARY KEY); "
                              f"INSERT INTO u2 VALUES ('{G}')",
                              "INSERT INTO u2 SELECT ssn FROM customers", "u2", 1),
    "guess-into-a-key-over-ssns": ("CREATE TEMP TABLE u3 (x text); "
                                   "INSERT INTO u3 SELECT ssn FROM customers; "
                                   "CREATE UNIQUE INDEX u3i ON u3 (x)",
                                   f"INSERT INTO u3 VALUES ('{G}') ON CONFLICT DO NOTHING",
                                   "u3", 10_000),
    "domain-column": (f"CREATE DOMAIN d1 AS text CHECK (VALUE <> '{G}'); "
                      "CREATE TEMP TABLE dc1 (x d1)",
                      "INSERT INTO dc1 SELECT ssn FROM customers", "dc1", 0),
    "enum-column": (f"CREATE TYPE e1 AS ENUM ('{G}'); CREATE TEMP TABLE ec1 (x e1)",
                    "INSERT INTO ec1 SELECT ssn::e1 FROM customers WHERE id = 12", "ec1", 0),
    "values-of-a-subquery": (f"CREATE TEMP TABLE c5 (x text CHECK (x <> '{G}'))",
                             "INSERT INTO c5 VALUES ((SELECT ssn FROM customers WHERE id = 12))",
                             "c5", 0),
    "trigger-raise": (("CREATE TEMP TABLE t1 (x text)",
                       "CREATE FUNCTION pg_temp.t1f() RETURNS trigger LANGUAGE plpgsql AS $$ "
                       f"BEGIN IF NEW.x = '{G}' THEN RAISE EXCEPTION 'ORACLE-HIT'; END IF; "
                       "RETURN NEW; END $$",
                       "CREATE TRIGGER t1g BEFORE INSERT ON t1 FOR EACH ROW "
                       "EXECUTE FUNCTION pg_temp.t1f()"),
                      "INSERT INTO t1 SELECT ssn FROM customers", "t1", 0),
    "list-partition": (("CREATE TEMP TABLE p1 (x text) PARTITION BY LIST (x)",
                        f"CREATE TEMP TABLE p1g PARTITION OF p1 FOR VALUES IN ('{G}')"),
                       "INSERT INTO p1 SELECT ssn FROM customers WHERE id = 12", "p1", 0),
    "generated-column": (("CREATE TEMP TABLE gc1 (x text, y int GENERATED ALWAYS AS "
                          f"(1 / (CASE WHEN x = '{G}' THEN 0 ELSE 1 END)) STORED)",),
                         "INSERT INTO gc1 (x) SELECT ssn FROM customers", "gc1", 0),
    "schema-qualified": (f"CREATE TEMP TABLE c6 (x text CHECK (x <> '{G}'))",
                         "INSERT INTO pg_temp.c6 SELECT ssn FROM public.customers", "c6", 0),
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_a_judging_constraint_over_sensitive_values_is_refused(k: Any, name: str) -> None:
    judged(k, ATTACKS[name], VERDICTS)


def test_in_an_open_transaction_the_refusal_leaves_it_usable(k: Any) -> None:
    """The catalog is read inside the user's transaction (a savepoint): a refused write there,
    and an honest write of SSNs into an unconstrained table (catalog read, nothing found), leave
    the transaction usable and its rows committed."""
    k.ok("pg.autocommit = False\n" + ddl(f"CREATE TEMP TABLE x1 (x text CHECK (x <> '{G}'))")
         + ddl("CREATE TEMP TABLE x2 (id int, x text)"))
    try:
        refused(k.run(ddl("INSERT INTO x1 SELECT ssn FROM customers") + "print('ANSWER')"),
                VERDICTS)
        r = k.ok(ddl("INSERT INTO x2 SELECT id, ssn FROM customers WHERE id <= 20")
                 + "pg.commit()\nprint('ROWS', q('SELECT count(*) FROM x2'), "
                 "q('SELECT count(*) FROM x1'))")
        assert "ROWS [(20,)] [(0,)]" in r.stream, r.everything()
    finally:
        k.ok("pg.rollback()\npg.autocommit = True")


def test_create_and_attack_in_one_cell_is_refused_and_nothing_runs(k: Any) -> None:
    r = k.run(f"q(\"CREATE TEMP TABLE s1 (x text CHECK (x <> '{G}')); "
              "INSERT INTO s1 SELECT ssn FROM customers\")\nprint('ANSWER')")
    refused(r, VERDICTS)
    assert "ROWS [(0,)]" in k.run("print('ROWS', q(\"SELECT count(*) FROM pg_class "
                                  "WHERE relname = 's1'\"))").stream


def test_the_check_bisection_stops_at_its_first_insert(k: Any) -> None:
    refused(k.run(BISECTION), VERDICTS)


@pytest.mark.parametrize("setup,sql", [
    pytest.param(f"CREATE DOMAIN d2 AS text CHECK (VALUE <> '{G}')",
                 "SELECT count(*) FROM customers WHERE ssn::d2 IS NOT NULL", id="domain-cast"),
    pytest.param(f"CREATE TYPE e2 AS ENUM ('{G}')",
                 "SELECT count(*) FROM customers WHERE id = 12 AND CAST(ssn AS e2) IS NOT NULL",
                 id="enum-cast"),
])
def test_a_cast_to_a_user_domain_or_enum_is_refused(k: Any, setup: str, sql: str) -> None:
    k.ok(ddl(setup))
    refused(k.run(f"print('ANSWER', q({sql!r}))"), VERDICTS)


@pytest.mark.parametrize("name", list(TWINS))
def test_an_honest_constrained_write_runs_with_the_servers_answer(k: Any, name: str) -> None:
    source = TWINS[name][2]
    want = source if isinstance(source, list) else \
        [tuple(r) for r in k.pg.query(source, db=k.db)]
    r = k.ok(twin_cell(name, amount="numeric", ignore="INSERT",
                       on_conflict=" ON CONFLICT DO NOTHING"))
    assert f"ANSWER {want!r}" in r.stream, r.everything()
