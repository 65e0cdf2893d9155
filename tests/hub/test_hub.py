"""The authority as a JupyterHub-managed service under its own OS account, with a real hub:
LocalProcessSpawner runs alice's and gina's servers as their own OS accounts, the proxy is
configurable-http-proxy, the guard's service runs as ``jgauth`` and holds the key in its 0700
folder. Alice's kernel cannot read the key and nothing of it reaches a message; alice's refused
DROP is requested, approved by gina through the hub with gina's token, runs once, and is refused
again; the table's state proves each step."""
from __future__ import annotations

import base64
import hashlib
import os
import pwd
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import duckdb
import pytest

from tests.hub.hubutil import (
    REPO,
    Hub,
    KernelWs,
    alices_warehouse,
    call,
    running_hub,
    server_token,
)

pytestmark = [pytest.mark.kernel, pytest.mark.timeout(1800)]

POLICY = """\
version: 1
extends: default
roles:
  governance: {users: [gina], may_approve: true}
"""
DROP = "%%guarded_sql con\nDROP TABLE customers"


def refused(reply: dict[str, Any]) -> bool:
    return reply["status"] == "error" and reply.get("ename") == "GuardBlocked"


@pytest.fixture(scope="module")
def hub() -> Iterator[Hub]:
    with running_hub(POLICY, alices_warehouse) as h:
        yield h


def test_the_key_is_the_services_and_gina_approves_alices_drop_through_the_hub(hub: Hub) -> None:
    key = hub.service_dir / "authority.key"
    # the service created its key in its own 0700 folder, as its own account
    owner = pwd.getpwnam("jgauth").pw_uid
    assert key.stat().st_uid == owner and stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(hub.service_dir.stat().st_mode) == 0o700
    pem = key.read_text()
    secret = "".join(pem.strip().splitlines()[1:-1])
    raw = base64.b64decode(secret)[-32:]            # the Ed25519 seed, as the PEM holds it

    alice_t, gina_t = hub.token("alice"), hub.token("gina")
    hub.spawn("alice")
    k = KernelWs(hub, "alice", alice_t)
    try:
        reply, out = k.run("import os, pwd\nprint(pwd.getpwuid(os.getuid()).pw_name)\n"
                           "print(os.environ['JUPYTER_GUARD_AUTHORITY_PUBKEY'])")
        assert reply["status"] == "ok", reply
        who, public = out.split()
        assert who == "alice"
        assert public == call(hub.service("pubkey"))[1]["public_key"]   # the service's key
        assert k.run("%load_ext jupyter_guard")[0]["status"] == "ok"
        status = k.run("%guard status")[1]
        assert "signed: cells run as the user the jupyter server signs" in status, status
        assert "approvals through the server" in status, status
        assert "JupyterHub: the key is the guard's hub service's" in status, status

        # alice's kernel cannot read the key: the OS refuses (another account's 0600 file)
        reply, out = k.run(
            "attempts = []\n"
            f"for f in (lambda: open({str(key)!r}, 'rb').read(),\n"
            f"          lambda: os.listdir({str(hub.service_dir)!r})):\n"
            "    try:\n"
            "        f()\n"
            "        attempts.append('READ')\n"
            "    except PermissionError as e:\n"
            "        attempts.append(f'PermissionError {e.errno}')\n"
            "print(attempts)")
        assert reply["status"] == "ok", reply
        assert out.strip() == "['PermissionError 13', 'PermissionError 13']", out

        wh = hub.root / "alice" / "wh.duckdb"
        assert k.run(f"import duckdb\ncon = duckdb.connect({str(wh)!r})")[0]["status"] == "ok"
        count = "print(con.execute(\"SELECT count(*) FROM duckdb_tables() WHERE table_name = " \
                "'customers'\").fetchone()[0])"

        # refused, requested, still there
        assert refused(k.run(DROP)[0])
        reply, out = k.run("%guard request nightly rebuild")
        assert reply["status"] == "ok", reply
        found = re.search(r"Approval requested: (\w+)", out)
        assert found, out
        rid = found.group(1)
        assert k.run(count)[1].strip() == "1"

        # gina sees it through the hub; alice may not decide her own; claims decide nothing
        code, seen = call(hub.service("approvals?status=pending"), gina_t)
        assert code == 200 and seen["may_approve"] is True, seen
        row = [r for r in seen["requests"] if r["id"] == rid]
        assert [(r["requester"], r["code"], r["may_decide"]) for r in row] == \
            [("alice", DROP, True)], seen
        assert call(hub.service(f"approvals/{rid}"), alice_t, {"decision": "approve"})[0] == 403
        assert call(hub.service(f"approvals/{rid}"), "", {"decision": "approve"})[0] in (302,
                                                                                           403)
        cli = subprocess.run(
            [sys.executable, "-m", "jupyter_guard.cli", "approve", rid, "--url",
             f"{hub.url}/services/jupyter-guard/", "--token", alice_t],
            env={**os.environ, "JUPYTER_GUARD_USER": "gina", "PYTHONPATH": str(REPO)},
            capture_output=True, text=True, timeout=300)
        assert cli.returncode == 1 and "alice has no role that may approve" in cli.stderr, cli
        assert refused(k.run(DROP)[0]) and k.run(count)[1].strip() == "1"

        # gina's own server (hub mode) lists it for her sidebar, from the service's store
        hub.spawn("gina")
        code, listed = call(f"{hub.url}/user/gina/jupyter-guard/api/approvals?status=pending",
                            gina_t)
        assert code == 200 and listed["may_approve"] is True, listed
        assert [(r["requester"], r["may_decide"]) for r in listed["requests"]
                if r["id"] == rid] == [("alice", True)], listed
        code, mine = call(f"{hub.url}/user/alice/jupyter-guard/api/approvals?status=mine",
                          alice_t)
        assert code == 200 and [(r["status"], r["may_decide"]) for r in mine["requests"]
                                if r["id"] == rid] == [("pending", False)], mine

        # alice's server token (her server's environment, which her kernels can read) speaks
        # for alice only: no stamp for gina, no decision on her own request
        server_t = server_token(hub.root, "alice")
        assert call(hub.service("server/stamp"), server_t, {
            "user": "gina", "actor": "human", "msg_id": "m", "code_sha256": "0" * 64})[0] == 403
        assert call(hub.service(f"server/requests/{rid}/decide"), server_t,
                    {"decision": "approve"})[0] == 403
        assert call(hub.service(f"approvals/{rid}"), server_t, {"decision": "approve"})[0] == 403

        # gina approves through the hub with her own token: the cell runs once
        code, decided = call(hub.service(f"approvals/{rid}"), gina_t,
                             {"decision": "approve", "reason": "ok for tonight"})
        assert code == 200 and (decided["status"], decided["decided_by"]) == \
            ("approved", "gina"), decided
        # gina cannot spend alice's approval for herself
        assert call(hub.service("server/spend"), gina_t, {
            "code_sha256": hashlib.sha256(DROP.encode()).hexdigest(), "msg_id": "x",
            "kernel_id": k.kernel_id})[0] == 404
        ran = k.run(DROP)[0]
        assert ran["status"] == "ok", ran
        assert k.run(count)[1].strip() == "0"
        # the table is made again outside this kernel (so it is not a table the session made)
        assert k.run("con.close()")[0]["status"] == "ok"
        made = duckdb.connect(str(wh))
        made.execute("CREATE TABLE customers AS SELECT range AS id FROM range(5)")
        made.close()
        assert k.run(f"con = duckdb.connect({str(wh)!r})")[0]["status"] == "ok"
        again = k.run(DROP)[0]
        assert refused(again) and "[destructive-ddl]" in again["evalue"], again
        assert k.run(count)[1].strip() == "1"
        code, after = call(hub.service("approvals?status=all"), gina_t)
        assert [r["status"] for r in after["requests"] if r["id"] == rid] == ["used"]

        # asked again, gina denies from her own server (the sidebar's button): the service holds
        # the decision, and the DROP stays refused
        reply, out = k.run("%guard request once more")
        found = re.search(r"Approval requested: (\w+)", out)
        assert reply["status"] == "ok" and found, (reply, out)
        second = found.group(1)
        code, denied = call(f"{hub.url}/user/gina/jupyter-guard/api/approvals/{second}", gina_t,
                            {"decision": "deny", "reason": "not twice"})
        assert code == 200 and (denied["status"], denied["decided_by"]) == ("denied", "gina"), \
            denied
        code, held = call(hub.service("approvals?status=all"), gina_t)
        assert [r["status"] for r in held["requests"] if r["id"] == second] == ["denied"]
        assert refused(k.run(DROP)[0]) and k.run(count)[1].strip() == "1"

        # nothing of the key reached any message alice's server sent
        for text in k.seen:
            assert secret not in text and raw.hex() not in text
            assert base64.b64encode(raw).decode() not in text
        k.run("con.close()")
    finally:
        k.close()
    con = duckdb.connect(str(hub.root / "alice" / "wh.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM customers").fetchone() == (5,)
    finally:
        con.close()
