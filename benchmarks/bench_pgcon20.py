"""The constraint rule's cost on PostgreSQL (issue 15, pgcon20), before and after in one run.

    .venv/bin/python benchmarks/bench_pgcon20.py [ROUNDS]

A throwaway PostgreSQL cluster (the tests' ``tests/pg/pgserver.py``) and one psycopg connection.
``guard.enrich.enrich`` of one ``INSERT … SELECT`` intent with the rule off (``oracles._ENGINES``
DuckDB only, as before) and on, alternating, medians of ROUNDS each:

- an honest ``INSERT … SELECT id, city`` into a temp table with a ``CHECK`` and a ``UNIQUE`` key
  (no sensitive value: the catalog is not read);
- SSNs into an unconstrained temp table (the catalog is read, nothing judges them: allowed);
- the catalog query alone (``oracles_pg.constraints``), and the honest INSERT itself, raw.
"""
from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

import psycopg

from jupyter_guard.analyze.sql_postgres import analyze_postgres
from jupyter_guard.connections.dbapi import DbapiConn
from jupyter_guard.guard import enrich, oracles, oracles_pg
from jupyter_guard.policy.load import default_path, load
from tests.pg.pgserver import start

HONEST = "INSERT INTO h SELECT id, city FROM customers WHERE city = 'Lyon' ON CONFLICT DO NOTHING"
SSNS = "INSERT INTO p SELECT id, ssn FROM customers"
OFF, ON = ("duckdb",), ("duckdb", "postgres", "sqlite")


def median_ms(f: Callable[[], object], rounds: int) -> float:
    ts = []
    for _ in range(rounds):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1e3


def main(rounds: int) -> None:
    server = start()
    try:
        raw = psycopg.connect(server.dsn("shop"), autocommit=True)
        raw.execute("CREATE TEMP TABLE h (id int UNIQUE, city text CHECK (city <> 'Rome'))")
        raw.execute("CREATE TEMP TABLE p (id int, x text)")
        policy, conn = load(default_path()), DbapiConn(raw, dialect="postgres")
        for label, text in (("honest INSERT into a constrained table", HONEST),
                            ("SSNs into an unconstrained table", SSNS)):
            (i,) = [x for x in analyze_postgres(text).intents if x.action == "sql.insert"]
            got: dict[tuple[str, ...], list[float]] = {OFF: [], ON: []}
            for n in range(rounds):
                for engines in ((OFF, ON) if n % 2 else (ON, OFF)):
                    oracles._ENGINES = engines
                    got[engines].append(median_ms(
                        lambda: enrich.enrich((i,), conn, policy=policy), 1))
            off, on = statistics.median(got[OFF]), statistics.median(got[ON])
            print(f"{label}: enrich {off:.3f} ms before, {on:.3f} ms after ({on - off:+.3f} ms)")
        oracles._ENGINES = ON
        print(f"catalog query alone: {median_ms(lambda: oracles_pg.constraints('h', conn.rows), rounds):.3f} ms")
        print(f"the honest INSERT, raw psycopg: {median_ms(lambda: raw.execute(HONEST), rounds):.3f} ms")
    finally:
        server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
