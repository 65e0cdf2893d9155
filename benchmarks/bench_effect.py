"""Guarded DuckDB statements against raw DuckDB in the same run: a point SELECT, a 5-row UPDATE
and a 1,000-row DELETE through the guarded connection (static check + effect check), each
interleaved with the same statement on an unguarded connection. Medians in ms. ``--owned``: the
session owns a table first, so every judged target is placed (``guard/owned.py``: the
connection's current schema, tables and databases are read) and the effect check reads where the
connection's databases live.

    python benchmarks/bench_effect.py [--repeat N] [--json] [--owned]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import duckdb

from jupyter_guard.guard.effect import state
from jupyter_guard.guard.service import Guard
from jupyter_guard.hooks.sinks import GuardedConnection

SETUP = ("CREATE TABLE orders AS SELECT range AS id, range % 97 AS g, range * 1.5 AS total "
         "FROM range(50000)")
CASES = {
    "point_select": ("SELECT * FROM orders WHERE id = 4242", None),
    "update_5_rows": ("UPDATE orders SET total = total + 1 WHERE id BETWEEN 100 AND 104", None),
    "delete_1000_rows": ("DELETE FROM orders WHERE id >= 20000 AND id < 21000",
                         "INSERT INTO orders SELECT range, range % 97, range * 1.5 "
                         "FROM range(20000, 21000)"),
}


def timed(con, sql):
    t = time.perf_counter()
    con.execute(sql).fetchall()
    return (time.perf_counter() - t) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--owned", action="store_true")
    a = ap.parse_args()
    raw, base = duckdb.connect(), duckdb.connect()
    raw.execute(SETUP)
    base.execute(SETUP)
    guard = Guard.create()
    guard.plug(runtime_sql=True)
    guarded = GuardedConnection(raw, guard)
    if a.owned:
        guarded.execute("CREATE TABLE scratch AS SELECT 1 AS x")
        assert guard.session_tables, "the session owns the table it made"
    out = {}
    for name, (sql, undo) in CASES.items():
        g, r = [], []
        for n in range(a.repeat):
            order = ((guarded, g), (base, r)) if n % 2 else ((base, r), (guarded, g))
            state(guard).cell.clear()   # a new cell each round (the kernel does this per cell)
            for con, acc in order:
                acc.append(timed(con, sql))
                if undo:
                    (raw if con is guarded else base).execute(undo)
        gm, rm = statistics.median(g), statistics.median(r)
        out[name] = {"raw_ms": round(rm, 3), "guarded_ms": round(gm, 3),
                     "overhead_ms": round(gm - rm, 3), "ratio": round(gm / rm, 2)}
    if a.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:18} raw {v['raw_ms']:7.3f} ms  guarded {v['guarded_ms']:7.3f} ms  "
                  f"+{v['overhead_ms']:.3f} ms  x{v['ratio']}")


if __name__ == "__main__":
    main()
