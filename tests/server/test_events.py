"""The guard's jupyter_events: schemas valid for jupyter_events, a relay that emits each recorded
decision once (real audit files; approval events come from the server's approval store), and a
real jupyter server that emits them for cells sent over its kernel websocket, observed with
jupyter_events' own listener API."""
from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from jupyter_events import EventLogger

from jupyter_guard.record import AuditLog, decide_approval, ingest
from jupyter_guard.server.events import SCHEMAS, Relay, register, schema_id

pytest_plugins = ["pytest_jupyter.jupyter_server"]


def listening(logger: EventLogger) -> list[tuple[str, dict[str, Any]]]:
    got: list[tuple[str, dict[str, Any]]] = []

    async def listener(logger: EventLogger, schema_id: str, data: dict[str, Any]) -> None:
        got.append((schema_id.split("/")[-2], data))

    for name in SCHEMAS:
        logger.add_listener(schema_id=schema_id(name), listener=listener)
    return got


def cell(log: AuditLog, code: str, decision: str = "allow", rule: str = "", count: int = 1) -> str:
    status = "blocked" if decision == "block" else "running"
    eid = log.begin(user="ada", actor="human", notebook="n.ipynb", cell_id=f"c{count}",
                    execution_count=count,
                    kind="python", code=code, decision=decision, rule_id=rule, reason="r",
                    status=status, groups=["eng"])
    if status == "running":
        log.finish(eid, status="ok", duration_ms=1.0)
    return eid


async def test_the_relay_emits_each_decision_once_and_no_approval_from_the_audit_file(
        tmp_path: Path) -> None:
    audit = tmp_path / "audit.duckdb"
    logger = EventLogger()
    register(logger)
    register(logger)                                   # idempotent
    got = listening(logger)
    relay = Relay(str(audit), logger)
    assert relay.poll() == 0                           # nothing yet
    log = AuditLog(audit, background=False)
    cell(log, "x = 1")
    blocked = cell(log, "%unload_ext jupyter_guard", "block", "self-protection")
    request = log.request_approval(blocked, requested_by="ada", code="%unload_ext jupyter_guard",
                                   reason="please")
    ingest(audit)
    assert relay.poll() == 3
    await asyncio.sleep(0.05)
    assert sorted(n for n, _ in got) == ["cell-decided", "cell-decided", "guard-tamper"]
    decided = [d for n, d in got if n == "cell-decided"]
    assert {(d["decision"], d["status"], d["layer"], d["user"]) for d in decided} == {
        ("allow", "ok", "kernel", "ada"), ("block", "blocked", "kernel", "ada")}
    assert all("code" not in d for d in decided)        # no code, no values
    assert relay.poll() == 0 and len(got) == 3          # nothing twice
    # a decision written into the (user-writable) audit file is no approval: no event either;
    # approval events come from the server's store (tests/approvals/test_server_approvals.py)
    decide_approval(audit, request, decided_by="gina", verdict="approved")
    assert relay.poll() == 0
    await asyncio.sleep(0.05)
    assert len(got) == 3
    log.close()


def test_a_relay_started_on_an_existing_audit_does_not_replay_history(tmp_path: Path) -> None:
    audit = tmp_path / "audit.duckdb"
    log = AuditLog(audit, background=False)
    cell(log, "x = 1")
    ingest(audit)
    logger = EventLogger()
    register(logger)
    relay = Relay(str(audit), logger)
    assert relay.poll() == 0
    cell(log, "y = 2")
    ingest(audit)
    assert relay.poll() == 1
    log.close()


def test_every_schema_validates_its_events_and_rejects_bad_ones() -> None:
    import jsonschema

    logger = EventLogger()
    register(logger)
    good = {"event_id": "e", "user": "ada", "decision": "block", "status": "blocked",
            "layer": "server", "request_id": "r", "requested_by": "ada"}
    for name in SCHEMAS:
        logger.emit(schema_id=schema_id(name), data={k: v for k, v in good.items()
                                                      if k in SCHEMAS[name]["properties"]})
    got = listening(logger)
    with pytest.raises(jsonschema.ValidationError):
        logger.emit(schema_id=schema_id("cell-decided"), data={"event_id": "e"})
    assert got == []


@pytest.fixture
def guard_audit(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    audit = workdir / "audit.duckdb"
    monkeypatch.setenv("JUPYTER_GUARD_AUDIT", str(audit))
    monkeypatch.setenv("JUPYTER_GUARD_USER", "alice")
    monkeypatch.delenv("JUPYTER_GUARD_POLICY", raising=False)
    return audit


@pytest.fixture
def jp_server_config(guard_audit: Path) -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_guard": True}}}


@pytest.mark.kernel
async def test_the_server_emits_cell_decided_for_both_layers(
        jp_fetch: Any, jp_ws_fetch: Any, jp_serverapp: Any, guard_audit: Path) -> None:
    from tests.server.test_gate import open_kernel

    got = listening(jp_serverapp.event_logger)
    kid, client = await open_kernel(jp_fetch, jp_ws_fetch, v1=False)
    assert (await client.execute("%load_ext jupyter_guard"))["reply"]["content"]["status"] == "ok"
    res = await client.execute("%%guarded_sql\nCREATE TABLE t AS SELECT 1 AS x")
    assert res["reply"]["content"]["status"] == "ok"
    res = await client.execute("import os\nos.environ['JUPYTER_GUARD_POLICY'] = '/dev/null'")
    assert res["reply"]["content"]["ename"] == "GuardBlocked"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        layers = {(d["layer"], d["status"]) for n, d in got if n == "cell-decided"}
        if {("server", "ok"), ("kernel", "ok"), ("server", "blocked")} <= layers and any(
                n == "guard-tamper" for n, _ in got):
            break
        await asyncio.sleep(0.3)
    layers = {(d["layer"], d["status"]) for n, d in got if n == "cell-decided"}
    assert {("server", "ok"), ("kernel", "ok"), ("server", "blocked")} <= layers, got
    tamper = [d for n, d in got if n == "guard-tamper"]
    assert tamper and tamper[0]["rule_id"] == "self-protection"
    assert all(d["user"] == json.loads(json.dumps(d["user"])) for _, d in got)
    await jp_fetch("api", "kernels", kid, method="DELETE")


def test_the_policy_key_openlineage_transport_sends_each_cell_live(tmp_path: Path) -> None:
    import sys

    from jupyter_guard.policy.load import PolicyError, load

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "record"))
    from ol_schema import validate_event

    sink = tmp_path / "ol.jsonl"
    pfile = tmp_path / "p.yaml"
    pfile.write_text("version: 1\nextends: default\nopenlineage:\n  transport:\n"
                     f"    type: file\n    log_file_path: {sink}\n    append: true\n")
    policy = load(pfile)
    audit = tmp_path / "audit.duckdb"
    logger = EventLogger()
    register(logger)
    relay = Relay(str(audit), logger, lambda: policy)
    relay.poll()
    log = AuditLog(audit, background=False)
    cell(log, "x = 1")
    ingest(audit)
    relay.poll()
    first = [json.loads(line) for line in sink.read_text().splitlines()]
    assert [e["eventType"] for e in first] == ["START", "START", "COMPLETE"]   # session, cell
    cell(log, "%unload_ext jupyter_guard", "block", "self-protection", count=2)
    ingest(audit)
    relay.poll()
    relay.poll()
    events = [json.loads(line) for line in sink.read_text().splitlines()]
    assert [e["eventType"] for e in events[3:]] == ["START", "ABORT"]   # the session stays open
    for e in events:
        validate_event(e)
    log.close()
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nopenlineage:\n  transprt: {type: file}\n")
    with pytest.raises(PolicyError) as err:
        load(bad)
    assert "bad.yaml:3" in err.value.problems[0] and "transport" in err.value.problems[0]


@pytest.mark.kernel
async def test_a_gate_refusal_reaches_the_agent_the_events_api_and_jupyter_events(
        jp_fetch: Any, jp_ws_fetch: Any, jp_serverapp: Any, guard_audit: Path) -> None:
    """A client speaking the kernel protocol through the server (no browser) sends a DROP; the
    server gate refuses it. The reply carries the structured refusal, and so do
    `GET /jupyter-guard/api/events` and the `cell-decided` event: the same one."""
    import jsonschema

    from jupyter_guard.policy.refusal import schema
    from tests.server.test_gate import open_kernel

    got = listening(jp_serverapp.event_logger)
    kid, client = await open_kernel(jp_fetch, jp_ws_fetch, v1=False)
    assert (await client.execute("%load_ext jupyter_guard"))["reply"]["content"]["status"] == "ok"
    assert (await client.execute("%%guarded_sql\nCREATE TABLE keep AS SELECT 1 AS x"))[
        "reply"]["content"]["status"] == "ok"
    res = await client.execute("%%guarded_sql\nDROP TABLE keep_old")
    reply = res["reply"]["content"]
    assert reply["status"] == "error" and reply["ename"] == "GuardBlocked"
    shown = reply["jupyter_guard"]
    jsonschema.validate(shown, schema())
    assert (shown["rule_id"], shown["action"], shown["effect"]["target"]) == (
        "destructive-ddl", "sql.drop", "keep_old")
    deadline = time.monotonic() + 30
    api: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        r = await jp_fetch("jupyter-guard", "api", "events", params={"decision": "block"})
        api = [e for e in json.loads(r.body)["events"] if e["rule_id"] == "destructive-ddl"]
        relayed = [d for n, d in got if n == "cell-decided" and d["rule_id"] == "destructive-ddl"]
        if api and relayed:
            break
        await asyncio.sleep(0.3)
    assert api and api[0]["refusal"] == shown, api
    assert relayed and relayed[0]["refusal"] == shown and relayed[0]["layer"] == "server"
    r = await jp_fetch("jupyter-guard", "api", "events", params={"decision": "allow"})
    allowed = json.loads(r.body)["events"]
    assert allowed and all(e["refusal"] is None for e in allowed)
    await jp_fetch("api", "kernels", kid, method="DELETE")
