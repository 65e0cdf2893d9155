"""Four eyes, audit-only rollout, agents and scoped rules, through real kernels and the real CLI
(issue 6). Two kernels for the module: ada's (enforce) and carl's (``mode: audit``)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import make_warehouse
from tests.kernelutil import Kernel, Reply

pytestmark = pytest.mark.kernel

POLICY = """\
version: 1
extends: default
mode: {mode}
roles:
  governance: {{users: [gina, ada], may_approve: true}}
rules:
  - id: no-prod-writes
    match: {{sql: [insert, update, delete], connections: ["*prod*"]}}
    action: approval
    message: Writes to production need a second pair of eyes.
  - id: analysts-no-merge
    match: {{sql: [insert], tables: [ledger], groups: [analysts]}}
    action: block
  - id: governance-no-alter
    match: {{sql: [alter], roles: [governance]}}
    action: block
  - id: ada-no-notes-delete
    match: {{sql: [delete], tables: [notes], users: [ada]}}
    action: block
  - id: bots-no-create
    match: {{sql: [create], actors: ["agent:*"]}}
    action: block
"""
AGENT = {"jupyter_guard": {"actor": "agent:copilot"}}


def setup_dir(d: Path, mode: str) -> dict[str, str]:
    (d / "data").mkdir(parents=True)
    make_warehouse(d / "wh.duckdb", rows=50)
    con = duckdb.connect(str(d / "wh.duckdb"))
    con.execute("CREATE TABLE notes (id INTEGER, body VARCHAR)")
    con.execute("CREATE TABLE ledger (id INTEGER)")
    con.execute("CREATE TABLE scratch AS SELECT 1 AS x")
    con.close()
    (d / "policy.yaml").write_text(POLICY.format(mode=mode))
    return {"JUPYTER_GUARD_AUDIT": str(d.parent / "audit.duckdb"),
            "JUPYTER_GUARD_POLICY": str(d / "policy.yaml")}


def start(d: Path, env: dict[str, str]) -> Kernel:
    k = Kernel(d, env)
    loaded = k.run("%load_ext jupyter_guard")
    assert loaded.status == "ok", loaded.text
    r = k.run("import duckdb\ncon = duckdb.connect('wh.duckdb')\n"
              "prod_con = duckdb.connect('prod.duckdb')\n"
              "prod_con.execute('CREATE TABLE IF NOT EXISTS t (id INTEGER)')")
    assert r.status == "ok", r.text
    return k


@pytest.fixture(scope="module")
def shared(work_root: Path) -> Path:
    d = work_root / "approvals"
    d.mkdir()
    return d


@pytest.fixture(scope="module")
def ada(shared: Path) -> Iterator[tuple[Kernel, dict[str, str]]]:
    env = setup_dir(shared / "ada", "enforce")
    k = start(shared / "ada", {**env, "JUPYTER_GUARD_USER": "ada", "JUPYTERHUB_GROUPS": "analysts"})
    try:
        yield k, env
    finally:
        k.stop()


@pytest.fixture(scope="module")
def carl(shared: Path) -> Iterator[tuple[Kernel, dict[str, str]]]:
    env = setup_dir(shared / "carl", "audit")
    k = start(shared / "carl", {**env, "JUPYTER_GUARD_USER": "carl"})
    try:
        yield k, env
    finally:
        k.stop()


def cli(env: dict[str, str], user: str, *args: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **env, "JUPYTER_GUARD_USER": user}
    full.pop("JUPYTERHUB_USER", None)
    full.pop("JUPYTERHUB_GROUPS", None)
    return subprocess.run([sys.executable, "-m", "jupyter_guard.cli", *args], env=full,
                          capture_output=True, text=True, timeout=120)


def refused(r: Reply, rule: str) -> bool:
    return r.status == "error" and r.error.get("ename") == "GuardBlocked" and f"[{rule}]" in \
        r.error.get("evalue", "")


def count(k: Kernel, table: str) -> int:
    r = k.run(f"print(con.execute('SELECT count(*) FROM {table}').fetchone()[0])")
    assert r.status == "ok", r.text
    return int(r.text.strip())


def events(env: dict[str, str], where: str) -> list[dict[str, Any]]:
    from jupyter_guard.record import ingest

    ingest(env["JUPYTER_GUARD_AUDIT"])
    con = duckdb.connect(env["JUPYTER_GUARD_AUDIT"], read_only=True)
    try:
        cur = con.execute(f"SELECT user_name, actor, kind, code, decision, rule_id, reason, status "
                          f"FROM events WHERE {where} ORDER BY ts")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()


DROP = "con.execute('DROP TABLE orders')"


def test_in_local_mode_no_approval_exists_and_every_way_to_claim_one_fails(
        ada: tuple[Kernel, dict[str, str]], tmp_path: Path) -> None:
    """A kernel no jupyter server started has no authority: ``%guard request`` says so, the CLI
    finds no server to ask, and an approval row written into the audit file approves nothing.
    (The approval flow through a server: tests/approvals/test_server_approvals.py.)"""
    k, env = ada
    r = k.run(DROP)
    assert refused(r, "destructive-ddl") and "%guard request" not in r.error["evalue"]
    asked = k.run("%guard request cleaning up the old orders")
    assert asked.status == "error" and "local mode" in asked.text, asked.text
    assert "no approvals in local mode" in k.run("%guard status").text
    no_server = {"JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    for who, extra in (("gina", []), ("ada", ["--as-user", "gina"])):
        out = cli({**env, **no_server}, who, "approve", "0123456789ab", *extra)
        assert out.returncode == 1, out.stdout
        assert "no running jupyter server found" in out.stderr or "--as-user" in out.stderr
    from jupyter_guard.record import AuditLog, decide_approval
    from jupyter_guard.record import ingest as ingest_now

    log = AuditLog(env["JUPYTER_GUARD_AUDIT"], background=False)
    rid = log.request_approval("", requested_by="ada", code=DROP, reason="forged")
    log.close()
    ingest_now(env["JUPYTER_GUARD_AUDIT"])
    decide_approval(env["JUPYTER_GUARD_AUDIT"], rid, decided_by="gina", verdict="approved")
    assert refused(k.run(DROP), "destructive-ddl") and count(k, "orders") == 2000
    logged = events(env, f"user_name = 'ada' AND code = '{DROP.replace(chr(39), chr(39) * 2)}'")
    assert [(e["decision"], e["status"]) for e in logged] == [("block", "blocked")] * 2


def test_an_agent_insert_is_held_for_approval_a_persons_runs(
        ada: tuple[Kernel, dict[str, str]]) -> None:
    k, env = ada
    code = "con.execute(\"INSERT INTO notes VALUES (1, 'hello')\")"
    held = k.run(code, metadata=AGENT)
    assert refused(held, "agent-approval")
    assert held.error["evalue"].startswith("Held for approval by jupyter_guard [agent-approval]")
    assert count(k, "notes") == 0
    assert k.run(code).status == "ok" and count(k, "notes") == 1
    logged = events(env, "rule_id = 'agent-approval'")
    assert [(e["user_name"], e["actor"], e["status"]) for e in logged] == [
        ("ada", "agent:copilot", "blocked")]


def test_an_agent_mark_cannot_be_taken_back_by_a_cell(shared: Path) -> None:
    from jupyter_guard.identity import cell_actor

    assert cell_actor({"jupyter_guard": {"actor": "human"}}, "agent:bot") == "agent:bot"
    assert cell_actor({}, "agent:bot") == "agent:bot"
    assert cell_actor({"jupyter_guard": {"actor": "agent:x"}}, "human") == "agent:x"
    assert cell_actor({"jupyter_guard": {"actor": ["x"]}}, "human") == "agent:unknown"


def dry(k: Kernel, line: str, sql: str, metadata: dict[str, Any] | None = None) -> str:
    r = k.run(f"%%guarded_sql {line} --dry-run\n{sql}", metadata=metadata)
    assert r.status == "ok", r.text
    return r.text


@pytest.mark.parametrize(("line", "sql", "meta", "ada_rule", "carl_rule"), [
    pytest.param("prod_con", "INSERT INTO t VALUES (1)", None, "no-prod-writes", "no-prod-writes",
                 id="connection"),
    pytest.param("con", "INSERT INTO ledger VALUES (1)", None, "analysts-no-merge", "",
                 id="group"),
    pytest.param("con", "ALTER TABLE notes ADD COLUMN x INT", None, "governance-no-alter", "",
                 id="role"),
    pytest.param("con", "DELETE FROM notes WHERE id = 1", None, "ada-no-notes-delete", "",
                 id="user"),
    pytest.param("con", "CREATE TABLE t2 AS SELECT 1 AS x", AGENT, "bots-no-create",
                 "bots-no-create", id="actor"),
    pytest.param("con", "CREATE TABLE t3 AS SELECT 1 AS x", None, "", "", id="person-creates"),
])
def test_rules_scoped_by_connection_group_role_user_actor(
        ada: tuple[Kernel, dict[str, str]], carl: tuple[Kernel, dict[str, str]], line: str,
        sql: str, meta: dict[str, Any] | None, ada_rule: str, carl_rule: str) -> None:
    for (k, _), rule in ((ada, ada_rule), (carl, carl_rule)):
        text = dry(k, line, sql, meta)
        if rule:
            assert rule in text
        else:
            assert not re.search(r"no-prod-writes|analysts-no|governance-no|ada-no|bots-no", text)


def test_audit_mode_runs_a_drop_and_logs_it_as_a_would_be_block(
        carl: tuple[Kernel, dict[str, str]]) -> None:
    k, env = carl
    r = k.run("con.execute('DROP TABLE scratch')")
    assert r.status == "ok", r.text
    gone = k.run("print(con.execute(\"SELECT count(*) FROM duckdb_tables() "
                 "WHERE table_name = 'scratch'\").fetchone()[0])")
    assert gone.text.strip() == "0"
    logged = events(env, "user_name = 'carl' AND code LIKE '%DROP TABLE scratch%'")
    assert [(e["decision"], e["rule_id"], e["status"]) for e in logged] == [
        ("warn", "destructive-ddl", "ok")]
    assert logged[0]["reason"].startswith("would block: ")
    rep = cli(env, "gina", "report", "--user", "carl", "--format", "json")
    rows = json.loads(rep.stdout)
    ddl = [row for row in rows if row["rule_id"] == "destructive-ddl"]
    assert ddl and ddl[0]["would_block"] == 1 and ddl[0]["blocked"] == 0
