"""Approvals through the jupyter server's authority, with a real server, a real guarded kernel,
the real CLI and a loopback webhook: alice is refused, files a request, gina approves it through
the API, the cell runs once and is refused again. Claims that do not come from the server's
authenticated identity (an environment variable, ``--as-user``, alice's own token) decide
nothing; events and webhooks tell approvers."""
from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from jupyter_guard.server.events import SCHEMAS, schema_id
from tests.approvals.server_fixture import BOB, GINA, ByToken, Hook, api, cli, make_env, wait_for
from tests.server.test_gate import open_kernel, stdout

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = pytest.mark.kernel

DROP = "con.execute(f'DROP TABLE {t}')"   # the name only the kernel can resolve


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    try:
        yield h
    finally:
        h.close()


@pytest.fixture
def env(workdir: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    e = make_env(workdir, hook.url)
    monkeypatch.setenv("JUPYTER_GUARD_AUDIT", str(e["audit"]))
    monkeypatch.setenv("JUPYTER_GUARD_POLICY", str(e["policy"]))
    monkeypatch.setenv("JUPYTER_GUARD_USER", "mallory")
    monkeypatch.delenv("JUPYTER_GUARD_SERVER_USER", raising=False)
    return e


@pytest.fixture
def jp_server_config(env: dict[str, Path]) -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_guard": True},
                          "identity_provider_class": ByToken}}


def listening(logger: Any) -> list[tuple[str, dict[str, Any]]]:
    got: list[tuple[str, dict[str, Any]]] = []

    async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        got.append((schema_id.split("/")[-2], data))

    for name in SCHEMAS:
        if name.startswith("approval-"):
            logger.add_listener(schema_id=schema_id(name), listener=listener)
    return got


def refused(result: dict[str, Any]) -> bool:
    reply = result["reply"]["content"]
    return reply["status"] == "error" and reply.get("ename") == "GuardBlocked"


async def guarded(jp_fetch: Any, jp_ws_fetch: Any, wh: Path) -> tuple[str, Any]:
    kid, client = await open_kernel(jp_fetch, jp_ws_fetch, v1=True)
    assert (await client.execute("%load_ext jupyter_guard"))["reply"]["content"]["status"] == "ok"
    opened = await client.execute(f"import duckdb\ncon = duckdb.connect({str(wh)!r})\n"
                                  "t = 'orders'")
    assert opened["reply"]["content"]["status"] == "ok", opened
    return kid, client


async def exists(client: Any, table: str) -> bool:
    r = await client.execute("print(con.execute(\"SELECT count(*) FROM duckdb_tables() WHERE "
                             f"table_name = '{table}'\").fetchone()[0])")
    return stdout(r).strip() == "1"


async def request(client: Any, why: str) -> str:
    asked = await client.execute(f"%guard request {why}")
    assert asked["reply"]["content"]["status"] == "ok", asked["reply"]["content"]
    found = re.search(r"Approval requested: (\w+)", stdout(asked))
    assert found, stdout(asked)
    return found.group(1)


async def test_alice_requests_gina_approves_through_the_api_and_the_cell_runs_once(
        jp_fetch: Any, jp_ws_fetch: Any, jp_serverapp: Any, env: dict[str, Path],
        hook: Hook) -> None:
    events = listening(jp_serverapp.event_logger)
    kid, client = await guarded(jp_fetch, jp_ws_fetch, env["wh"])
    assert "approvals through the server" in stdout(await client.execute("%guard status"))
    assert refused(await client.execute(DROP))
    rid = await request(client, "nightly rebuild")

    # what gina and alice see
    code, seen = await api(jp_fetch, "approvals", token=GINA, params={"status": "pending"})
    assert code == 200 and seen["may_approve"] is True
    mine = [r for r in seen["requests"] if r["id"] == rid]
    assert len(mine) == 1, seen
    row = mine[0]
    assert (row["requester"], row["code"], row["rule"], row["status"], row["may_decide"]) == (
        "alice", DROP, "destructive-ddl", "pending", True)
    assert row["reason"] == "nightly rebuild" and row["decided_by"] is None
    assert set(row) == {"id", "requester", "code", "rule", "reason", "effect", "status",
                        "created_at", "expires_at", "decided_by", "may_decide"}
    assert row["effect"] is None or isinstance(row["effect"], dict)
    code, own = await api(jp_fetch, "approvals", params={"status": "mine"})
    assert code == 200 and [r["may_decide"] for r in own["requests"] if r["id"] == rid] == [False]
    code, bobs = await api(jp_fetch, "approvals", token=BOB, params={"status": "all"})
    assert code == 200 and bobs == {"requests": [], "may_approve": False}

    # claims that are not the server's identity decide nothing
    url = jp_serverapp.connection_url
    alices = jp_serverapp.identity_provider.token
    as_env = await cli("approve", rid, "--url", url, "--token", alices,
                       env={"JUPYTER_GUARD_USER": "gina"})
    assert as_env[0] == 1 and "own request" in as_env[2], as_env
    flag = await cli("approve", rid, "--url", url, "--as-user", "gina",
                     "--token", jp_serverapp.identity_provider.token)
    assert flag[0] == 1 and "--as-user gives no approval power" in flag[2], flag
    bob = await cli("approve", rid, "--url", url, "--token", BOB,
                    env={"JUPYTER_GUARD_USER": "gina"})
    assert bob[0] == 1 and "bob has no role that may approve" in bob[2], bob
    assert (await api(jp_fetch, "approvals", rid, body={"decision": "approve"}))[0] == 403
    assert (await api(jp_fetch, "approvals", "nosuch", token=GINA,
                      body={"decision": "approve"}))[0] == 404
    assert (await api(jp_fetch, "approvals", rid, token=GINA, body={"decision": "maybe"}))[0] \
        == 400
    assert refused(await client.execute(DROP)) and await exists(client, "orders")

    # gina approves through the API (the sidebar's call)
    code, decided = await api(jp_fetch, "approvals", rid, token=GINA,
                              body={"decision": "approve", "reason": "ok for tonight"})
    assert code == 200 and (decided["status"], decided["decided_by"]) == ("approved", "gina")
    assert (await api(jp_fetch, "approvals", rid, token=GINA,
                      body={"decision": "deny"}))[0] == 409
    ran = await client.execute(DROP)
    assert ran["reply"]["content"]["status"] == "ok", ran["reply"]["content"].get("evalue")
    assert not await exists(client, "orders")
    again = await client.execute(DROP)                           # once only
    assert refused(again) and "[destructive-ddl]" in again["reply"]["content"]["evalue"]
    code, after = await api(jp_fetch, "approvals", token=GINA, params={"status": "all"})
    assert [r["status"] for r in after["requests"] if r["id"] == rid] == ["used"]

    # the audit file holds a copy (for reports): requested, decided by gina, used
    def copied() -> list[tuple[str, str]]:
        from jupyter_guard.record import ingest
        from jupyter_guard.record.approvals import requests as audit_requests

        ingest(env["audit"])
        return [(r["status"], r["decided_by"]) for r in audit_requests(env["audit"], status=None)
                if r["request_id"] == rid]

    await wait_for(lambda: copied() == [("used", "gina")], f"audit copy: {copied()}")

    # approvers were told: jupyter_events and the webhook
    await wait_for(lambda: len(events) >= 3, f"approval events: {events}")
    assert [n for n, _ in events][:3] == ["approval-requested", "approval-decided",
                                          "approval-used"]
    assert {d["request_id"] for _, d in events} == {rid}
    assert events[1][1]["decided_by"] == "gina" and "code" not in events[0][1]
    await wait_for(lambda: len(hook.got) >= 3, f"webhook posts: {hook.got}")
    assert [m["event"] for m in hook.got[:3]] == ["approval-requested", "approval-decided",
                                                   "approval-used"]
    first = hook.got[0]
    assert "alice" in first["text"] and rid in first["text"] and "nightly rebuild" in first["text"]
    assert (first["request_id"], first["requester"], first["rule"]) == (
        rid, "alice", "destructive-ddl")
    assert hook.got[1]["decided_by"] == "gina" and "gina approved" in hook.got[1]["text"]
    await jp_fetch("api", "kernels", kid, method="DELETE")


GATE_DROP = "con.execute('DROP TABLE customers')"   # the server's gate refuses it by its text


async def api_h(jp_fetch: Any, parts: tuple[str, ...], headers: dict[str, str],
                body: Any) -> tuple[int, Any]:
    from tornado.httpclient import HTTPClientError

    try:
        r = await jp_fetch("jupyter-guard", "api", *parts, headers=headers, method="POST",
                           body=json.dumps(body))
    except HTTPClientError as e:
        return e.code, None
    return r.code, json.loads(r.body)


def store_of(jp_serverapp: Any) -> Any:
    cls = jp_serverapp.web_app.settings["kernel_websocket_connection_class"]
    return cls._jg_gate.approvals_service.store


def audit_rows(audit: Path, where: str) -> list[tuple[Any, ...]]:
    from jupyter_guard.record import ingest

    ingest(audit)
    con = duckdb.connect(str(audit), read_only=True)
    try:
        return con.execute("SELECT user_name, kind, decision, status, rule_id, reason FROM events "
                           f"WHERE {where} ORDER BY ts").fetchall()
    finally:
        con.close()


async def test_forged_approvals_fail_and_gate_denied_and_expired_approvals_hold(
        jp_fetch: Any, jp_ws_fetch: Any, jp_serverapp: Any, env: dict[str, Path]) -> None:
    from jupyter_guard.record import AuditLog, decide_approval, ingest

    events = listening(jp_serverapp.event_logger)
    kid, client = await guarded(jp_fetch, jp_ws_fetch, env["wh"])
    assert refused(await client.execute(GATE_DROP)) and refused(await client.execute(DROP))
    # a row written by hand into the audit file's approvals table, "approved by gina"
    log = AuditLog(env["audit"], background=False)
    forged = [log.request_approval("", requested_by="alice", code=c, reason="forged")
              for c in (GATE_DROP, DROP)]
    log.close()
    ingest(env["audit"])
    for rid in forged:
        decide_approval(env["audit"], rid, decided_by="gina", verdict="approved")
    assert refused(await client.execute(GATE_DROP)) and refused(await client.execute(DROP))
    # kernel memory: the old "approved" flag, a fake grant in the cell's trusted metadata
    mutated = await client.execute(
        "kg = get_ipython()._jupyter_guard_kernel\n"
        "kg._cell['approved_by'] = 'gina'\n"
        "kg._cell.setdefault('meta', {})['approval'] = {'decision': {'approver': 'gina'}}\n"
        "con.execute(' '.join(['DROP', 'TABLE', t]))")
    assert refused(mutated), mutated["reply"]["content"]
    assert await exists(client, "orders") and await exists(client, "customers")

    # the honest gate path: refused by the server, requested, approved, runs once
    assert refused(await client.execute(GATE_DROP))
    rid = await request(client, "clean up")
    code, row = await api(jp_fetch, "approvals", rid, token=GINA, body={"decision": "approve"})
    assert code == 200 and row["code"] == GATE_DROP and row["rule"] == "destructive-ddl", row
    ran = await client.execute(GATE_DROP)
    assert ran["reply"]["content"]["status"] == "ok", ran["reply"]["content"].get("evalue")
    assert not await exists(client, "customers")
    assert refused(await client.execute(GATE_DROP))
    # the spent grant, replayed into kernel memory for another cell, approves nothing
    grant = store_of(jp_serverapp).requests[rid]["grant"]
    replay = await client.execute(
        "get_ipython()._jupyter_guard_kernel.guard.approvals._held = "
        f"{{get_ipython().get_parent()['header']['msg_id']: {grant!r}}}\n"
        "con.execute(' '.join(['DROP', 'TABLE', t]))")
    assert refused(replay) and await exists(client, "orders")
    # ... and sent straight to the kernel's socket with the grant as (unsigned) metadata
    from tests.identity.test_stamp_groups import unstamped

    straight = unstamped(jp_serverapp.kernel_manager.get_kernel(kid).connection_file, DROP,
                         {"jupyter_guard": {"user": "alice", "approval": grant}})
    assert straight["status"] == "error" and straight["ename"] == "GuardBlocked", straight
    assert await exists(client, "orders")

    # the kernel's token (a cell can read it from its environment): it names the kernel only
    service = jp_serverapp.web_app.settings["kernel_websocket_connection_class"]._jg_gate \
        .approvals_service
    tok = next(t for t, k in service.tokens.items() if k == kid)
    assert (await client.execute("import os\nassert os.environ['JUPYTER_GUARD_KERNEL_TOKEN'] == "
                                 f"{tok!r}"))["reply"]["content"]["status"] == "ok"
    last = stdout(await client.execute(
        "print(get_ipython().get_parent()['header']['msg_id'])")).strip()
    as_kernel = {"X-Jupyter-Guard-Kernel": tok, "Authorization": "token not-a-user"}
    pending = await request(client, "steal")   # a fresh pending request of alice's
    assert (await api_h(jp_fetch, ("approvals", pending), as_kernel,
                        {"decision": "approve"}))[0] == 403
    assert (await api_h(jp_fetch, ("kernel", "approvals"), as_kernel,
                        {"msg_id": last, "code": GATE_DROP}))[0] == 403   # not a request cell
    assert (await api_h(jp_fetch, ("kernel", "approvals"),
                        {**as_kernel, "X-Jupyter-Guard-Kernel": "guess"},
                        {"msg_id": last, "code": GATE_DROP}))[0] == 403
    assert (await api_h(jp_fetch, ("kernel", "approvals", "spend"), as_kernel,
                        {"msg_id": "never-forwarded", "code_sha256": "0" * 64}))[0] == 404
    assert store_of(jp_serverapp).get(pending)["status"] == "pending"

    # denied: refused, and no second decision
    ledger = "con.execute('DROP TABLE ledger')"
    assert refused(await client.execute(ledger))
    rid_denied = await request(client, "please")
    code, row = await api(jp_fetch, "approvals", rid_denied, token=GINA, body={"decision": "deny"})
    assert code == 200 and (row["status"], row["decided_by"]) == ("denied", "gina")
    assert (await api(jp_fetch, "approvals", rid_denied, token=GINA,
                      body={"decision": "approve"}))[0] == 409
    assert refused(await client.execute(ledger)) and await exists(client, "ledger")

    # expired: approved, then 31 minutes pass (lifetime 30) before alice runs it
    notes = "con.execute('DROP TABLE notes')"
    assert refused(await client.execute(notes))
    rid_old = await request(client, "later")
    assert (await api(jp_fetch, "approvals", rid_old, token=GINA,
                      body={"decision": "approve"}))[0] == 200
    store = store_of(jp_serverapp)
    store.clock = lambda: time.time() + 31 * 60
    assert refused(await client.execute(notes)) and await exists(client, "notes")
    code, listed = await api(jp_fetch, "approvals", params={"status": "mine"})
    status = {r["id"]: r["status"] for r in listed["requests"]}
    assert (status[rid], status[rid_denied], status[rid_old]) == ("used", "denied", "expired")
    assert not any(r in status for r in forged)       # the audit rows are no requests at all
    await wait_for(lambda: ("approval-expired", rid_old) in
                   [(n, d["request_id"]) for n, d in events], f"expired event: {events}")

    # the audit names alice for her attempts and the kernel's owner (mallory) for the unsigned
    # message, never gina; only the honest approval ran, "approved by gina"
    await jp_fetch("api", "kernels", kid, method="DELETE")
    rows = await wait_for(lambda: audit_rows(
        env["audit"], "kind IN ('python', 'server') AND code LIKE '%DROP%'") or None, "audit")
    assert {r[0] for r in rows} == {"alice", "mallory"}, rows
    owner = sorted((r[4], r[3]) for r in rows if r[0] == "mallory")   # the attempt is logged
    assert owner == [("destructive-ddl", "blocked"), ("identity.unverified", "ok")], owner
    ran_rows = [r for r in rows if r[3] == "ok" and r[2] == "allow"]
    assert ran_rows and all(r[5].startswith("approved by gina") for r in ran_rows), ran_rows
    blocked = [r for r in rows if r[3] == "blocked"]
    assert len(blocked) >= 10, rows


async def test_a_writer_spends_the_approval_of_the_cells_user(
        jp_fetch: Any, jp_ws_fetch: Any, env: dict[str, Path]) -> None:
    """alice's export of a sensitive frame is refused by the pandas writers; gina approves
    alice's request; alice's rerun writes the file once. The kernel belongs to mallory, so the
    writer must look for the approval under the cell's signed user, not the kernel's owner."""
    kid, client = await guarded(jp_fetch, jp_ws_fetch, env["wh"])
    out = env["wh"].parent / "approved_export.csv"
    made = await client.execute("import pandas as pd\n"
                                "df = pd.DataFrame({'email': ['ann@example.com'], 'n': [1]})")
    assert made["reply"]["content"]["status"] == "ok"
    export = f"df.to_csv({str(out)!r})"
    first = await client.execute(export)
    assert refused(first) and "[exfiltration]" in first["reply"]["content"]["evalue"]
    assert not out.exists()
    rid = await request(client, "the monthly export")
    code, decided = await api(jp_fetch, "approvals", rid, token=GINA,
                              body={"decision": "approve"})
    assert code == 200 and decided["status"] == "approved", decided
    ran = await client.execute(export)
    assert ran["reply"]["content"]["status"] == "ok", ran["reply"]["content"].get("evalue")
    assert "ann@example.com" in out.read_text()
    out.unlink()
    again = await client.execute(export)                          # spent: refused again
    assert refused(again) and not out.exists()
    await jp_fetch("api", "kernels", kid, method="DELETE")
