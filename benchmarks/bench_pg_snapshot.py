"""The PostgreSQL effect check's snapshot (taken twice per measured statement), this tree's
against an older commit's, on the tests' ``shop`` database with N extra plpgsql functions.

    .venv/bin/python benchmarks/bench_pg_snapshot.py [--functions 2000] [--rounds 40]
        [--before main]

A throwaway cluster (``tests/pg/pgserver.py``); ``--before`` names a commit whose
``SNAPSHOT`` (in ``connections/pg_effect.py`` or ``connections/pg_snapshot_sql.py``) is read
with ``git show``. The two queries alternate on one connection; figures are medians in ms.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def older(rev: str) -> str:
    """The SNAPSHOT text of ``rev``: its modules executed in a namespace of their own."""
    def show(path: str) -> str:
        r = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path}"],
                           capture_output=True, text=True, check=False)
        return r.stdout

    from jupyter_guard.guard.owned import PG_WHERE

    ns: dict[str, object] = {"PG_WHERE": PG_WHERE}
    sql = show("jupyter_guard/connections/pg_snapshot_sql.py")
    exec(sql.replace("from jupyter_guard.guard.owned import PG_WHERE", ""), ns)
    if "SNAPSHOT" not in ns:   # older layout: the query was written in pg_effect.py
        effect = show("jupyter_guard/connections/pg_effect.py")
        start, end = effect.index('SNAPSHOT = """'), effect.index("# Statements PostgreSQL")
        exec(effect[start:end], ns)
    return str(ns["SNAPSHOT"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--functions", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--before", default="main")
    a = ap.parse_args()

    import psycopg

    from jupyter_guard.connections.pg_snapshot_sql import SNAPSHOT
    from tests.pg.pgserver import start

    pg = start()
    try:
        name = pg.fresh()
        if a.functions:
            pg.query(f"DO $$ BEGIN FOR i IN 1..{a.functions} LOOP EXECUTE format('CREATE "
                     "FUNCTION f%s(a int) RETURNS int LANGUAGE plpgsql AS $b$ BEGIN RETURN a + %s; "
                     "END $b$', i, i); END LOOP; END $$", db=name)
        queries = {a.before: older(a.before), "this tree": SNAPSHOT}
        times: dict[str, list[float]] = {k: [] for k in queries}
        with psycopg.connect(pg.dsn(name), autocommit=True) as con:
            for q in queries.values():
                for _ in range(5):
                    con.execute(q).fetchall()
            for _ in range(a.rounds):
                for label, q in queries.items():
                    t = time.perf_counter()
                    con.execute(q).fetchall()
                    times[label].append((time.perf_counter() - t) * 1000)
        for label, ts in times.items():
            print(f"{label}: snapshot with {a.functions} extra functions, median "
                  f"{statistics.median(ts):.2f} ms")
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
