"""Audit store benchmark: cell latency, ingest throughput, copy cost, governance queries.

    .venv/bin/python benchmarks/bench_audit.py            # markdown table
    .venv/bin/python benchmarks/bench_audit.py --json     # machine-readable
    .venv/bin/python benchmarks/bench_audit.py --sizes 1000000   # skip the 10M store
    .venv/bin/python benchmarks/bench_audit.py --scale 100000,1000000 --baseline /path/to/main
        # the issue's table: ingest, blocked cell, report, verify, sizes at each audit size, for
        # this checkout and (--baseline) another one, on the same generated events
        # (add 10000000 to --scale for 10M: generating it takes several minutes)
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
    con.execute(f"""INSERT INTO events_live BY NAME SELECT
        md5(i::VARCHAR) AS event_id,
        TIMESTAMP '2025-01-01' + to_microseconds((i::HUGEINT * 2592000000000 // {n})::BIGINT) AS ts,
        'user' || (hash(i) % 50) AS user_name, 'human' AS actor, 's' || (i // 1000) AS session_id,
        i % 1000 + 1 AS seq, 'n.ipynb' AS notebook, 'c' || i AS cell_id, (i % 1000)::INT AS
        execution_count, 'sql' AS kind, 'SELECT 1' AS code, '' AS code_sha256,
        CASE WHEN hash(i) % 20 = 0 THEN 'block' ELSE 'allow' END AS decision,
        CASE WHEN hash(i) % 20 = 0 THEN 'bulk-changes' ELSE '' END AS rule_id, '' AS reason,
        CASE WHEN hash(i) % 20 = 0 THEN 'blocked' ELSE 'ok' END AS status, 1.0 AS duration_ms,
        '' AS prev_hash, '' AS hash FROM range({n}) t(i)""")
    con.execute(f"""INSERT INTO lineage_live SELECT md5(i::VARCHAR), 'read', kind, name, sens FROM
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


def scale(sizes: list[int], baseline: str, kernel_runs: int, verify_max: int,
          as_json: bool) -> None:
    """The issue's table, side by side: each checkout measured in a fresh process."""
    import subprocess
    import sys

    import audit_scale

    here = str(Path(__file__).resolve().parents[1])
    checkouts = [("this", here)] + ([("baseline", baseline)] if baseline else [])
    base = Path(os.environ.get("BENCH_DIR") or tempfile.gettempdir()) / "jg-audit-scale"
    results: dict[str, dict[str, Any]] = {}
    for n in sizes:
        gen = base / f"gen-{n}"
        results[str(n)] = {"generate_s": audit_scale.generate(gen, n)}
        for name, root in checkouts:
            with tempfile.TemporaryDirectory(dir=base) as work:
                arg = json.dumps({"gen": str(gen), "work": work, "kernel_runs": kernel_runs,
                                  "verify": name == "this" or n <= verify_max})
                env = {**os.environ, "PYTHONPATH": root}
                out = subprocess.run([sys.executable, str(Path(__file__).with_name(
                    "audit_scale.py")), arg], env=env, capture_output=True, text=True)
                lines = out.stdout.strip().splitlines()
                try:
                    results[str(n)][name] = json.loads(lines[-1])
                except (IndexError, ValueError):
                    results[str(n)][name] = {"error": (out.stderr or out.stdout)[-400:]}
    if as_json:
        print(json.dumps(results, indent=2))
        return
    print("| figure | size | " + " | ".join(n for n, _ in checkouts) + " |")
    print("|---|---|" + "---|" * len(checkouts))
    fmt = {
        "published file / segments / journals kept": lambda r: (
            f"{r['file_mb']:.0f} MB / {r['segments_mb']:.0f} MB / {r['journals_mb']:.0f} MB"),
        "ingest of 100 new events (median of 5)": lambda r: f"{r['ingest_100_s'] * 1e3:.0f} ms",
        "allowed cell, round trip (p50)": lambda r: f"{r['allowed_ms']:.0f} ms",
        "blocked cell, round trip (p50)": lambda r: f"{r['blocked_ms']:.0f} ms",
        "blocked minus allowed, same pair (p50)": lambda r: (
            f"{r['blocked_minus_allowed_ms']:+.1f} ms ({r['cell_runs']} pairs)"),
        "report (function, median of 3)": lambda r: f"{r['report_fn_s']:.2f} s",
        "`jupyter guard report` (fresh process, median of 3)": lambda r: (
            f"{r['report_cli_s']:.2f} s"),
        "`jupyter guard verify`, the store's first (segments sealed by their writer) time / "
        "peak memory": lambda r: (
            f"{r['verify_s']:.1f} s / {r['verify_mb']:.0f} MB (exit {r['verify_rc']})"),
        "`jupyter guard verify --full` (every row re-hashed) time / peak memory": lambda r: (
            f"{r['verify_full_s']:.1f} s / {r['verify_full_mb']:.0f} MB "
            f"(exit {r['verify_full_rc']})"),
        "sealing the loaded segments at write (all of them)": lambda r: f"{r['seal_s']:.1f} s",
    }
    for n in results:
        print(f"| generate {int(n):,} events (SQL) | {int(n):,} | "
              f"{results[n]['generate_s']:.0f} s (0 = reused) |" + " |" * (len(checkouts) - 1))
        for label, f in fmt.items():
            cells = []
            for name, _ in checkouts:
                r = results[n].get(name, {})
                try:
                    cells.append(f(r))
                except (KeyError, TypeError):
                    cells.append(r.get("error", "–")[-80:].replace("\n", " ") if "error" in r
                                 else "–")
            print(f"| {label} | {int(n):,} | " + " | ".join(cells) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="", help="audit sizes for the issue's table, e.g. "
                    "100000,1000000 (add 10000000 for 10M)")
    ap.add_argument("--baseline", default="", help="another checkout to measure side by side")
    ap.add_argument("--kernel-runs", type=int, default=100)
    ap.add_argument("--baseline-verify-max", type=int, default=100_000,
                    help="largest size at which the baseline's verify is run (it is slow)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--cells", type=int, default=5000)
    ap.add_argument("--ingest", type=int, default=100_000)
    ap.add_argument("--sizes", default="1000000,10000000")
    args = ap.parse_args()
    if args.scale:
        scale([int(x) for x in args.scale.split(",") if x], args.baseline, args.kernel_runs,
              args.baseline_verify_max, args.json)
        return
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
