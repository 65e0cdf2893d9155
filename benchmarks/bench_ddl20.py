"""The DDL oracle rule's cost (issue 15, ddl20), before and after in one run.

    .venv/bin/python benchmarks/bench_ddl20.py [ROUNDS]

An in-memory DuckDB with 300 customers and 50 other tables. ``guard.enrich.enrich`` of one
statement's intents with ``oracles_ddl.judged`` off (as before) and on, alternating, medians of
ROUNDS each: an honest ``CREATE INDEX`` on e-mails, a ``CREATE UNIQUE INDEX`` over a table of
e-mails only and one on ids; then the generated-column catalog query a write of sensitive
values into a constrained table now pays (``oracles_ddl.generated``).
"""
from __future__ import annotations

import statistics
import sys
import time

import duckdb

from jupyter_guard.analyze.sql import analyze_sql
from jupyter_guard.connections import from_object
from jupyter_guard.guard import enrich, oracles_ddl
from jupyter_guard.policy.load import default_path, load

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 200


def main() -> None:
    pol = load(default_path())
    raw = duckdb.connect()
    raw.execute("CREATE TABLE customers AS SELECT range AS id, (100000000 + range)::VARCHAR AS "
                "ssn, 'a' || range || '@x.com' AS email, 'P' AS city FROM range(300)")
    for n in range(50):
        raw.execute(f"CREATE TABLE t{n} (a INT, b VARCHAR)")
    c = from_object(raw, "con")
    for s in ("CREATE TEMP TABLE he AS SELECT id, email FROM customers",
              "CREATE TEMP TABLE hu AS SELECT email FROM customers"):
        enrich.enrich(analyze_sql(s).intents, c, policy=pol)
        raw.execute(s)
    real = oracles_ddl.judged
    for s in ("CREATE INDEX he_i ON he (email)", "CREATE UNIQUE INDEX hu_i ON hu (email)",
              "CREATE UNIQUE INDEX he_id ON he (id)"):
        ins = analyze_sql(s).intents
        off: list[float] = []
        on: list[float] = []
        for _ in range(ROUNDS):
            for flag, out in ((False, off), (True, on)):
                oracles_ddl.judged = real if flag else (lambda i, cat, k: ())  # type: ignore[assignment]
                t0 = time.perf_counter()
                enrich.enrich(ins, c, policy=pol)
                out.append(time.perf_counter() - t0)
        oracles_ddl.judged = real  # type: ignore[assignment]
        print(f"{s}: off {statistics.median(off) * 1e3:.3f} ms, "
              f"on {statistics.median(on) * 1e3:.3f} ms")
    cat = enrich.Catalog(c, pol)
    q: list[float] = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        oracles_ddl.generated("hu", cat)
        q.append(time.perf_counter() - t0)
    print(f"generated-column catalog query: {statistics.median(q) * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
