"""The server gate ends a refusal on the kernel guard's one refuse path (``guard.judge.refuse``):
the same cell refused by the gate and by a guarded kernel gives the same rule and reason, the
same structured refusal and the same kind of audit row (the authenticated user's ``blocked``
row with the rule). Real server, real kernels."""
from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.kernelutil import Kernel
from tests.server.test_gate import (  # noqa: F401 - fixtures
    guard_env,
    jp_server_config,
    open_kernel,
    server_events,
)

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = pytest.mark.kernel


def _rule_reason(evalue: str) -> tuple[str, str]:
    found = re.match(r"Blocked by jupyter_guard \[([\w-]+)\]: (.*?)\.( Ask for approval|$)",
                     evalue)
    assert found, evalue
    return found.group(1), found.group(2)


def _kernel_rows(audit: Path, code: str, timeout: float = 60) -> list[tuple[Any, ...]]:
    from jupyter_guard.record import ingest

    deadline = time.monotonic() + timeout
    while True:
        ingest(str(audit))
        con = duckdb.connect(str(audit), read_only=True)
        try:
            rows = con.execute("SELECT user_name, decision, rule_id, status FROM events "
                               "WHERE status = 'blocked' AND code = ?", [code]).fetchall()
        finally:
            con.close()
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.3)


async def test_the_gate_and_the_kernel_refuse_the_same_way(
        jp_fetch: Any, jp_ws_fetch: Any, guard_env: dict[str, Path],  # noqa: F811 - fixture
        tmp_path: Path) -> None:
    wh = guard_env["wh"]
    code = f"import duckdb\ncon = duckdb.connect({str(wh)!r})\ncon.execute('DROP TABLE customers')"
    kid, client = await open_kernel(jp_fetch, jp_ws_fetch, v1=False)
    gated = (await client.execute(code))["reply"]["content"]
    await jp_fetch("api", "kernels", kid, method="DELETE")
    rows = server_events(guard_env["audit"], 1)
    gate_row = (rows[0]["user_name"], rows[0]["decision"], rows[0]["rule_id"], rows[0]["status"])

    audit = tmp_path / "kernel-audit.duckdb"
    k = Kernel(wh.parent, {"JUPYTER_GUARD_AUDIT": str(audit), "JUPYTER_GUARD_USER": "alice"})
    try:
        assert k.run("%load_ext jupyter_guard").status == "ok"
        local = k.run(code)
        assert local.status == "error", local.text
        kernel_reply = local.reply
    finally:
        k.stop()
    kernel_rows = _kernel_rows(audit, code)

    assert gated["status"] == "error" and gated["ename"] == "GuardBlocked"
    assert _rule_reason(gated["evalue"]) == _rule_reason(kernel_reply["evalue"])
    for details in (gated["jupyter_guard"], kernel_reply["jupyter_guard"]):
        assert (details["rule_id"], details["decision"]) == ("destructive-ddl", "block"), details
    assert gated["jupyter_guard"]["reason"] == kernel_reply["jupyter_guard"]["reason"]
    assert gate_row == ("alice", "block", "destructive-ddl", "blocked")
    assert kernel_rows and kernel_rows[-1] == gate_row
    con = duckdb.connect(str(wh), read_only=True)
    assert con.execute("SELECT count(*) FROM customers").fetchone() == (10,)
    con.close()


async def test_a_failure_of_the_gate_refuses_on_the_same_path(
        jp_fetch: Any, jp_ws_fetch: Any, guard_env: dict[str, Path],  # noqa: F811 - fixture
        monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyter_guard.server import gate as gate_module
    from tests.server.test_gate import stdout

    kid, client = await open_kernel(jp_fetch, jp_ws_fetch, v1=False)

    def crash(self: Any, *args: Any, **kw: Any) -> Any:  # a crash: the one thing a test may fake
        raise RuntimeError("gate exploded")

    monkeypatch.setattr(gate_module.Gate, "judge", crash)
    res = await client.execute("print('ran')")
    monkeypatch.undo()
    reply = res["reply"]["content"]
    assert reply["status"] == "error" and reply["ename"] == "GuardBlocked", reply
    rule, reason = _rule_reason(reply["evalue"])
    assert rule == "guard-error" and "gate exploded" in reason and "nothing ran" in reason
    assert "\n" not in reply["evalue"]
    details = reply["jupyter_guard"]   # the structured refusal, as every refusal has it
    assert (details["rule_id"], details["decision"]) == ("guard-error", "block")
    assert details["approval"]["possible"] is False
    assert "ran" not in stdout(res)
    rows = server_events(guard_env["audit"], 1)
    assert [(r["user_name"], r["decision"], r["rule_id"], r["status"]) for r in rows] == [
        ("alice", "block", "guard-error", "blocked")]
    ok = await client.execute("print(6 * 7)")   # the gate works again once it is fixed
    assert ok["reply"]["content"]["status"] == "ok" and stdout(ok).strip() == "42"
    await jp_fetch("api", "kernels", kid, method="DELETE")
