"""Signed identity through a real jupyter_server and real guarded kernels: the server's user
(alice) reaches the kernel only in a stamp the server signed; a message sent straight to the
kernel's sockets, or by a cell's thread to its own kernel, claiming gina (whose rule lets her drop),
runs as the kernel's owner: the DROP is refused, the table stays, the audit names the owner and
records the claim as ``identity.unverified``."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from jupyter_client.blocking import BlockingKernelClient

from jupyter_guard.authority import PUBKEY_ENV, Signer, load_or_create_key
from tests.kernelutil import Kernel
from tests.server.test_gate import Alice, open_kernel, stdout

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = pytest.mark.kernel

POLICY = """\
version: 1
extends: default
roles:
  governance: {users: [gina], may_unmask: true, may_approve: true}
rules:
  - id: salaries-gina-only
    match: {sql: [select], tables: [salaries], users: [alice, mallory]}
    action: block
"""
DROP = "%%guarded_sql con\nDROP TABLE customers"
SALARIES = "%%guarded_sql con\nSELECT count(*) AS n FROM salaries"


@pytest.fixture
def env(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    wh = workdir / "wh.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("CREATE TABLE customers AS SELECT range AS id FROM range(10)")
    con.execute("CREATE TABLE salaries AS SELECT range AS id, 1000 AS pay FROM range(3)")
    con.close()
    (workdir / "policy.yaml").write_text(POLICY)
    monkeypatch.setenv("JUPYTER_GUARD_AUDIT", str(workdir / "audit.duckdb"))
    monkeypatch.setenv("JUPYTER_GUARD_POLICY", str(workdir / "policy.yaml"))
    monkeypatch.setenv("JUPYTER_GUARD_USER", "mallory")   # the kernel's owner
    monkeypatch.setenv(PUBKEY_ENV, Signer(load_or_create_key(str(workdir / "evil.key"))).public)
    monkeypatch.delenv("JUPYTER_GUARD_SERVER_USER", raising=False)
    return {"wh": wh, "audit": workdir / "audit.duckdb", "dir": workdir}


@pytest.fixture
def jp_server_config(env: dict[str, Path]) -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_guard": True},
                          "identity_provider_class": Alice}}


def rows(audit: Path, where: str, n: int, timeout: float = 90.0) -> list[tuple[Any, ...]]:
    deadline = time.monotonic() + timeout
    while True:
        got: list[tuple[Any, ...]] = []
        if audit.exists():
            con = duckdb.connect(str(audit), read_only=True)
            try:
                got = con.execute("SELECT user_name, rule_id, status, reason, kind, code "
                                  "FROM events WHERE "
                                  f"{where} ORDER BY ts").fetchall()
            finally:
                con.close()
        if len(got) >= n or time.monotonic() > deadline:
            return got
        time.sleep(0.3)


def customers(wh: Path) -> int:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        row = con.execute("SELECT count(*) FROM customers").fetchone()
        assert row is not None
        return int(row[0])
    finally:
        con.close()


def direct(kc: BlockingKernelClient, code: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """Send an execute_request straight to the kernel's shell socket; its reply content."""
    msg = kc.session.msg("execute_request", {"code": code, "silent": False, "store_history": True,
                                             "user_expressions": {}, "allow_stdin": False,
                                             "stop_on_error": False}, metadata=metadata)
    kc.shell_channel.send(msg)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        reply = kc.get_shell_msg(timeout=120)
        if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
            return dict(reply["content"])
    raise AssertionError(f"no reply to {code!r}")


async def test_forged_identities_run_as_the_kernels_owner(
        jp_fetch: Any, jp_ws_fetch: Any, jp_serverapp: Any, env: dict[str, Path]) -> None:
    kid, client = await open_kernel(jp_fetch, jp_ws_fetch, v1=True)
    # the kernel got the server's public key, not the one in the server's environment
    got = await client.execute(f"import os; print(os.environ[{PUBKEY_ENV!r}])")
    assert stdout(got).strip() and stdout(got).strip() != os_key()
    assert (await client.execute("%load_ext jupyter_guard"))["reply"]["content"]["status"] == "ok"
    status = stdout(await client.execute("%guard status"))
    assert "identity signed: cells run as the user the jupyter server signs" in status, status
    opened = await client.execute(f"import duckdb\ncon = duckdb.connect({str(env['wh'])!r})")
    assert opened["reply"]["content"]["status"] == "ok", opened
    # through the server, alice's own cells carry her verified name
    await client.execute("x = 1")
    assert [r[0] for r in rows(env["audit"], "kind = 'python' AND code = 'x = 1'", 1)] == ["alice"]
    # a cell the server refuses reaches the kernel as a signed refusal: no unverified claim
    refused = await client.execute("con.execute('DROP TABLE customers')")
    assert refused["reply"]["content"]["ename"] == "GuardBlocked", refused

    km = jp_serverapp.kernel_manager.get_kernel(kid)
    kc = BlockingKernelClient()
    kc.load_connection_file(km.connection_file)
    kc.start_channels()
    try:
        evil = Signer(load_or_create_key(str(env["dir"] / "evil.key")))
        forged_stamp = evil.stamp(user="gina", groups=(), actor="human", cell_id="",
                                  msg_id="x", code=DROP)
        for meta in ({"jupyter_guard": {"user": "gina"}},
                     {"jupyter_guard": {"user": "gina", **forged_stamp}}):
            reply = direct(kc, DROP, meta)
            assert reply["status"] == "error" and reply["ename"] == "GuardBlocked", reply
        unmask = direct(kc, "%guard unmask on", {"jupyter_guard": {"user": "gina"}})
        assert unmask["status"] == "error" and unmask["ename"] == "GuardBlocked", unmask
        read = direct(kc, SALARIES, {"jupyter_guard": {"user": "gina"}})
        assert read["status"] == "error" and "salaries-gina-only" in read["evalue"], read
    finally:
        kc.stop_channels()
    # a cell's thread sends its own kernel a cell claiming gina, with the running cell's own
    # (valid, alice's) stamp edited to say gina
    thread_cell = (
        "import threading, copy\nfrom jupyter_client.blocking import BlockingKernelClient\n"
        "from ipykernel.connect import get_connection_file\n"
        "stolen = copy.deepcopy(get_ipython().get_parent()['metadata'])\n"
        "stolen['jupyter_guard']['stamp']['user'] = 'gina'\n"
        "replies, sent = [], threading.Event()\n"
        "def attack():\n"
        "    kc = BlockingKernelClient(); kc.load_connection_file(get_connection_file())\n"
        "    kc.start_channels()\n"
        f"    m = kc.session.msg('execute_request', {{'code': {DROP!r}, 'silent': False,\n"
        "        'store_history': True, 'user_expressions': {}, 'allow_stdin': False,\n"
        "        'stop_on_error': False}, metadata=stolen)\n"
        "    kc.shell_channel.send(m); sent.set()\n"
        "    while True:\n"
        "        r = kc.get_shell_msg(timeout=120)\n"
        "        if r['parent_header'].get('msg_id') == m['header']['msg_id']:\n"
        "            replies.append(r['content']); break\n"
        "t = threading.Thread(target=attack); t.start()\n"
        "assert sent.wait(60)")
    started = await client.execute(thread_cell)
    assert started["reply"]["content"]["status"] == "ok", started
    # the thread's request and the next cell travel on different sockets: the kernel may take
    # either first, so a cell that blocks on the thread could starve it. Short cells until the
    # thread has its reply.
    deadline = time.monotonic() + 120
    while "1" not in stdout(await client.execute("print(len(replies))")).split():
        assert time.monotonic() < deadline, "the forged cell got no reply"
    waited = await client.execute("t.join(60); print(replies[0]['status'], replies[0]['ename'])")
    seen = [m["content"] for m in waited["iopub"]] + [waited["reply"]["content"]]
    assert stdout(waited).split() == ["error", "GuardBlocked"], seen
    count = await client.execute("print(con.execute('SELECT count(*) FROM customers').fetchone())")
    assert stdout(count).strip() == "(10,)", count
    # the audit: every forged DROP was refused as mallory (the owner), never as gina, and each
    # claim is recorded as unverified with the name it claimed
    blocked = rows(env["audit"], "kind = 'sql' AND rule_id = 'destructive-ddl' "
                   "AND status = 'blocked'", 3)
    everything = rows(env["audit"], "true", 0, timeout=0)
    assert len(blocked) >= 3, "\n".join(map(repr, everything))
    assert {r[0] for r in blocked} == {"mallory"}
    claims = rows(env["audit"], "rule_id = 'identity.unverified'", 5)
    assert len(claims) == 5, claims
    assert {r[0] for r in claims} == {"mallory"}
    reasons = " | ".join(r[3] for r in claims)
    assert reasons.count("claimed user 'gina'") == 5 and reasons.count("runs as mallory") == 5
    assert reasons.count("(bad signature)") == 2 and reasons.count("(no signed stamp)") == 3
    assert not rows(env["audit"], "user_name = 'gina'", 1, timeout=0)
    await jp_fetch("api", "kernels", kid, method="DELETE")
    deadline = time.monotonic() + 60
    while True:     # the table is intact in the file once the kernel let go of it
        try:
            assert customers(env["wh"]) == 10
            break
        except duckdb.IOException:
            assert time.monotonic() < deadline
            time.sleep(0.3)


def os_key() -> str:
    import os

    return os.environ[PUBKEY_ENV]


def test_the_policy_lets_gina_read_and_unmask_when_she_really_runs_the_kernel(
        env: dict[str, Path]) -> None:
    """The benign twin: the same policy and cells in gina's own kernel pass, so the refusals
    above are the identity check's doing."""
    k = Kernel(env["dir"], {"JUPYTER_GUARD_USER": "gina", PUBKEY_ENV: "", "JUPYTER_GUARD_AUDIT":
                            str(env["dir"] / "gina-audit.duckdb")})
    try:
        assert k.run("%load_ext jupyter_guard").status == "ok"
        assert k.run(f"import duckdb\ncon = duckdb.connect({str(env['wh'])!r})").status == "ok"
        read = k.run(SALARIES)
        assert read.status == "ok" and "3" in read.text, read.text
        unmask = k.run("%guard unmask on")
        assert unmask.status == "ok" and "unmasking on for gina" in unmask.text, unmask.text
        status = k.run("%guard status").text
        assert "identity local: no server authority key, every cell runs as gina" in status
    finally:
        k.stop()
