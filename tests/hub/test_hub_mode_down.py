"""Hub mode fails closed: a server told to use a hub service it cannot reach holds no key of its
own, so its kernels get none (every cell runs as the owner, no approval can exist), the refused
DROP stays refused and the table stays; the approvals API answers 503 naming the service."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from tornado.httpclient import HTTPClientError

from jupyter_guard.authority import KEY_FILE_ENV, PUBKEY_ENV
from jupyter_guard.hub import client
from tests.hub.hubutil import free_port
from tests.server.test_gate import Alice, open_kernel, stdout

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = pytest.mark.kernel

DROP = "%%guarded_sql con\nDROP TABLE customers"


@pytest.fixture
def env(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    wh = workdir / "wh.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("CREATE TABLE customers AS SELECT range AS id FROM range(10)")
    con.close()
    monkeypatch.setenv("JUPYTER_GUARD_AUDIT", str(workdir / "audit.duckdb"))
    monkeypatch.delenv("JUPYTER_GUARD_POLICY", raising=False)
    monkeypatch.delenv(PUBKEY_ENV, raising=False)
    monkeypatch.setenv(KEY_FILE_ENV, str(workdir / "would-be-local.key"))
    monkeypatch.setenv(client.URL_ENV, f"http://127.0.0.1:{free_port()}/services/jupyter-guard/")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "a-token-of-the-servers-owner")
    monkeypatch.setattr(client, "START_WAIT_S", 1.0)
    return {"wh": wh, "dir": workdir}


@pytest.fixture
def jp_server_config(env: dict[str, Path]) -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_guard": True},
                          "identity_provider_class": Alice}}


async def test_an_unreachable_hub_service_leaves_no_key_and_no_approval(
        jp_fetch: Any, jp_ws_fetch: Any, env: dict[str, Path]) -> None:
    _, k = await open_kernel(jp_fetch, jp_ws_fetch, v1=True)
    got = await k.execute(f"import os; print(repr(os.environ.get({PUBKEY_ENV!r})))")
    assert stdout(got).strip() == "None"                        # no key reached the kernel
    assert not (env["dir"] / "would-be-local.key").exists()     # and none was made locally
    assert (await k.execute("%load_ext jupyter_guard"))["reply"]["content"]["status"] == "ok"
    assert "local: no server authority key" in stdout(await k.execute("%guard status"))
    opened = await k.execute(f"import duckdb\ncon = duckdb.connect({str(env['wh'])!r})")
    assert opened["reply"]["content"]["status"] == "ok"
    refused = (await k.execute(DROP))["reply"]["content"]
    assert refused["status"] == "error" and refused["ename"] == "GuardBlocked", refused
    # the kernel has nothing it could request (the gate refused; no signed stamp told it)
    assert (await k.execute("%guard request please"))["reply"]["content"]["status"] == "error"
    listed = await k.execute("print(con.execute(\"SELECT count(*) FROM customers\")"
                             ".fetchone()[0])")
    assert stdout(listed).strip() == "10"
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch("jupyter-guard", "api", "approvals")
    assert e.value.code == 503
    assert e.value.response is not None
    assert "could not be reached" in json.loads(e.value.response.body)["message"]
