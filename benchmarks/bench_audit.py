"""Audit store benchmark: cell latency, ingest throughput, copy cost, governance queries.

    .venv/bin/python benchmarks/bench_audit.py            # markdown table
    .venv/bin/python benchmarks/bench_audit.py --json     # machine-readable
    .venv/bin/python benchmarks/bench_audit.py --sizes 1000000   # skip the 10M store
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from jupyter_guard.record import AuditLog, ingest
from jupyter_guard.record.schema import ensure_schema


def pct(samples: list[float], p: float) -> float:
    return statistics.quantiles(samples, n=100)[int(p) - 1] if len(samples) > 1 else samples[0]


def cell_latency(folder: Path, n: int, background: bool) -> dict[str, Any]:
    log = AuditLog(folder / f"lat-{background}.duckdb", background=background)
    lineage = [("read", "table", "customers", False), ("read", "column", "customers.ssn", True)]
    samples = []
    for i in range(n):
        t = time.perf_counter()
        e = log.begin(user="ada", actor="human", notebook="n.ipynb", cell_id=f"c{i}",
                      execution_count=i, kind="sql", code="SELECT ssn FROM customers",
                      decision="allow", rule_id="", reason="no rule matched", lineage=lineage)
        log.finish(e, status="ok", duration_ms=1.0, rows_affected=1)
        samples.append((time.perf_counter() - t) * 1e6)
        if background and i % 50 == 0:
            time.sleep(0.001)             # a kernel between cells; lets the ingester run
    log.close()
    return {"p50_us": pct(samples, 50), "p99_us": pct(samples, 99)}


def ingest_rate(folder: Path, n: int) -> dict[str, Any]:
    path = folder / "rate.duckdb"
    log = AuditLog(path, background=False)
    for i in range(n):
        e = log.begin(user="ada", actor="human", notebook="n.ipynb", cell_id=f"c{i}",
                      execution_count=i, kind="python", code=f"x = {i}", decision="allow",
                      rule_id="", reason="", lineage=[("write", "variable", "x", False)])
        log.finish(e, status="ok", duration_ms=1.0)
    t = time.perf_counter()
    got = ingest(path)
    took = time.perf_counter() - t
    log.close()
    return {"events": got, "seconds": took, "events_per_s": got / took}


def policy_check(folder: Path, n: int = 100_000) -> dict[str, Any]:
    """Before each cell the kernel stats its policy files (a changed one is reloaded)."""
    from jupyter_guard.guard.service import Guard

    pol = folder / "policy.yaml"
    pol.write_text("extends: default\n")
    g = Guard.create(env={"JUPYTER_GUARD_POLICY": str(pol),
                          "JUPYTER_GUARD_AUDIT": str(folder / "p.duckdb")})
    t = time.perf_counter()
    for _ in range(n):
        g.policy_changed()
    return {"files": len(g.policy_stamp), "us_per_cell": (time.perf_counter() - t) / n * 1e6}


def synthetic(path: Path, n: int) -> None:
    """n events over 30 days, 50 users, 3 lineage rows each (one column of 200, 5% blocked)."""
    con = duckdb.connect(str(path))
    ensure_schema(con)
    con.execute(f"""INSERT INTO events BY NAME SELECT
        md5(i::VARCHAR) AS event_id,
        TIMESTAMP '2025-01-01' + to_microseconds((i::HUGEINT * 2592000000000 // {n})::BIGINT) AS ts,
        'user' || (hash(i) % 50) AS user_name, 'human' AS actor, 's' || (i // 1000) AS session_id,
        i % 1000 + 1 AS seq, 'n.ipynb' AS notebook, 'c' || i AS cell_id, (i % 1000)::INT AS
        execution_count, 'sql' AS kind, 'SELECT 1' AS code, '' AS code_sha256,
        CASE WHEN hash(i) % 20 = 0 THEN 'block' ELSE 'allow' END AS decision,
        CASE WHEN hash(i) % 20 = 0 THEN 'bulk-changes' ELSE '' END AS rule_id, '' AS reason,
        CASE WHEN hash(i) % 20 = 0 THEN 'blocked' ELSE 'ok' END AS status, 1.0 AS duration_ms,
        '' AS prev_hash, '' AS hash FROM range({n}) t(i)""")
    con.execute(f"""INSERT INTO lineage SELECT md5(i::VARCHAR), 'read', kind, name, sens FROM
        range({n}) t(i), LATERAL (VALUES
            ('table', 'table' || (i % 40), false),
            ('column', 'table' || (i % 40) || '.col' || (hash(i) % 200), hash(i) % 200 < 10),
            ('variable', 'df' || (i % 7), false)) v(kind, name, sens)""")
    con.close()


QUERIES = {
    "blocked per user per day, 30 days": "SELECT * FROM blocked_by_user_day "
                                         "WHERE day >= DATE '2025-01-01' ORDER BY day, user_name",
    "all access to one sensitive column": "SELECT ts, user_name, notebook, cell_id, direction "
                                          "FROM sensitive_access WHERE name = 'table3.col3'",
}


def governance(folder: Path, n: int) -> dict[str, Any]:
    path = folder / f"synthetic-{n}.duckdb"
    t = time.perf_counter()
    synthetic(path, n)
    out: dict[str, Any] = {"generate_s": time.perf_counter() - t,
                           "file_mb": path.stat().st_size / 2**20}
    con = duckdb.connect(str(path), read_only=True)
    for name, sql in QUERIES.items():
        con.execute(sql).fetchall()                  # warm
        runs = []
        for _ in range(5):
            t = time.perf_counter()
            rows = con.execute(sql).fetchall()
            runs.append((time.perf_counter() - t) * 1e3)
        out[name] = {"ms": statistics.median(runs), "rows": len(rows)}
    con.close()
    log = AuditLog(path, background=False)           # one cell arriving into a big store
    e = log.begin(user="ada", actor="human", notebook="n", cell_id="c", execution_count=1,
                  kind="python", code="x = 1", decision="allow", rule_id="", reason="")
    log.finish(e, status="ok", duration_ms=1.0)
    t = time.perf_counter()
    ingest(path)
    out["ingest_one_cell_s"] = time.perf_counter() - t
    log.close()
    path.unlink()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--cells", type=int, default=5000)
    ap.add_argument("--ingest", type=int, default=100_000)
    ap.add_argument("--sizes", default="1000000,10000000")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        folder = Path(tmp)
        res: dict[str, Any] = {
            "cell_journal_only": cell_latency(folder, args.cells, background=False),
            "cell_with_ingester": cell_latency(folder, args.cells, background=True),
            "ingest": ingest_rate(folder, args.ingest),
            "policy_check": policy_check(folder),
            "governance": {n: governance(folder, int(n)) for n in args.sizes.split(",") if n},
        }
    if args.json:
        print(json.dumps(res, indent=2))
        return
    rows = [("begin+finish per cell, journal only", "p50 {p50_us:.0f} µs, p99 {p99_us:.0f} µs"
             .format(**res["cell_journal_only"])),
            ("begin+finish per cell, ingester thread running",
             "p50 {p50_us:.0f} µs, p99 {p99_us:.0f} µs".format(**res["cell_with_ingester"])),
            ("events/s into the store (one ingest of {events:,})".format(**res["ingest"]),
             "{events_per_s:,.0f}/s ({seconds:.2f} s)".format(**res["ingest"])),
            ("policy file change check per cell ({files} files)".format(**res["policy_check"]),
             "{us_per_cell:.1f} µs".format(**res["policy_check"]))]
    for n, g in res["governance"].items():
        rows.append((f"{int(n):,} events: file size / generate", f"{g['file_mb']:.0f} MB / "
                     f"{g['generate_s']:.1f} s"))
        for q in QUERIES:
            rows.append((f"{int(n):,} events: {q}", f"{g[q]['ms']:.1f} ms ({g[q]['rows']} rows)"))
        rows.append((f"{int(n):,} events: ingest one cell (copy + apply + replace)",
                     f"{g['ingest_one_cell_s'] * 1e3:.0f} ms"))
    print("| measure | result |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")


if __name__ == "__main__":
    main()
