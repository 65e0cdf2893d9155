"""A real jupyter server is the authority: the kernels it starts send their events to it, the
ledger records them as the users the gate forwarded cells for, a call without a kernel token is
refused, the governance copy appears, and the ledger verifies."""
from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from tornado.httpclient import HTTPClientError

from jupyter_guard.authority_audit.mac import load_or_create_key
from jupyter_guard.authority_audit.service import AuditAuthority
from jupyter_guard.authority_audit.verify import verify
from jupyter_guard.authority_files import paths
from tests.approvals.server_fixture import ByToken, make_env
from tests.server.test_gate import open_kernel

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = pytest.mark.kernel


@pytest.fixture
def env(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    e = make_env(workdir, "http://127.0.0.1:9/none")
    monkeypatch.setenv("JUPYTER_GUARD_AUDIT", str(e["audit"]))
    monkeypatch.setenv("JUPYTER_GUARD_POLICY", str(e["policy"]))
    monkeypatch.setenv("JUPYTER_GUARD_USER", "mallory")
    monkeypatch.delenv("JUPYTER_GUARD_SERVER_USER", raising=False)
    return e


@pytest.fixture
def jp_server_config(env: dict[str, Path]) -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_guard": True},
                          "identity_provider_class": ByToken}}


async def test_server_keeps_the_kernels_record(jp_fetch: Any, jp_ws_fetch: Any,
                                               jp_serverapp: Any, env: dict[str, Path]) -> None:
    folder = os.path.dirname(paths()[0])
    kid, client = await open_kernel(jp_fetch, jp_ws_fetch, v1=True)
    assert (await client.execute("%load_ext jupyter_guard"))["reply"]["content"]["status"] == "ok"
    assert (await client.execute("x = 41 + 1"))["reply"]["content"]["status"] == "ok"
    forge = ("g = get_ipython()._jupyter_guard_kernel.guard\n"
             "g.audit.begin(user='gina', actor='human', notebook='', cell_id='', "
             "execution_count=None, kind='python', code='claims gina', decision='allow', "
             "rule_id='', reason='', status='ok')")
    assert (await client.execute(forge))["reply"]["content"]["status"] == "ok"
    auth = AuditAuthority.open(folder)
    deadline = time.monotonic() + 60
    while True:
        rows = [json.loads(r.body) for r in auth.ledger.rows()]
        codes = {r.get("code") for r in rows if r["kernel_id"] == kid}
        gate = [r for r in rows if r["kernel_id"] == "server"]
        if {"x = 41 + 1", "claims gina"} <= codes and any(
                r.get("code") == "x = 41 + 1" for r in gate):
            break
        assert time.monotonic() < deadline, codes
        await asyncio.sleep(0.2)
    assert {r["kernel_id"] for r in rows} == {kid, "server"}
    assert {r["user_name"] for r in rows} == {"alice"}   # the gate forwarded alice's cells
    assert {r["kind"] for r in gate} == {"server"}   # the gate's own events, in process
    assert [r.get("claimed_user") for r in rows if r["code"] == "claims gina"] == ["gina"]
    assert verify(auth.ledger, load_or_create_key(folder), auth.public_key).ok
    assert os.stat(os.path.join(folder, "audit.mac.key")).st_mode & 0o077 == 0
    # the kernel endpoint is for kernel tokens only (a user's token is not one)
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch("jupyter-guard", "api", "kernel", "audit", "events", method="POST",
                       body=json.dumps({"events": []}))
    assert e.value.code == 403
    copy = Path(folder) / "audit-authority.duckdb"
    deadline = time.monotonic() + 30
    while True:
        got: list[Any] = []
        if copy.exists():
            con = duckdb.connect(str(copy), read_only=True)
            got = con.execute("SELECT kind, user_name FROM events WHERE code = 'x = 41 + 1' "
                              "ORDER BY kind").fetchall()
            con.close()
        if len(got) == 2:
            break
        assert time.monotonic() < deadline, "no governance copy"
        await asyncio.sleep(0.3)
    assert got == [("python", "alice"), ("server", "alice")]   # the kernel's row, the gate's
