"""PostgreSQL through the guard vs raw drivers, in one run.

    .venv/bin/python benchmarks/bench_pg.py [--rounds 20] [--batch 10] [--big-batch 1] [--json]
        [--before DIR]

A throwaway PostgreSQL cluster (the tests' ``tests/pg/pgserver.py``) on 127.0.0.1. Two worker
processes, each with an in-process IPython shell: one without the guard (raw psycopg 3, raw
SQLAlchemy), one with ``%load_ext jupyter_guard`` (a guarded psycopg cursor, ``%%guarded_sql``
on the engine). The coordinator alternates batches between them (which goes first rotates), so a
burst of load on the shared machine hits both sides; figures are medians over all cells.
Point query: one row by primary key; big: a 100,000-row result; the same two shapes over the
sensitive ``email`` and ``ssn`` columns (10,000 rows), whose values each fetch remembers. Every figure builds a DataFrame
(raw SQLAlchemy through ``pd.read_sql``, as analysts use it).
"Bound point": the same query with ``%s`` and a new id every time (psycopg cursors only).
Point queries compare a column with a constant: their kept decision is keyed on the views'
fingerprint, read again on each run (``guard.decisions``; one catalog query, on the guard's own
connection for psycopg, awaited on the user's for asyncpg).
"... by row": the big results read row by row (``list(cur)``; psycopg cursors only).
psycopg2 and asyncpg (``fetch``) run the point, 100k-row and sensitive queries, raw and guarded.
``--before DIR`` adds a third worker, guarded, that imports jupyter_guard from DIR (an export of
an older commit: ``git archive <rev> jupyter_guard policies | tar -x -C DIR``), alternating with
the others: before/after figures from one run.
"300k sensitive rows" (fetchall, also "by stream"): past the 200,000 values of one piece-check
slice; also reports the peak of Python memory (tracemalloc, one untimed run) per route.
Targets: guarded <= raw + 1.5 ms on the point query, <= x1.1 on 100k rows.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIG_SENSITIVE = ("SELECT g AS id, 'user' || g || '@example.com' AS email "
                 "FROM generate_series(1, 300000) g")
QUERIES = {"point": "SELECT id, name, city FROM customers WHERE id = 4242",
           "bound point": "SELECT id, name, city FROM customers WHERE id = %s",
           "100k rows": "SELECT id, v FROM big",
           # sensitive columns: each fetch remembers their values (``connections.pg_results``)
           "sensitive point": "SELECT id, email, ssn FROM customers WHERE id = 4242",
           "10k sensitive rows": "SELECT id, email, ssn FROM customers",
           # the same two results read row by row (``for row in cur``): each row is one fetch
           "100k rows by row": "SELECT id, v FROM big",
           "10k sensitive rows by row": "SELECT id, email, ssn FROM customers",
           # past the 200,000 values a piece check looks at in one slice: every value is
           # remembered (sensitive by the column's name), the piece check runs slice by slice
           "300k sensitive rows": BIG_SENSITIVE,
           "300k sensitive rows by stream": BIG_SENSITIVE}
FETCH = "\ndf = pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])"
CELLS = {
    "psycopg": "cur.execute({q!r})" + FETCH,
    "psycopg-bound": "cur.execute({q!r}, (next(ids),))" + FETCH,
    "psycopg-iter": "cur.execute({q!r})" + FETCH.replace("cur.fetchall()", "list(cur)"),
    "psycopg-stream": "df = pd.DataFrame(list(cur.stream({q!r})), columns=['id', 'email'])",
    "sqlalchemy": "with engine.connect() as c:\n    df = pd.read_sql(sqlalchemy.text({q!r}), c)",
    "magic": "%%guarded_sql engine -o df\n{q}",
    "psycopg2": "cur2.execute({q!r})\n"
                "df = pd.DataFrame(cur2.fetchall(), columns=[d.name for d in cur2.description])",
    "asyncpg": "r = await ac.fetch({q!r})\n"
               "df = pd.DataFrame([tuple(x) for x in r], columns=list(r[0].keys()))",
}
DRIVERS = ("psycopg2", "asyncpg")
ANSWER = "@times "   # a worker's answer line starts with this; any other line is skipped
SIDES = {"raw": ("psycopg", "sqlalchemy", *DRIVERS), "guarded": ("psycopg", "magic", *DRIVERS),
         "before": ("psycopg", "magic", *DRIVERS)}
LABELS = {("raw", "psycopg"): "raw psycopg", ("raw", "sqlalchemy"): "raw SQLAlchemy",
          ("guarded", "psycopg"): "guarded psycopg cursor",
          ("guarded", "magic"): "%%guarded_sql (engine)",
          ("before", "psycopg"): "guarded psycopg cursor, before",
          ("before", "magic"): "%%guarded_sql (engine), before",
          **{(side, d): f"{'raw' if side == 'raw' else 'guarded'} {d}"
             f"{', before' if side == 'before' else ''}" for side in SIDES for d in DRIVERS}}


DRIVER_QUERIES = ("point", "100k rows", "sensitive point", "10k sensitive rows",
                  "300k sensitive rows")
BIG = ("100k rows", "10k sensitive rows", "300k sensitive rows")


def cell_for(name: str, cell: str) -> str | None:
    """The cell's code for a query, or None when that route does not run it."""
    if name == "bound point":
        return CELLS["psycopg-bound"] if cell == "psycopg" else None
    if name.endswith(" by row"):
        return CELLS["psycopg-iter"] if cell == "psycopg" else None
    if name.endswith(" by stream"):
        return CELLS["psycopg-stream"] if cell == "psycopg" else None
    if cell in DRIVERS and name not in DRIVER_QUERIES:
        return None
    return CELLS[cell]


def worker(side: str, dsn: str, url: str) -> None:
    """Reads ``<query> <cell> <n>`` lines; answers with the wall and CPU ms of each of n runs
    (JSON). CPU time (the worker process's, the guard's threads included) is what the guard
    adds itself; wall time adds the server's round trips and whatever else loads the machine."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    # The answers go on a private copy of stdout; whatever else the process prints (a warning
    # under load, the guard's one-line notes) goes to stderr and cannot break the protocol.
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    cfg = Config()
    cfg.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=cfg)
    if side != "raw":
        assert shell.run_cell("%load_ext jupyter_guard", silent=True).success
    assert shell.run_cell(f"import itertools, pandas as pd, psycopg, sqlalchemy\n"
                          f"ids = itertools.cycle(range(1, 10001))\n"
                          f"con = psycopg.connect({dsn!r}, autocommit=True)\ncur = con.cursor()\n"
                          f"engine = sqlalchemy.create_engine({url!r})\n"
                          f"import psycopg2, asyncpg\ncon2 = psycopg2.connect({dsn!r})\n"
                          f"con2.autocommit = True\ncur2 = con2.cursor()\n"
                          f"ac = await asyncpg.connect("
                          f"{url.replace('+psycopg', '')!r})", silent=True).success
    print("ready", file=answers, flush=True)
    for line in sys.stdin:
        name, cell, n = line.rsplit(" ", 2)
        code = str(cell_for(name, cell)).format(q=QUERIES[name])
        out = []
        for _ in range(int(n)):
            t, c = time.perf_counter(), time.process_time()
            r = shell.run_cell(code, silent=True)
            out.append(((time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000, 0.0))
            if not r.success:
                raise SystemExit(f"{side} {cell} failed: {r.error_in_exec or r.error_before_exec}")
            shell.run_cell("df = None", silent=True)   # the last result is freed outside the timing
            gc.collect()
        if name.startswith("300k"):   # one more run, untimed: its peak of Python memory (MB)
            tracemalloc.start()
            shell.run_cell(code, silent=True)
            out.append((-1.0, -1.0, tracemalloc.get_traced_memory()[1] / 2**20))
            tracemalloc.stop()
            shell.run_cell("df = None", silent=True)
            gc.collect()
        print(ANSWER + json.dumps(out), file=answers, flush=True)


def answer(p: Any, side: str, skipped: list[str]) -> list[list[float]]:
    """The worker's next answer; lines that are not one (anything else it printed) are kept in
    ``skipped`` and reported at the end instead of ending the run."""
    while True:
        line = p.stdout.readline()
        if not line:
            raise SystemExit(f"the {side} worker ended (exit code {p.wait(timeout=60)})")
        if line.startswith(ANSWER):
            try:
                return list(json.loads(line[len(ANSWER):]))
            except ValueError:
                pass
        skipped.append(line.rstrip("\n")[:200])


def measure(rounds: int, batch: int, big_batch: int, before: str = "",
            queries: tuple[str, ...] = tuple(QUERIES)) -> dict[str, dict[str, float]]:
    sys.path.insert(0, str(ROOT))
    from tests.pg.pgserver import start

    server = start()
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "JUPYTER_GUARD_AUDIT": str(Path(tempfile.mkdtemp()) / "audit.duckdb")}
    procs: dict[str, Any] = {}
    sides = [s for s in SIDES if s != "before" or before]
    try:
        for side in sides:
            path = f"{Path(before).resolve()}{os.pathsep}{ROOT}" if side == "before" else str(ROOT)
            procs[side] = subprocess.Popen(
                [sys.executable, __file__, "--worker", side, server.dsn(), server.url()],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                env={**env, "PYTHONPATH": path}, cwd=ROOT)
            while procs[side].stdout.readline().strip() != "ready":
                if procs[side].poll() is not None:
                    raise SystemExit(f"the {side} worker did not start")
        skipped: list[str] = []
        times: dict[tuple[str, str, str], list[tuple[float, float, float]]] = {}
        for r in range(rounds + 1):          # round 0 warms up and is not counted
            for name in queries:
                n = big_batch if name.startswith(BIG) else batch
                order = sides[r % len(sides):] + sides[:r % len(sides)]   # who goes first rotates
                for side in order:
                    for cell in SIDES[side]:
                        if cell_for(name, cell) is None:
                            continue
                        p = procs[side]
                        p.stdin.write(f"{name} {cell} {n}\n")
                        p.stdin.flush()
                        got = answer(p, side, skipped)
                        if r:
                            times.setdefault((name, side, cell), []).extend(got)
    finally:
        for p in procs.values():
            p.stdin.close()
            p.wait(timeout=60)
        server.stop()
    if skipped:
        print(f"skipped {len(skipped)} line(s) that were not answers: {skipped[:3]!r}",
              file=sys.stderr)
    res: dict[str, dict[str, float]] = {}
    for (name, side, cell), ts in times.items():
        timed = [t for t in ts if t[0] >= 0]
        res.setdefault(name, {})[LABELS[(side, cell)]] = statistics.median(w for w, _, _ in timed)
        res.setdefault(f"{name} (CPU)", {})[LABELS[(side, cell)]] = statistics.median(
            c for _, c, _ in timed)
        peaks = [m for w, _, m in ts if w < 0]
        if peaks:
            res.setdefault(f"{name} (peak MB)", {})[LABELS[(side, cell)]] = max(peaks)
    return res


def rows(res: dict[str, Any]) -> list[tuple[str, str, str, float, float]]:
    """(query, guarded route, raw baseline, guarded ms, raw ms)."""
    out = []
    for name, m in res.items():
        for tool, base in (("guarded psycopg cursor", "raw psycopg"),
                           ("guarded psycopg cursor, before", "raw psycopg"),
                           ("%%guarded_sql (engine)", "raw psycopg"),
                           ("%%guarded_sql (engine), before", "raw psycopg"),
                           ("%%guarded_sql (engine)", "raw SQLAlchemy"),
                           *((f"guarded {d}{b}", f"raw {d}") for d in DRIVERS
                             for b in ("", ", before"))):
            if tool in m and base in m:
                out.append((name, tool, base, m[tool], m[base]))
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(*sys.argv[2:5])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--big-batch", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--before", default="", help="a folder holding an older jupyter_guard")
    ap.add_argument("--queries", default=",".join(QUERIES),
                    help=f"comma-separated, of: {', '.join(QUERIES)}")
    a = ap.parse_args()
    res = measure(a.rounds, a.batch, a.big_batch, a.before,
                  tuple(q.strip() for q in a.queries.split(",")))
    if a.json:
        print(json.dumps(res))
        return
    for name, tool, base, ms, base_ms in rows(res):
        unit = "MB" if name.endswith("(peak MB)") else "ms"
        print(f"{name:21} {tool:32} {ms:8.2f} {unit}  {base:15} {base_ms:8.2f} {unit}  "
              f"{ms - base_ms:+.2f} {unit}  x{ms / base_ms:.2f}")


if __name__ == "__main__":
    main()
