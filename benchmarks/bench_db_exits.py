"""Cost of the database-file exits (``hooks/db_exits.py``): statements that write rows into a
scratch DuckDB file (judged by their data) and ``COPY … TO`` (judged by the rows it writes),
each run as cell code in an IPython shell with the guard loaded, against the same code without
it. The guarded side first knows 10,000 values of a sensitive column, so every scan runs.

- ``insert_warehouse``: one ``INSERT … VALUES (?, ?)`` into a table of a file that holds
  sensitive columns (not foreign: only the statement's classification is added);
- ``ctas_scratch_10k``: ``CREATE TABLE … AS SELECT id, city FROM frame`` (10,000 rows) into a
  new file (its source query is run once more and scanned);
- ``executemany_scratch_100``: 100 bound rows into that file (the values are scanned);
- ``copy_100k``: ``COPY (SELECT id, city …) TO 'x.csv'`` of 100,000 rows (scanned once more).

Each round starts two fresh processes, one with and one without the guard, alternating; the
figures are medians over the rounds.

    .venv/bin/python benchmarks/bench_db_exits.py [--json] [--repeat 5]
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile

from alternate import medians

WAREHOUSE = """
import duckdb
w = duckdb.connect('wh.duckdb')
w.execute("CREATE TABLE customers AS SELECT range AS id, 'user' || range || '@example.com' AS "
          "email, 'Paris' AS city FROM range(100000)")
w.execute("CREATE TABLE t (id BIGINT, city VARCHAR)")
w.close()
"""
SETUP = """
import duckdb, time, pandas as pd
w = duckdb.connect('wh.duckdb')
o = duckdb.connect('scratch.duckdb')
o.execute("CREATE TABLE m (id BIGINT, city VARCHAR)")
frame = pd.DataFrame({'id': range(10_000), 'city': ['Paris', 'Lyon'] * 5_000})
rows = [[i, 'Nice'] for i in range(100)]
"""

WORKLOADS = {
    "insert_warehouse": "w.execute('INSERT INTO t VALUES (?, ?)', [1, 'Paris'])",
    "ctas_scratch_10k": "o.execute(f'CREATE TABLE c{_} AS SELECT id, city FROM frame')",
    "executemany_scratch_100": "o.executemany('INSERT INTO m VALUES (?, ?)', rows)",
    "copy_100k": "w.execute(\"COPY (SELECT id, city FROM customers) TO 'x.csv'\")",
}
LOOPS = 8


def child(guarded: bool) -> None:
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    d = tempfile.mkdtemp()
    os.chdir(d)
    os.environ["JUPYTER_GUARD_AUDIT"] = os.path.join(d, "audit.duckdb")
    cfg = Config()
    cfg.HistoryManager.enabled = False
    ip = InteractiveShell.instance(config=cfg)
    assert ip.run_cell(WAREHOUSE).success   # made before the guard, as a warehouse is
    if guarded:
        assert ip.run_cell("%load_ext jupyter_guard").success
    res = ip.run_cell(SETUP)
    assert res.success, res.error_in_exec
    if guarded:
        from jupyter_guard.hooks import exits

        exits.remember(f"user{i}@example.com" for i in range(10_000))
    out = {}
    for name, code in WORKLOADS.items():
        timed = (f"_b = []\nfor _ in range({LOOPS}):\n    _t = time.perf_counter()\n"
                 + "\n".join("    " + line for line in code.splitlines())
                 + "\n    _b.append(time.perf_counter() - _t)\n"
                 "BEST = sorted(_b[2:])[len(_b[2:]) // 2]")
        res = ip.run_cell(timed)
        assert res.success, (name, res.error_in_exec)
        out[name] = ip.user_ns["BEST"]
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--repeat", type=int, default=5, help="rounds (two processes each)")
    ap.add_argument("--child", choices=["with", "without"], help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.child == "with")
        return
    env = dict(os.environ)
    env.pop("JUPYTER_GUARD_POLICY", None)
    med = medians(__file__, WORKLOADS, a.repeat, env)
    rows = {k: {"plain_ms": med[False][k] * 1e3, "guarded_ms": med[True][k] * 1e3,
                "ratio": med[True][k] / med[False][k]} for k in WORKLOADS}
    if a.json:
        print(json.dumps(rows, indent=2))
    else:
        print("| workload | plain (ms) | guarded (ms) | ratio |\n|---|---:|---:|---:|")
        for k, r in rows.items():
            print(f"| {k} | {r['plain_ms']:.3f} | {r['guarded_ms']:.3f} | x{r['ratio']:.2f} |")


if __name__ == "__main__":
    main()
