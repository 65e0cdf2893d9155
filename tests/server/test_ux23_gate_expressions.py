"""The server gate judges an ``execute_request``'s ``user_expressions`` as it judges its code: a
real jupyter_server, a real kernel that never loaded the guard, a real websocket client.

IPython evaluates ``user_expressions`` after the cell; with no guard in the kernel the server
is all that stands between them and the files. A refused expression refuses the whole request
(the cell does not run either, no expression is evaluated), the server's audit row names it;
``len(x)`` and ``6 * 7`` beside an allowed cell still come back with their values.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.server.test_gate import Alice, guard_env, open_kernel, server_events, stdout

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = pytest.mark.kernel
__all__ = ["guard_env"]   # the fixture, used by name


@pytest.fixture
def jp_server_config(guard_env: dict[str, Path]) -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_guard": True},
                          "identity_provider_class": Alice}}


async def test_a_refused_expression_refuses_the_request(
        jp_fetch: Any, jp_ws_fetch: Any, guard_env: dict[str, Path], workdir: Path) -> None:
    kid, client = await open_kernel(jp_fetch, jp_ws_fetch, v1=False)
    wh = guard_env["wh"]
    victim = workdir / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("keep")
    await client.execute(f"import duckdb, os\ncon = duckdb.connect({str(wh)!r})\nx = [1, 2, 3]")
    attacks = {"rm": f"__import__('os').system('rm -rf {victim}')",
               "drop": "con.execute('DROP TABLE customers')"}
    for key, expr in attacks.items():
        for code in ("", "print('ran')"):
            res = await client.execute(code, user_expressions={key: expr, "n": "len(x)"})
            reply = res["reply"]["content"]
            assert reply["status"] == "error" and reply["ename"] == "GuardBlocked", reply
            assert "user_expressions" in reply["evalue"], reply
            assert reply.get("user_expressions", {}) == {}, reply   # none was evaluated
            assert "ran" not in stdout(res)
    assert (victim / "keep.txt").read_text() == "keep"
    res = await client.execute("print(con.execute('SELECT count(*) FROM customers').fetchone())")
    assert stdout(res).strip() == "(10,)", res   # the table is there
    rows = server_events(guard_env["audit"], 6)
    refused = [r for r in rows if r["decision"] == "block"]
    assert len(refused) == 4 and all(r["status"] == "blocked" for r in refused), rows
    assert all("# user_expressions[" in r["code"] for r in refused), refused
    assert {r["rule_id"] for r in refused} == {"destructive-files", "destructive-ddl"}, refused
    await jp_fetch("api", "kernels", kid, method="DELETE")


async def test_benign_expressions_pass_the_server(
        jp_fetch: Any, jp_ws_fetch: Any, guard_env: dict[str, Path]) -> None:
    kid, client = await open_kernel(jp_fetch, jp_ws_fetch, v1=False)
    res = await client.execute("x = list(range(5))", user_expressions={"n": "len(x)", "m": "6 * 7"})
    reply = res["reply"]["content"]
    assert reply["status"] == "ok", reply
    values = {k: v["data"]["text/plain"] for k, v in reply["user_expressions"].items()}
    assert values == {"n": "5", "m": "42"}, reply
    rows = server_events(guard_env["audit"], 1)
    assert rows[-1]["decision"] == "allow" and rows[-1]["status"] == "ok", rows
    assert "# user_expressions['n']: len(x)" in rows[-1]["code"], rows
    await jp_fetch("api", "kernels", kid, method="DELETE")
