"""OpenLineage export on audit files from real kernels: sessions are runs, cells child runs,
every event valid against the specification's schemas and accepted by openlineage-python's
client; the export never crashes, whatever the audit holds (fuzzed from the scripted session)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ol_schema import validate_event

from jupyter_guard.record.export import export_openlineage, openlineage_events, send_openlineage

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def events(session_audit: Path) -> list[dict[str, Any]]:
    return list(openlineage_events(session_audit))


def test_every_event_validates_against_the_openlineage_schemas(events: list[dict[str, Any]]
                                                               ) -> None:
    assert len(events) > 40
    for event in events:
        validate_event(event)


def test_sessions_are_runs_and_cells_child_runs_with_start_then_end(
        events: list[dict[str, Any]]) -> None:
    sessions = {e["run"]["runId"]: e for e in events if "parent" not in e["run"].get("facets", {})}
    cells: dict[str, list[str]] = {}
    for e in events:
        parent = e["run"].get("facets", {}).get("parent")
        if parent:
            assert parent["run"]["runId"] in sessions          # the session run exists
            cells.setdefault(e["run"]["runId"], []).append(e["eventType"])
    assert len(sessions) == 2                                   # ada's and bot's kernels
    assert len(cells) == 16 + 4                                 # one child run per cell
    assert all(types[0] == "START" and len(types) == 2 for types in cells.values())
    ends = sorted(types[1] for types in cells.values())
    assert ends.count("ABORT") == 7 and ends.count("FAIL") == 2 and ends.count("COMPLETE") == 11
    # a session's START comes before its cells' events, its COMPLETE after them
    order = [(e["run"]["runId"], e["eventType"]) for e in events]
    for run_id in sessions:
        starts = order.index((run_id, "START"))
        assert order.index((run_id, "COMPLETE")) > starts


def test_job_names_are_stable_and_per_cell(events: list[dict[str, Any]]) -> None:
    names = {e["job"]["name"] for e in events if "parent" in e["run"].get("facets", {})}
    assert all("/cell-" in n and n.startswith("session-") for n in names)
    assert len(names) == 16 + 4


def test_datasets_carry_column_lineage_sensitivity_and_sql(events: list[dict[str, Any]]) -> None:
    ends = [e for e in events
            if e["eventType"] != "START" and "parent" in e["run"].get("facets", {})]
    (csv,) = [o for e in ends for o in e["outputs"] if o["name"] == "out.csv"]
    sens = csv["facets"]["jupyterGuardSensitivity"]
    assert sens["sensitive"] and {"tax_id", "contact"} <= set(sens["sensitiveFields"])
    (leak,) = [o for e in ends for o in e["outputs"] if o["name"] == "leak"]
    assert leak["namespace"] == "jupyter_guard"                # a table, not a file
    (totals,) = [o for e in ends for o in e["outputs"] if o["name"] == "city_totals"]
    fields = totals["facets"]["columnLineage"]["fields"]
    assert {f["field"] for v in fields.values() for f in v["inputFields"]} == {"amount", "city"}
    assert {f["name"] for v in fields.values() for f in v["inputFields"]} == {"customers"}
    (select,) = [e for e in ends if e["job"]["facets"].get("sql", {}).get("query", "")
                 .startswith("SELECT id, ssn, email")]
    (inp,) = select["inputs"]
    assert inp["name"] == "customers"
    assert set(inp["facets"]["jupyterGuardSensitivity"]["sensitiveFields"]) == {"ssn", "email"}
    guard = select["run"]["facets"]["jupyterGuard"]
    # it ran (allowed) and showed ssn and email masked: recorded `mask`, rule sensitive-data
    assert (guard["decision"], guard["rule_id"], guard["status"], guard["user_name"]) == (
        "mask", "sensitive-data", "ok", "ada")
    (pivot,) = [o for e in ends for o in e["outputs"] if o["name"] == "p.csv"]
    assert pivot["facets"]["jupyterGuardSensitivity"]["fieldsNotListed"] > 0


def test_events_go_through_the_openlineage_client(session_audit: Path, tmp_path: Path,
                                                  events: list[dict[str, Any]]) -> None:
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.file import FileConfig, FileTransport

    out = tmp_path / "client.jsonl"
    client = OpenLineageClient(transport=FileTransport(FileConfig(log_file_path=str(out),
                                                                  append=True)))
    assert send_openlineage(session_audit, client) == len(events)
    sent = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(sent) == len(events)
    for ours, theirs in zip(events, sent):
        validate_event(theirs)
        assert (theirs["run"]["runId"], theirs["eventType"], theirs["job"]["name"]) == (
            ours["run"]["runId"], ours["eventType"], ours["job"]["name"])
        added = set(theirs["run"].get("facets", {})) - set(ours["run"].get("facets", {}))
        assert added <= {"tags"}                         # the client's own environment facet
        assert set(ours["run"].get("facets", {})) <= set(theirs["run"].get("facets", {}))
        assert [d["name"] for d in theirs["outputs"]] == [d["name"] for d in ours["outputs"]]
    file_out = tmp_path / "export.jsonl"
    assert export_openlineage(session_audit, file_out) == len(events)


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_NAME = st.one_of(_TEXT, st.sampled_from(["", ".", "a.", ".b", "a.b.c.d.e", "+5 columns",
                                          "+x columns", "s3://b/k", "http://", "://x"]))


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(rows=st.lists(st.tuples(st.sampled_from(["read", "write", "sideways"]),
                               st.sampled_from(["table", "column", "file", "url", "variable",
                                                "other"]), _NAME, st.booleans()), max_size=12),
       nulls=st.sets(st.sampled_from(["notebook", "cell_id", "execution_count", "code",
                                      "finished_at", "rule_id", "reason", "groups",
                                      "server_event_id"])),
       status=st.sampled_from(["ok", "running", "error", "blocked", "interrupted", "weird"]))
def test_the_export_never_crashes_on_any_audit_file(session_audit: Path, tmp_path_factory: Any,
                                                    rows: list[tuple[str, str, str, bool]],
                                                    nulls: set[str], status: str) -> None:
    audit = tmp_path_factory.mktemp("fuzz") / "audit.duckdb"
    shutil.copyfile(session_audit, audit)
    con = duckdb.connect(str(audit))
    (victim,), = con.execute("SELECT event_id FROM events ORDER BY random() LIMIT 1").fetchall()
    for d, k, n, s in rows:
        con.execute("INSERT INTO lineage_live VALUES (?, ?, ?, ?, ?)", [victim, d, k, n, s])
    for column in nulls:
        con.execute(f"UPDATE events_live SET {column} = NULL WHERE event_id = ?", [victim])
    con.execute("UPDATE events_live SET status = ? WHERE event_id = ?", [status, victim])
    con.close()
    for event in openlineage_events(audit):
        validate_event(event)
