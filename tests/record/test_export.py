from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
from ol_schema import validate_event
from record_helpers import cell

from jupyter_guard.record import AuditLog, connect_readonly, ingest, verify
from jupyter_guard.record.export import compact, export_openlineage, export_parquet
from jupyter_guard.record.report import report


@pytest.fixture
def store(audit: Path) -> Path:
    for user in ("ada", "bob"):
        log = AuditLog(audit, background=False)
        cell(log, 1, user=user)
        cell(log, 2, user=user, lineage=[("read", "column", "orders.total", False),
                                         ("write", "table", "summary", False),
                                         ("write", "column", "summary.total", False)])
        log.begin(user=user, actor="human", notebook="n", cell_id="c3", execution_count=3,
                  kind="shell", code="rm -rf data", decision="block", rule_id="destructive",
                  reason="recursive delete", status="blocked")
        log.close()
    return audit


def test_parquet_export_is_hive_partitioned_by_day_and_user(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    assert export_parquet(store, out) == 6
    day = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    for table in ("events", "lineage"):
        parts = sorted(str(p.parent.relative_to(out / table)) for p in (out / table).rglob("*.parquet"))
        assert parts == [f"day={day}/user=ada", f"day={day}/user=bob"]
    con = duckdb.connect()
    got = con.execute(f"SELECT \"user\", day::VARCHAR, count(*) FROM read_parquet("
                      f"'{out}/events/**/*.parquet', hive_partitioning = true) GROUP BY ALL "
                      "ORDER BY 1").fetchall()
    assert got == [("ada", day, 3), ("bob", day, 3)]
    assert export_parquet(store, out) == 6  # re-export replaces, never doubles
    assert con.execute(f"SELECT count(*) FROM '{out}/events/**/*.parquet'").fetchall() == [(6,)]


def test_openlineage_events_validate_and_keep_column_lineage(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "ol.jsonl"
    # two sessions (START, COMPLETE) and six cells (START, then COMPLETE or ABORT)
    assert export_openlineage(store, out) == 2 * 2 + 6 * 2
    events = [json.loads(line) for line in out.read_text().splitlines()]
    for event in events:
        validate_event(event)
    assert sorted(e["eventType"] for e in events) == ["ABORT"] * 2 + ["COMPLETE"] * 6 + \
        ["START"] * 8
    summaries = [o for e in events for o in e["outputs"] if o["name"] == "summary"]
    assert len(summaries) == 2                       # ada's and bob's cell 2
    summary = summaries[0]
    assert summary["facets"]["columnLineage"]["fields"] == {"total": {"inputFields": [
        {"namespace": "jupyter_guard", "name": "orders", "field": "total"}]}}
    first = next(e for e in events if e["eventType"] == "COMPLETE" and e["inputs"])
    assert [i["name"] for i in first["inputs"]] == ["customers"]
    assert first["outputs"][0]["namespace"].startswith("jupyter://")
    assert first["job"]["facets"]["sql"]["query"].startswith("SELECT ssn")
    assert first["job"]["name"] == "n.ipynb/c1"


def test_report_counts_blocked_and_allowed_by_day_user_rule(store: Path) -> None:
    day = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    assert report(store, user="ada") == [
        {"day": day, "user": "ada", "rule_id": "", "blocked": 0, "allowed": 2, "would_block": 0,
         "events": 2},
        {"day": day, "user": "ada", "rule_id": "destructive", "blocked": 1, "allowed": 0,
         "would_block": 0, "events": 1}]
    assert len(report(store)) == 4
    assert report(store, since=dt.date.today() + dt.timedelta(days=2)) == []


def test_compact_archives_old_events_and_verify_spans_the_archive(store: Path,
                                                                 tmp_path: Path) -> None:
    log = AuditLog(store, background=False)
    cell(log, 9)                              # a live session: its journal stays on disk
    ingest(store)
    archive = tmp_path / "archive"
    later = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(days=100)
    assert compact(store, 90, archive, now=later) == 7
    cell(log, 10)
    log.close()
    con = connect_readonly(store)
    assert con.execute("SELECT count(*), min(seq) FROM events").fetchall() == [(1, 2)]
    assert con.execute("SELECT count(*) FROM chain_anchors").fetchall() == [(3,)]
    con.close()
    result = verify(store)
    assert result.ok and result.checked == 8, result.problems
    (events,) = archive.glob("*.events.parquet")
    tampered = duckdb.connect()
    tampered.execute(f"COPY (SELECT * REPLACE ('mallory' AS user_name) FROM '{events}') "
                     f"TO '{events}' (FORMAT parquet)")
    assert verify(store).problems[0].what == "edited"
    for f in archive.iterdir():
        f.unlink()
    result = verify(store)                     # archives deleted by retention: chain from anchor
    assert result.ok and result.checked == 1 and result.notes
