"""The audit record kept by the hub service: a real JupyterHub (configurable-http-proxy,
LocalProcessSpawner, alice and gina as OS users), the guard's service under ``jgauth`` writing a
real PostgreSQL ledger with an INSERT-only role. Both users' kernels ship their journals to the
service with their server's hub token; one governance query, on PostgreSQL and on the DuckDB
copy, sees both users' events, each as the user the hub names, whatever a cell claims; the
single-user server's own token cannot write an event as anyone else, and each server's gate
sends the cells it saw, as its owner."""
from __future__ import annotations

import os
import pwd
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
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
    wait,
)

pytestmark = [pytest.mark.kernel, pytest.mark.timeout(1800)]

POLICY = "version: 1\nextends: default\n"
FORGE_OWN = """\
g = get_ipython()._jupyter_guard_kernel.guard
g.audit.begin(user="gina", actor="human", notebook="", cell_id="", execution_count=None,
              kind="python", code="alice says she is gina", decision="allow", rule_id="",
              reason="", status="ok")
"""
QUERY = ("SELECT user_name, count(*) AS events, count(*) FILTER (WHERE status = 'blocked') "
         "FROM {t} GROUP BY ALL ORDER BY user_name")


@pytest.fixture(scope="module")
def ledger() -> Iterator[Any]:
    from jupyter_guard.authority_audit import pg as pgledger
    from tests.pg.pgserver import start

    server = start()
    try:
        server.query("CREATE DATABASE ledger", db="postgres")
        server.query("CREATE ROLE guard_writer LOGIN", db="postgres")
        pgledger.setup(server.dsn("ledger"), "guard_writer")
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def hub(ledger: Any) -> Iterator[Hub]:
    def governance_folder(root: Path) -> None:   # the copy governance reads, written by jgauth
        alices_warehouse(root)
        (root / "governance").mkdir(mode=0o755)
        jg = pwd.getpwnam("jgauth")
        os.chown(root / "governance", jg.pw_uid, jg.pw_gid)

    env = {"JUPYTER_GUARD_AUDIT_DSN": ledger.dsn("ledger", "guard_writer"),
           "JUPYTER_GUARD_AUDIT_COPY": "{root}/governance/audit.duckdb"}
    with running_hub(POLICY, governance_folder, env) as h:
        yield h


def copy_rows(hub: Hub) -> list[tuple[Any, ...]]:
    copy = hub.root / "governance" / "audit.duckdb"
    if not copy.exists():
        return []
    con = duckdb.connect(str(copy), read_only=True)
    try:
        return con.execute(QUERY.format(t="events")).fetchall()
    finally:
        con.close()


def test_both_users_kernels_recorded_by_the_hub_service_as_the_hub_names_them(
        hub: Hub, ledger: Any) -> None:
    alice_t, gina_t = hub.token("alice"), hub.token("gina")
    hub.spawn("alice")
    hub.spawn("gina")
    a, g = KernelWs(hub, "alice", alice_t), KernelWs(hub, "gina", gina_t)
    try:
        for k in (a, g):
            assert k.run("%load_ext jupyter_guard")[0]["status"] == "ok"
        assert a.run("x = 1")[0]["status"] == "ok"
        wh = hub.root / "alice" / "wh.duckdb"
        assert a.run(f"import duckdb\ncon = duckdb.connect({str(wh)!r})")[0]["status"] == "ok"
        blocked = a.run("%%guarded_sql con\nDROP TABLE customers")[0]
        assert blocked["status"] == "error" and blocked["ename"] == "GuardBlocked", blocked
        own = a.run(FORGE_OWN)[0]
        assert g.run("y = 2")[0]["status"] == "ok"
        assert g.run("z = y + 1")[0]["status"] == "ok"

        # alice's server token (which her kernels can read) posts an event claiming gina
        forged = {"event_id": uuid.uuid4().hex, "session_id": "s-forged", "user_name": "gina",
                  "kind": "python", "code": "posted with alice's server token",
                  "decision": "allow", "status": "ok"}
        events = hub.service("kernel/audit/events")
        code, got = call(events, server_token(hub.root, "alice"), {"events": [forged]})
        assert code == 200 and got["acked"] == [forged["event_id"]], (code, got)
        assert call(events, "", {"events": [forged]})[0] in (302, 403)
        assert call(events, "not-a-token", {"events": [forged]})[0] in (302, 403)

        # one governance query on the PostgreSQL ledger sees both users within 10 s
        seen: list[Any] = []

        def both() -> list[tuple[Any, ...]]:
            rows = seen[:] = ledger.query(
                "SELECT user_name, count(*), count(*) FILTER (WHERE body::jsonb->>'status' "
                "= 'blocked') FROM guard_audit.events GROUP BY 1 ORDER BY 1", db="ledger")
            got = {r[0]: r for r in rows}
            return rows if got.get("alice", (0, 0, 0))[2] >= 1 and \
                got.get("gina", (0, 0, 0))[1] >= 2 else []

        t0 = time.monotonic()
        rows = wait(both, "both users' events in the hub's ledger", timeout=60, seen=seen)
        assert {r[0] for r in rows} == {"alice", "gina"}, rows
        waited = time.monotonic() - t0
        assert waited < 10 or os.getloadavg()[0] > 8, f"{waited:.1f} s"

        def claims() -> list[tuple[Any, ...]]:
            return ledger.query("SELECT user_name, body::jsonb->>'claimed_user', "
                                "body::jsonb->>'code', kernel_id FROM guard_audit.events "
                                "WHERE body::jsonb->>'claimed_user' = 'gina'", db="ledger")

        forged_rows = {r[2]: r for r in wait(lambda: len(claims()) >= (2 if own["status"] == "ok"
                                                                       else 1) and claims(),
                                             "the claims of gina")}
        assert forged_rows["posted with alice's server token"][:2] == ("alice", "gina")
        if own["status"] == "ok":   # the guard's own AuditLog, called from alice's cell
            assert forged_rows["alice says she is gina"][:2] == ("alice", "gina")
        # each single-user server's gate sends the cells it saw too, as its owner
        def gates() -> set[tuple[Any, ...]]:
            got = ledger.query("SELECT DISTINCT user_name, kernel_id FROM guard_audit.events "
                               "WHERE kernel_id LIKE '%/server'", db="ledger")
            return set(got) if len(got) >= 2 else set()

        assert wait(gates, "the gates' events") == {("alice", "alice/server"),
                                                    ("gina", "gina/server")}
        # a gate's events can reach the ledger before the kernel's own: wait for both kernels
        seen_kernels: list[Any] = []

        def kernel_rows() -> list[tuple[Any, ...]]:
            got = seen_kernels[:] = ledger.query(
                "SELECT DISTINCT user_name, kernel_id FROM guard_audit.events "
                "WHERE kernel_id NOT LIKE '%/server'", db="ledger")
            ids = {k.split("/", 1)[1] for _, k in got}
            return got if {a.kernel_id, g.kernel_id} <= ids else []

        kernels = wait(kernel_rows, "both kernels' own events", timeout=60, seen=seen_kernels)
        assert all(k.startswith(f"{u}/") for u, k in kernels), kernels

        # the same query on the DuckDB copy the service keeps for governance
        def copied() -> list[tuple[Any, ...]]:
            got = {r[0]: r for r in copy_rows(hub)}
            return list(got.values()) if got.get("alice", (0, 0, 0))[2] >= 1 and \
                got.get("gina", (0, 0, 0))[1] >= 2 else []

        assert {r[0] for r in wait(copied, "both users in the governance copy",
                                   timeout=60)} == {"alice", "gina"}
        a.run("con.close()")
    finally:
        a.close()
        g.close()
    # the chain verifies with the service's key, read from its folder (root may; alice may not)
    cli = subprocess.run(
        [sys.executable, "-m", "jupyter_guard.cli", "verify", "--authority",
         str(hub.service_dir), "--dsn", ledger.dsn("ledger", "guard_writer")],
        env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
        timeout=300)
    assert cli.returncode == 0, cli.stdout + cli.stderr
