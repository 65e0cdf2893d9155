"""The server-side gate (issue 6): a real jupyter_server on 127.0.0.1, real kernels that never
loaded the guard, a real websocket client. The server refuses what the policy blocks before the
kernel sees it, answers like a kernel, and records the server's authenticated user."""
from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pytest
from jupyter_client.jsonutil import json_default
from jupyter_client.session import Session
from jupyter_core.utils import ensure_async
from jupyter_server.auth.identity import IdentityProvider, User
from jupyter_server.services.kernels.connection.base import (
    deserialize_msg_from_ws_v1,
    serialize_msg_to_ws_v1,
)

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = pytest.mark.kernel
V1 = "v1.kernel.websocket.jupyter.org"


class Alice(IdentityProvider):
    """Everyone with a valid token is alice: the server's authenticated user."""

    async def get_user(self, handler: Any) -> User | None:
        anonymous = await ensure_async(super().get_user(handler))   # checks the token
        return User("alice") if anonymous else None


@pytest.fixture
def guard_env(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    wh = workdir / "wh.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("CREATE TABLE customers AS SELECT range AS id FROM range(10)")
    con.close()
    audit = workdir / "audit.duckdb"
    monkeypatch.setenv("JUPYTER_GUARD_AUDIT", str(audit))
    monkeypatch.setenv("JUPYTER_GUARD_USER", "mallory")   # what the kernel's environment claims
    monkeypatch.delenv("JUPYTER_GUARD_POLICY", raising=False)
    monkeypatch.delenv("JUPYTER_GUARD_SERVER_USER", raising=False)
    return {"wh": wh, "audit": audit}


@pytest.fixture
def jp_server_config(guard_env: dict[str, Path]) -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_guard": True},
                          "identity_provider_class": Alice}}


class Client:
    """A websocket client speaking the legacy JSON or the v1 binary kernel protocol."""

    def __init__(self, ws: Any, v1: bool) -> None:
        self.ws, self.v1, self.session = ws, v1, Session(username="client")

    async def execute(self, code: str, metadata: dict[str, Any] | None = None,
                      user_expressions: dict[str, Any] | None = None) -> dict[str, Any]:
        msg = self.session.msg("execute_request", {
            "code": code, "silent": False, "store_history": True,
            "user_expressions": user_expressions or {},
            "allow_stdin": False, "stop_on_error": False}, metadata=metadata or {})
        if self.v1:
            await self.ws.write_message(serialize_msg_to_ws_v1(msg, "shell", self.session.pack),
                                        binary=True)
        else:
            await self.ws.write_message(json.dumps({**msg, "channel": "shell"},
                                                   default=json_default))
        out: dict[str, Any] = {"iopub": [], "reply": None, "idle": False}
        deadline = time.monotonic() + 60
        while not (out["reply"] and out["idle"]):
            assert time.monotonic() < deadline, f"no reply to {code!r}: {out}"
            got = self.decode(await self.ws.read_message())
            if got["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
                continue
            if got["channel"] == "shell":
                out["reply"] = got
            else:
                out["iopub"].append(got)
                if got["msg_type"] == "status" and got["content"]["execution_state"] == "idle":
                    out["idle"] = True
        return out

    def decode(self, raw: Any) -> dict[str, Any]:
        if self.v1:
            channel, parts = deserialize_msg_from_ws_v1(raw)
            header, parent, _, content = (self.session.unpack(p) for p in parts[:4])
            return {"channel": channel, "msg_type": header["msg_type"], "header": header,
                    "parent_header": parent, "content": content}
        msg = json.loads(raw)
        return {**msg, "msg_type": msg["header"]["msg_type"]}


async def open_kernel(jp_fetch: Any, jp_ws_fetch: Any, v1: bool) -> tuple[str, Client]:
    r = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": "python3"}))
    kid = json.loads(r.body)["id"]
    kwargs = {"subprotocols": [V1]} if v1 else {}
    ws = await jp_ws_fetch("api", "kernels", kid, "channels",
                           params={"session_id": uuid.uuid4().hex}, **kwargs)
    return kid, Client(ws, v1)


def stdout(result: dict[str, Any]) -> str:
    return "".join(m["content"]["text"] for m in result["iopub"] if m["msg_type"] == "stream")


def server_events(audit: Path, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The finished kind='server' events, once at least ``n`` are in the audit file."""
    deadline = time.monotonic() + timeout
    while True:
        rows: list[dict[str, Any]] = []
        if audit.exists():
            con = duckdb.connect(str(audit), read_only=True)
            try:
                cur = con.execute("SELECT user_name, kind, code, decision, rule_id, reason, status "
                                  "FROM events WHERE kind = 'server' AND status <> 'running' "
                                  "ORDER BY ts")
                names = [d[0] for d in cur.description]
                rows = [dict(zip(names, r)) for r in cur.fetchall()]
            finally:
                con.close()
        if len(rows) >= n or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


@pytest.mark.parametrize("v1", [False, True], ids=["legacy-json", "v1-binary"])
async def test_drop_to_an_unguarded_kernel_is_refused_by_the_server(
        jp_fetch: Any, jp_ws_fetch: Any, guard_env: dict[str, Path], v1: bool) -> None:
    kid, client = await open_kernel(jp_fetch, jp_ws_fetch, v1)
    wh = guard_env["wh"]
    res = await client.execute(f"import duckdb\ncon = duckdb.connect({str(wh)!r})\n"
                               "con.execute('DROP TABLE customers')\nprint('ran')")
    reply = res["reply"]["content"]
    assert reply["status"] == "error" and reply["ename"] == "GuardBlocked"
    assert reply["evalue"].startswith("Blocked by jupyter_guard [destructive-ddl]: ")
    assert "%guard request" not in reply["evalue"] and "\n" not in reply["evalue"]
    assert reply["jupyter_guard"]["rule_id"] == "destructive-ddl"   # the structured refusal
    assert reply["jupyter_guard"]["approval"]["possible"] is False
    errors = [m for m in res["iopub"] if m["msg_type"] == "error"]
    assert [e["content"]["evalue"] for e in errors] == [reply["evalue"]]
    assert "ran" not in stdout(res)
    # nothing of the cell ran: the kernel never even opened the file, and the table is there
    con = duckdb.connect(str(wh), read_only=True)
    assert con.execute("SELECT count(*) FROM customers").fetchone() == (10,)
    con.close()
    # the kernel is fine and allowed cells pass (and see that nothing was imported)
    ok = await client.execute("print('duckdb' in dir(), 6 * 7)")
    assert ok["reply"]["content"]["status"] == "ok"
    assert stdout(ok).strip() == "False 42"
    rows = server_events(guard_env["audit"], 2)
    assert [(r["decision"], r["rule_id"], r["status"]) for r in rows] == [
        ("block", "destructive-ddl", "blocked"), ("allow", "", "ok")]
    assert {r["user_name"] for r in rows} == {"alice"}      # not mallory, the kernel's claim
    await jp_fetch("api", "kernels", kid, method="DELETE")


async def test_the_server_user_is_stamped_on_every_cell_and_wins_in_the_kernel(
        jp_fetch: Any, jp_ws_fetch: Any, guard_env: dict[str, Path]) -> None:
    kid, client = await open_kernel(jp_fetch, jp_ws_fetch, v1=False)
    env = await client.execute("import os; print(os.environ.get('JUPYTER_GUARD_USER'))")
    assert stdout(env).strip() == "mallory"
    loaded = await client.execute("%load_ext jupyter_guard")
    assert "user mallory" in stdout(loaded)          # the kernel alone only knows its environment
    forged = {"jupyter_guard": {"user": "mallory", "actor": "agent:copilot"}}
    res = await client.execute("x = 1", metadata=forged)
    assert res["reply"]["content"]["status"] == "ok"
    # the kernel's own record of the cell names the server's user; the forged user is gone
    con_deadline = time.monotonic() + 10
    rows: list[tuple[Any, ...]] = []
    while time.monotonic() < con_deadline and not rows:
        time.sleep(0.3)
        con = duckdb.connect(str(guard_env["audit"]), read_only=True)
        rows = con.execute("SELECT user_name, actor FROM events WHERE kind = 'python' "
                           "AND code = 'x = 1' AND status = 'ok'").fetchall()
        con.close()
    assert rows == [("alice", "agent:copilot")]
    # a DROP after loading is refused by the server first (same message as the kernel's)
    res = await client.execute("%%guarded_sql\nDROP TABLE customers")
    assert res["reply"]["content"]["ename"] == "GuardBlocked"
    assert "[destructive-ddl]" in res["reply"]["content"]["evalue"]
    # a table this kernel created itself may be dropped (rule 1), so the server lets it through
    res = await client.execute("%%guarded_sql\nCREATE TABLE scratch AS SELECT 1 AS x")
    assert res["reply"]["content"]["status"] == "ok", res
    res = await client.execute("%%guarded_sql\nDROP TABLE scratch")
    assert res["reply"]["content"]["status"] == "ok", res
    await jp_fetch("api", "kernels", kid, method="DELETE")


@pytest.fixture
def broken_policy(guard_env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """Set before the server starts (the gate reads its settings once)."""
    bad = guard_env["wh"].parent / "policy.yaml"
    bad.write_bytes(b"extends: default\nname: caf\xe9\n")
    monkeypatch.setenv("JUPYTER_GUARD_POLICY", str(bad))
    return bad


async def test_a_broken_policy_makes_the_server_refuse_every_cell(
        broken_policy: Path, jp_fetch: Any, jp_ws_fetch: Any) -> None:
    bad = broken_policy
    kid, client = await open_kernel(jp_fetch, jp_ws_fetch, False)
    for code in ("x = 1\nprint('ran')", "import duckdb\nprint('ran')"):
        res = await client.execute(code)
        reply = res["reply"]["content"]
        assert reply["status"] == "error" and reply["ename"] == "GuardBlocked", reply
        assert "[guard-error]" in reply["evalue"] and f"{bad}:2:" in reply["evalue"]
        assert "ran" not in stdout(res)
    bad.write_text("extends: default\nname: fixed\n")   # fixed: the gate reads it again
    ok = await client.execute("print(6 * 7)")
    assert ok["reply"]["content"]["status"] == "ok" and stdout(ok).strip() == "42"
    await jp_fetch("api", "kernels", kid, method="DELETE")
