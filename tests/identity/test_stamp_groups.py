"""Per-cell groups come from the server's signed stamp: a group rule applies to alice's cells
because the server says she is in the group, though her kernel's environment names no group;
the same statement sent straight to the kernel (no stamp) is decided with the kernel's own
groups (none), so it runs: the stamp's groups, not the kernel's, decided."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
from jupyter_client.blocking import BlockingKernelClient
from jupyter_core.utils import ensure_async
from jupyter_server.auth.identity import IdentityProvider, User

from tests.identity.test_forgery import direct
from tests.server.test_gate import open_kernel, stdout

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = pytest.mark.kernel

POLICY = """\
version: 1
extends: default
rules:
  - id: analysts-no-ledger
    match: {sql: [insert], tables: [ledger], groups: [analysts]}
    action: block
"""
INSERT = "con.execute(f'INSERT INTO {t} VALUES (1)')"   # the table name only the kernel resolves


def unstamped(connection_file: str, code: str,
              metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """Straight to the kernel's shell socket (blocking: an unstamped cell never calls the
    server, so the server's event loop may wait)."""
    kc = BlockingKernelClient()
    kc.load_connection_file(connection_file)
    kc.start_channels()
    try:
        return direct(kc, code, metadata or {})
    finally:
        kc.stop_channels()


class AnalystAlice(IdentityProvider):
    """alice, in the hub group ``analysts`` (as a JupyterHub user model carries it)."""

    async def get_user(self, handler: Any) -> User | None:
        anonymous = await ensure_async(super().get_user(handler))
        if not anonymous:
            return None
        user = User("alice")
        user.hub_user = {"name": "alice", "groups": ["analysts"]}  # type: ignore[attr-defined]
        return user


@pytest.fixture
def env(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    wh = workdir / "wh.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("CREATE TABLE ledger (id INTEGER)")
    con.close()
    (workdir / "policy.yaml").write_text(POLICY)
    monkeypatch.setenv("JUPYTER_GUARD_AUDIT", str(workdir / "audit.duckdb"))
    monkeypatch.setenv("JUPYTER_GUARD_POLICY", str(workdir / "policy.yaml"))
    monkeypatch.setenv("JUPYTER_GUARD_USER", "alice")
    monkeypatch.delenv("JUPYTERHUB_GROUPS", raising=False)
    monkeypatch.delenv("JUPYTER_GUARD_SERVER_USER", raising=False)
    return {"wh": wh}


@pytest.fixture
def jp_server_config(env: dict[str, Path]) -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_guard": True},
                          "identity_provider_class": AnalystAlice}}


async def test_group_rules_use_the_stamps_groups(jp_fetch: Any, jp_ws_fetch: Any,
                                                 jp_serverapp: Any, env: dict[str, Path]) -> None:
    kid, client = await open_kernel(jp_fetch, jp_ws_fetch, v1=True)
    assert (await client.execute("%load_ext jupyter_guard"))["reply"]["content"]["status"] == "ok"
    opened = await client.execute(f"import duckdb\ncon = duckdb.connect({str(env['wh'])!r})\n"
                                  "t = 'ledger'")
    assert opened["reply"]["content"]["status"] == "ok", opened
    status = stdout(await client.execute("%guard status"))
    assert "groups" not in status.split("user", 1)[1].splitlines()[0]   # the kernel has none
    refused = await client.execute(INSERT)
    reply = refused["reply"]["content"]
    assert reply["status"] == "error" and "[analysts-no-ledger]" in reply["evalue"], reply
    # no stamp: the kernel's own groups (none), so the group rule does not apply
    ran = unstamped(jp_serverapp.kernel_manager.get_kernel(kid).connection_file, INSERT)
    assert ran["status"] == "ok", ran
    count = await client.execute("print(con.execute('SELECT count(*) FROM ledger').fetchone()[0])")
    assert stdout(count).strip() == "1"
    await jp_fetch("api", "kernels", kid, method="DELETE")
