"""A cell the server gate refuses behaves like a kernel error (issue 20): in Run All it answers in
its turn, with busy/idle and an execution count, and the cells queued after it do not run."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.jsonutil import json_default
from jupyter_server.services.kernels.connection.base import serialize_msg_to_ws_v1

from tests.server.test_gate import guard_env, jp_server_config, open_kernel  # noqa: F401

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = pytest.mark.kernel


async def run_all(client: Any, cells: list[str], idle: tuple[int, ...] = ()
                  ) -> tuple[list[dict[str, Any]], list[str]]:
    """Send every cell at once, as JupyterLab's Run All does; the replies and the iopub trail
    (until every reply and the idle status of the cells in ``idle``: iopub and shell are
    separate channels, a reply may come before its cell's last iopub message)."""
    ids = []
    for code in cells:
        msg = client.session.msg("execute_request", {
            "code": code, "silent": False, "store_history": True, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": True})
        ids.append(msg["header"]["msg_id"])
        if client.v1:
            await client.ws.write_message(serialize_msg_to_ws_v1(msg, "shell", client.session.pack),
                                          binary=True)
        else:
            await client.ws.write_message(json.dumps({**msg, "channel": "shell"},
                                                     default=json_default))
    replies: dict[str, dict[str, Any]] = {}
    trail: list[str] = []
    deadline = time.monotonic() + 90
    while len(replies) < len(ids) or any(f"idle{n}" not in trail for n in idle):
        assert time.monotonic() < deadline, (replies, trail)
        got = client.decode(await client.ws.read_message())
        parent = got["parent_header"].get("msg_id")
        if parent not in ids:
            continue
        n = ids.index(parent)
        if got["channel"] == "shell":
            replies[parent] = got
            trail.append(f"reply{n}")
        elif got["msg_type"] == "status":
            trail.append(f"{got['content']['execution_state']}{n}")
        elif got["msg_type"] == "stream":
            trail.append(f"out{n}:{got['content']['text'].strip()}")
        elif got["msg_type"] == "error":
            trail.append(f"error{n}")
    return [replies[i] for i in ids], trail


@pytest.mark.parametrize("v1", [False, True], ids=["legacy-json", "v1-binary"])
async def test_run_all_stops_at_a_gate_refusal(jp_fetch: Any, jp_ws_fetch: Any,
                                               guard_env: dict[str, Path],  # noqa: F811 - fixture
                                               v1: bool) -> None:
    _, client = await open_kernel(jp_fetch, jp_ws_fetch, v1)
    wh = guard_env["wh"]
    cells = [f"import duckdb, time\ncon = duckdb.connect({str(wh)!r})\ntime.sleep(1)\nprint('a')",
             "con.execute('DROP TABLE customers')\nprint('dropped')",
             "print('c')"]
    replies, trail = await run_all(client, cells, idle=(0, 1))
    first, refused, after = (r["content"] for r in replies)
    assert first["status"] == "ok"
    assert refused["status"] == "error" and refused["ename"] == "GuardBlocked"
    assert refused["evalue"].startswith("Blocked by jupyter_guard [destructive-ddl]: ")
    assert refused["execution_count"] == first["execution_count"] + 1
    assert after["status"] in ("aborted", "error")          # stop_on_error: it never ran
    assert "out2:c" not in trail and "out1:dropped" not in trail
    # in order: the refusal after the first cell ended, with its own busy and idle
    assert trail.index("idle0") < trail.index("busy1") < trail.index("error1") < trail.index("idle1")
    check = await client.execute("print(con.execute('SELECT count(*) FROM customers').fetchone())")
    assert "(10,)" in "".join(m["content"].get("text", "") for m in check["iopub"])
