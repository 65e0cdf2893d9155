"""PostgreSQL through the guard vs raw drivers, in one process and one run.

    .venv/bin/python benchmarks/bench_pg.py [--repeat 200] [--big-repeat 15] [--json]

A throwaway PostgreSQL cluster (the tests' ``tests/pg/pgserver.py``) on 127.0.0.1; an in-process
IPython shell runs every figure as a cell. The raw figures run first, before ``%load_ext
jupyter_guard`` (raw psycopg 3 and raw SQLAlchemy, each building a DataFrame); then the guard
loads and the same cells run through a guarded psycopg cursor and ``%%guarded_sql`` on the
engine. Point query: one row by primary key; big: a 100,000-row result. Every figure builds a
DataFrame (raw SQLAlchemy through ``pd.read_sql``, as analysts use it).
Targets: guarded <= raw + 1.5 ms on the point query, <= x1.1 on 100k rows.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUERIES = {"point": "SELECT id, name, city FROM customers WHERE id = 4242",
           "100k rows": "SELECT id, v FROM big"}
PSYCOPG = ("cur.execute({q!r})\n"
           "df = pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])")
SQLA = "with engine.connect() as c:\n    df = pd.read_sql(sqlalchemy.text({q!r}), c)"
MAGIC = "%%guarded_sql engine -o df\n{q}"


def timed(shell: Any, code: str, n: int) -> float:
    """Median wall time of ``n`` runs of a cell, in ms (a warm-up run first)."""
    shell.run_cell(code, silent=True)
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = shell.run_cell(code, silent=True)
        out.append((time.perf_counter() - t) * 1000)
        if not r.success:
            raise SystemExit(f"cell failed: {code[:60]}: {r.error_in_exec or r.error_before_exec}")
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--big-repeat", type=int, default=15)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    from tests.pg.pgserver import start

    os.environ["JUPYTER_GUARD_AUDIT"] = str(Path(tempfile.mkdtemp()) / "audit.duckdb")
    server = start()
    try:
        cfg = Config()
        cfg.HistoryManager.enabled = False
        shell = InteractiveShell.instance(config=cfg)
        setup = (f"import pandas as pd, psycopg, sqlalchemy\n"
                 f"con = psycopg.connect({server.dsn()!r}, autocommit=True)\ncur = con.cursor()\n"
                 f"engine = sqlalchemy.create_engine({server.url()!r})")
        assert shell.run_cell(setup).success
        res: dict[str, Any] = {}
        for name, q in QUERIES.items():
            n = a.repeat if name == "point" else a.big_repeat
            res[name] = {"raw psycopg": timed(shell, PSYCOPG.format(q=q), n),
                         "raw SQLAlchemy": timed(shell, SQLA.format(q=q), n)}
        assert shell.run_cell("%load_ext jupyter_guard").success
        for name, q in QUERIES.items():
            n = a.repeat if name == "point" else a.big_repeat
            res[name]["guarded psycopg cursor"] = timed(shell, PSYCOPG.format(q=q), n)
            res[name]["%%guarded_sql (engine)"] = timed(shell, MAGIC.format(q=q), n)
        shell.run_cell("con.close()\nengine.dispose()", silent=True)
    finally:
        server.stop()
    if a.json:
        print(json.dumps(res))
        return
    for name, tool, base, ms, base_ms in rows(res):
        print(f"{name:10} {tool:24} {ms:8.2f} ms  {base:15} {base_ms:8.2f} ms  "
              f"{ms - base_ms:+.2f} ms  x{ms / base_ms:.2f}")


def rows(res: dict[str, Any]) -> list[tuple[str, str, str, float, float]]:
    """(query, guarded route, raw baseline, guarded ms, raw ms)."""
    out = []
    for name, m in res.items():
        for tool, base in (("guarded psycopg cursor", "raw psycopg"),
                           ("%%guarded_sql (engine)", "raw psycopg"),
                           ("%%guarded_sql (engine)", "raw SQLAlchemy")):
            out.append((name, tool, base, m[tool], m[base]))
    return out


if __name__ == "__main__":
    main()
