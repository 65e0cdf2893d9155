"""sqlite3 statements: raw vs guarded (and an older guard with ``--before``), per statement.

Each side is a worker process with an in-process IPython shell (the guard loaded with
``%load_ext``, or not) on its own copy of a 5,000-row SQLite file. A cell runs 300 statements of
one shape in a loop; the figure is the median CPU time per statement over ``--repeat`` cells
in each of ``--rounds`` workers per side, the sides alternating.
Shapes: a one-row ``UPDATE`` with bound values (counted toward the cell's ``max_affected_rows``),
a one-row ``INSERT``, a point ``SELECT`` fetched, and an ``executemany`` of a 1,000-row
``INSERT`` (per call). Targets: a cached point statement within raw + 0.3 ms, ``executemany``
within 1.5 times raw.

    .venv/bin/python benchmarks/bench_sqlite.py [--repeat 5] [--rounds 3] [--before DIR] [--json]

``--before DIR``: a folder holding an older ``jupyter_guard`` (``git archive <rev> jupyter_guard
policies | tar -x -C DIR``).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHAPES = {   # name -> (statement run in a loop of ``i``, loops per cell)
    "update": ("s.execute('UPDATE t SET v = ? WHERE id = ?', ('y{rep}', i))", 300),
    "insert": ("s.execute('INSERT INTO t VALUES (?, ?)', (100000 + {rep} * 1000 + i, 'n'))", 300),
    "select": ("s.execute('SELECT id, v FROM t WHERE id = ?', (i,)).fetchall()", 300),
    "many1000": ("s.executemany('INSERT INTO t VALUES (?, ?)', "
                 "[(10**6 + {rep} * 10**5 + i * 1000 + k, 'n') for k in range(1000)])", 20),
}
WORKER = r'''
import json, os, sqlite3, sys, tempfile, time
root, repeat = sys.argv[1], int(sys.argv[2])
shapes = json.loads(sys.argv[3])
if root != "raw":
    sys.path.insert(0, root)
d = tempfile.mkdtemp()
os.chdir(d)
db = sqlite3.connect("s.db")
db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
db.executemany("INSERT INTO t VALUES (?, 'x')", [(i,) for i in range(5000)])
db.commit()
db.close()
os.environ["JUPYTER_GUARD_AUDIT"] = os.path.join(d, "audit.duckdb")
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
if root != "raw":
    ip.run_cell("%load_ext jupyter_guard")
ip.run_cell("import sqlite3\ns = sqlite3.connect('s.db')")
out = {}
for name, (stmt, loops) in shapes.items():
    times = []
    for rep in range(repeat + 1):
        cell = f"for i in range({loops}):\n    " + stmt.format(rep=rep) + "\ns.commit()"
        t = time.process_time()
        r = ip.run_cell(cell, store_history=False)
        if not r.success:
            raise SystemExit(f"{name}: {r.error_in_exec or r.error_before_exec}")
        if rep:   # the first cell warms caches
            times.append((time.process_time() - t) / loops * 1000)
    out[name] = times
print(json.dumps(out))
'''


def run(root: str, repeat: int) -> dict[str, list[float]]:
    env = {**os.environ, "PYTHONPATH": "" if root == "raw" else root}
    got = subprocess.run([sys.executable, "-c", WORKER, root, str(repeat), json.dumps(SHAPES)],
                         capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())
    if got.returncode:
        raise SystemExit(got.stderr[-2000:])
    return json.loads(got.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--before", default="")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    sides = {"raw": "raw", "guarded": str(ROOT)}
    if a.before:
        sides["before"] = str(Path(a.before).resolve())
    res: dict[str, dict[str, list[float]]] = {side: {s: [] for s in SHAPES} for side in sides}
    for n in range(a.rounds):   # sides alternate, the first one rotating: load hits them all
        order = list(sides.items())
        for side, root in order[n % len(order):] + order[:n % len(order)]:
            for shape, times in run(root, a.repeat).items():
                res[side][shape] += times
    table = {shape: {side: statistics.median(res[side][shape]) for side in sides}
             for shape in SHAPES}
    if a.json:
        print(json.dumps(table, indent=2))
        return
    print(f"{'statement':10}" + "".join(f"{s + ' ms':>14}" for s in sides))
    for shape, row in table.items():
        print(f"{shape:10}" + "".join(f"{row[s]:14.3f}" for s in sides))


if __name__ == "__main__":
    main()
