"""Governance tools on big audit files: ``jupyter guard replay`` throughput and the OpenLineage
export time.

    .venv/bin/python benchmarks/bench_governance.py [--json] [--replay N] [--openlineage N]

Replay: N recorded decisions over 30 days, made from the facts real cells record (SELECTs with
sensitive columns, DELETEs with row estimates, DataFrame exports, recursive deletes, agent
INSERTs, plain Python), replayed under a stricter policy. Two figures: every decision's facts
distinct (the row estimate varies per cell, so no decision is reused: the worst case) and as a
month of notebook work repeats itself (200 distinct cells). OpenLineage: the export of the
synthetic store of ``bench_audit`` (N events, 3 lineage rows each) to a JSON-lines file.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_audit import synthetic

from jupyter_guard.guard.lineage import intent_doc
from jupyter_guard.model import Intent
from jupyter_guard.policy.load import build
from jupyter_guard.record.export import export_openlineage
from jupyter_guard.record.replay import replay
from jupyter_guard.record.schema import ensure_schema

TEMPLATES = [
    [Intent("sql.select", "table", "customers", ("customers.ssn", "customers.id"),
            ("customers",))],
    [Intent("sql.delete", "table", "orders", where="filtered", estimated_rows=1)],
    [Intent("df.export", "file", "out.csv", ("id", "tax_id"), detail="to_csv"),
     Intent("file.truncate", "path", "out.csv")],
    [Intent("file.delete", "path", "data", recursive=True)],
    [Intent("sql.insert", "table", "orders")],
    [],
]
STRICT = {"version": 1, "extends": "default", "max_affected_rows": 100,
          "rules": [{"id": "no-agent-writes", "match": {"actors": ["agent:*"],
                                                          "sql": ["insert"]}, "action": "block"}]}


def recorded_month(path: Path, n: int, distinct: int | None) -> None:
    """n decisions; facts unique per decision (distinct=None) or drawn from ``distinct`` cells."""
    con = duckdb.connect(str(path))
    ensure_schema(con)
    facts = []
    for k in range(n if distinct is None else distinct):
        intents = TEMPLATES[k % len(TEMPLATES)]
        docs = [intent_doc(i) for i in intents]
        for d in docs:
            if d["action"] == "sql.delete":
                d["estimated_rows"] = k % 2000
        if not docs and distinct is None:
            docs = [intent_doc(Intent("sql.select", "table", f"t{k}", reads=(f"t{k}",)))]
        actor = "agent:bot" if k % 7 == 0 else "human"
        facts.append(json.dumps({"v": 1, "intents": docs, "connection": "con", "groups": [],
                                 "actor": actor, "user": f"user{k % 50}",
                                 "session_tables": [], "sensitive_columns": ["tax_id"],
                                 "runtime_checks": True, "guard_files": [],
                                 "cwd": f"/w/{k}"})   # every decision's facts differ
                     if docs else None)
    con.execute("CREATE TEMP TABLE f AS SELECT unnest(?::VARCHAR[]) AS facts, "
                "generate_subscripts(?::VARCHAR[], 1) - 1 AS k", [facts, facts])
    m = len(facts)
    con.execute(f"""INSERT INTO events_live BY NAME SELECT md5(i::VARCHAR) AS event_id,
        TIMESTAMP '2026-01-01' + to_microseconds((i::HUGEINT * 2592000000000 // {n})::BIGINT)
        AS ts, 'user' || (i % {m} % 50) AS user_name,
        CASE WHEN i % {m} % 7 = 0 THEN 'agent:bot' ELSE 'human' END AS actor,
        's' || (i // 1000) AS session_id, i % 1000 + 1 AS seq, 'python' AS kind, 'x' AS code,
        'allow' AS decision, '' AS rule_id, 'ok' AS status, f.facts::JSON AS facts
        FROM range({n}) t(i) JOIN f ON f.k = i % {m}""")
    con.close()


def bench_replay(folder: Path, n: int, distinct: int | None) -> dict[str, Any]:
    path = folder / f"replay-{n}-{distinct}.duckdb"
    recorded_month(path, n, distinct)
    policy = build(STRICT, {}, "strict.yaml")
    t, cpu = time.perf_counter(), time.process_time()
    result = replay(path, policy)
    took, cpu = time.perf_counter() - t, time.process_time() - cpu
    path.unlink()
    return {"decisions": result.replayed, "seconds": took, "per_s": result.replayed / took,
            "cpu_seconds": cpu, "per_cpu_s": result.replayed / cpu}


def bench_openlineage(folder: Path, n: int) -> dict[str, Any]:
    path = folder / f"ol-{n}.duckdb"
    synthetic(path, n)
    out = folder / "ol.jsonl"
    t, cpu = time.perf_counter(), time.process_time()
    count = export_openlineage(path, out)
    took, cpu = time.perf_counter() - t, time.process_time() - cpu
    size = out.stat().st_size
    path.unlink()
    out.unlink()
    return {"audit_events": n, "run_events": count, "seconds": took, "cpu_seconds": cpu,
            "mb": size / 2**20}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--replay", type=int, default=100_000)
    ap.add_argument("--openlineage", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        folder = Path(tmp)
        res = {"replay_distinct": bench_replay(folder, args.replay, None),
               "replay_month": bench_replay(folder, args.replay, 200),
               "openlineage": bench_openlineage(folder, args.openlineage)}
    if args.json:
        print(json.dumps(res, indent=2))
        return
    for key, r in res.items():
        print(key, r)


if __name__ == "__main__":
    main()
