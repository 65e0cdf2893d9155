"""Two hosts, one record: two guarded kernels with their own journal folders send their events
to one authority process writing to a real PostgreSQL; one governance query on the mover's
DuckDB copy sees both within 10 s, each event as the user the authority knows for its kernel."""
from __future__ import annotations

import time
from pathlib import Path

import duckdb

from tests.authority_audit.authority_proc import AuthorityProc, writer_dsn
from tests.kernelutil import guarded_kernel
from tests.pg.conftest import Db

FORGE = """\
import json, os, urllib.request
body = {"events": [{"event_id": "forged-1", "session_id": "s-forged", "user_name": "bob",
                    "kind": "python", "decision": "allow", "status": "ok"}]}
req = urllib.request.Request(os.environ["JUPYTER_GUARD_SERVER_URL"]
                             + "jupyter-guard/api/kernel/audit/events",
                             data=json.dumps(body).encode(), method="POST",
                             headers={"X-Jupyter-Guard-Kernel":
                                      os.environ["JUPYTER_GUARD_KERNEL_TOKEN"]})
print(urllib.request.urlopen(req).read())
"""
FORGE_OWN = """\
g = get_ipython()._jupyter_guard_kernel.guard
g.audit.begin(user="bob", actor="human", notebook="", cell_id="", execution_count=None,
              kind="python", code="forged by alice", decision="allow", rule_id="", reason="",
              status="ok")
"""
QUERY = """SELECT kernel_id, user_name, count(*) AS events,
                  count(*) FILTER (WHERE status = 'blocked') AS blocked
           FROM events GROUP BY ALL ORDER BY kernel_id"""


def governance(copy: Path) -> list[tuple[object, ...]]:
    if not copy.exists():
        return []
    con = duckdb.connect(str(copy), read_only=True)
    try:
        return con.execute(QUERY).fetchall()
    finally:
        con.close()


def test_two_hosts_one_governance_query(db: Db, tmp_path: Path) -> None:
    copy = tmp_path / "governance.duckdb"
    proc = AuthorityProc(tmp_path / "authority", {
        "tok-a": {"kernel": "host-a/k1", "user": "alice"},
        "tok-b": {"kernel": "host-b/k2", "user": "bob"}}, dsn=writer_dsn(db), copy=copy)
    proc.start()
    hosts = {}
    for name in ("host-a", "host-b"):
        (tmp_path / name).mkdir()
        hosts[name] = tmp_path / name
    try:
        env_a = {"JUPYTER_GUARD_USER": "alice", "JUPYTER_GUARD_SERVER_URL": proc.url,
                 "JUPYTER_GUARD_KERNEL_TOKEN": "tok-a"}
        env_b = {"JUPYTER_GUARD_USER": "bob", "JUPYTER_GUARD_SERVER_URL": proc.url,
                 "JUPYTER_GUARD_KERNEL_TOKEN": "tok-b"}
        with guarded_kernel(hosts["host-a"], env_a, warehouse=20, connect=True) as a, \
                guarded_kernel(hosts["host-b"], env_b, warehouse=20, connect=True) as b:
            a.ok("x = 1")
            refused = a.run("con.execute('DROP TABLE customers')")
            assert refused.status == "error", refused.everything()
            forged = a.run(FORGE)
            own = a.run(FORGE_OWN)
            b.ok("y = 2")
            b.ok("z = y + 1")
            done = time.monotonic()
            rows: list[tuple[object, ...]] = []
            while time.monotonic() - done < 10:
                rows = governance(copy)
                got = {r[0]: r for r in rows}
                if ("host-a/k1" in got and got["host-a/k1"][3] >= 1
                        and "host-b/k2" in got and got["host-b/k2"][2] >= 3):
                    break
                time.sleep(0.2)
            else:
                raise AssertionError(f"not both hosts within 10 s: {rows}")
        # every event sent with host-a's token is alice's, whatever it claimed
        assert {(r[0], r[1]) for r in rows} == {("host-a/k1", "alice"), ("host-b/k2", "bob")}
        con = duckdb.connect(str(copy), read_only=True)
        claimed = con.execute("SELECT user_name, claimed_user FROM events "
                              "WHERE event_id = 'forged-1'").fetchall()
        assert forged.status == "error" or claimed in ([], [("alice", "bob")]), claimed
        # the guard's own AuditLog, called from a cell: recorded as alice, the claim kept
        via_own = con.execute("SELECT user_name, claimed_user FROM events "
                              "WHERE code = 'forged by alice'").fetchall()
        assert own.status == "error" or via_own == [("alice", "bob")], via_own
        con.close()
        assert {str(p.parent.name) for p in tmp_path.glob("host-*/audit.duckdb.journal")} == {
            "host-a", "host-b"}
    finally:
        proc.stop()
