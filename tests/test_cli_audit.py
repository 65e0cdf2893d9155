"""The governance commands on a real audit file written by a real kernel session's AuditLog."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb

from jupyter_guard.record import AuditLog


def guard(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JUPYTER_GUARD_AUDIT": str(path)}
    return subprocess.run([sys.executable, "-m", "jupyter_guard.cli", *args], capture_output=True,
                          text=True, timeout=120, env=env)


def session(path: Path) -> None:
    log = AuditLog(path, background=False)
    for n, (decision, rule, status) in enumerate([("allow", "", "ok"), ("block", "destructive-ddl", "blocked"),
                                                  ("allow", "", "ok")]):
        eid = log.begin(user="alice", actor="human", notebook="n.ipynb", cell_id=f"c{n}", execution_count=n,
                        kind="sql", code="SELECT email FROM customers", decision=decision, rule_id=rule,
                        reason="r", status="running" if status == "ok" else status,
                        lineage=[("read", "table", "customers", False), ("read", "column", "customers.email", True)])
        if status == "ok":
            log.finish(eid, status="ok", duration_ms=1.0)
    log.close()


def test_report_verify_export(tmp_path: Path):
    path = tmp_path / "audit.duckdb"
    session(path)
    rep = guard(path, "report", "--format", "json")
    assert rep.returncode == 0, rep.stderr
    rows = json.loads(rep.stdout)
    assert sum(r["blocked"] for r in rows) == 1 and sum(r["allowed"] for r in rows) == 2
    assert guard(path, "report").returncode == 0
    assert "alice" in guard(path, "report", "--format", "csv").stdout
    ok = guard(path, "verify")
    assert ok.returncode == 0 and "OK" in ok.stdout
    out = tmp_path / "parquet"
    assert guard(path, "export", "--parquet", str(out)).returncode == 0
    files = list(out.glob("events/day=*/user=alice/*.parquet"))
    assert files and list(out.glob("lineage/day=*/user=alice/*.parquet"))
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{out}/events/*/*/*.parquet', "
                      "hive_partitioning = true) WHERE user = 'alice'").fetchall() == [(3,)]
    ol = tmp_path / "ol.jsonl"
    assert guard(path, "export", "--openlineage", str(ol)).returncode == 0
    assert all(json.loads(line)["eventType"] for line in ol.read_text().splitlines())


def test_verify_names_an_edited_row(tmp_path: Path):
    path = tmp_path / "audit.duckdb"
    session(path)
    assert guard(path, "verify").returncode == 0
    con = duckdb.connect(str(path))
    con.execute("UPDATE events_live SET decision = 'allow' WHERE rule_id = 'destructive-ddl'")
    con.close()
    bad = guard(path, "verify")
    assert bad.returncode == 1
    assert "edited" in bad.stderr


def test_unreadable_audit_file_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "audit.duckdb"
    path.write_bytes(b"this is not a duckdb file" * 100)
    r = guard(path, "report")
    assert r.returncode == 1
    assert str(path) in r.stderr and "Traceback" not in r.stderr
