"""Judge, record, refuse: one path, whichever layer decides.

The same action reached through different callers (the cell hook's static analysis, the SQL
sink at run time, ``%%guarded_sql``, a run-time audit event, the pandas writers) comes out the
same: the same rule in the error the user sees, one ``blocked`` audit row naming the cell's
signed user, and a refusal ``%guard request`` can file. Approvals are spent by the cell's signed
user in every layer (the writers used to spend them as the kernel's owner).

Real kernels; the cells carry stamps signed with a key the test holds, as the server signs them.
"""
from __future__ import annotations

import queue
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from jupyter_guard.authority import PUBKEY_ENV, Signer, load_or_create_key
from tests.conftest import make_warehouse
from tests.kernelutil import Kernel, Reply

pytestmark = pytest.mark.kernel

POLICY = """\
version: 1
extends: default
roles:
  governance: {users: [gina], may_approve: true}
"""


class Signed:
    """A guarded kernel owned by mallory whose cells are signed for alice."""

    def __init__(self, d: Path) -> None:
        self.dir = d
        self.signer = Signer(load_or_create_key(str(d / "server.key")))
        self.env = {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb"),
                    "JUPYTER_GUARD_POLICY": str(d / "policy.yaml")}
        self.k = Kernel(d, {**self.env, "JUPYTER_GUARD_USER": "mallory",
                            PUBKEY_ENV: self.signer.public})
        self.last = Reply("")

    def run(self, code: str, user: str = "alice", timeout: float = 90) -> Reply:
        kc = self.k.kc
        content = {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                   "allow_stdin": False, "stop_on_error": False}
        msg = kc.session.msg("execute_request", content)
        msg["metadata"] = {"jupyter_guard": self.signer.stamp(
            user=user, groups=(), actor="human", cell_id="", msg_id=msg["header"]["msg_id"],
            code=code)}
        kc.shell_channel.send(msg)
        msg_id, out = msg["header"]["msg_id"], Reply("")
        while True:
            try:
                m = kc.get_iopub_msg(timeout=timeout)
            except queue.Empty:
                raise TimeoutError(f"no idle status for: {code[:60]}") from None
            if m["parent_header"].get("msg_id") != msg_id:
                continue
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                break
            if m["msg_type"] not in ("status", "execute_input"):
                out.messages.append(m)
        while True:
            r = kc.get_shell_msg(timeout=timeout)
            if r["parent_header"].get("msg_id") == msg_id:
                out.reply, out.status = r["content"], r["content"]["status"]
                return out

    def ok(self, code: str) -> Reply:
        r = self.run(code)
        assert r.status == "ok", r.text
        return r

    def blocked_rows(self, code: str, n: int = 1, timeout: float = 90) -> list[tuple[Any, ...]]:
        """The ``blocked`` audit rows whose code is ``code`` (waits for the ingest)."""
        from jupyter_guard.record import ingest

        deadline = time.monotonic() + timeout
        while True:
            ingest(self.env["JUPYTER_GUARD_AUDIT"])
            con = duckdb.connect(self.env["JUPYTER_GUARD_AUDIT"], read_only=True)
            try:
                rows = con.execute("SELECT user_name, decision, rule_id, status FROM events "
                                   "WHERE status = 'blocked' AND code = ? ORDER BY ts",
                                   [code]).fetchall()
            finally:
                con.close()
            if len(rows) >= n or time.monotonic() > deadline:
                return rows
            time.sleep(0.3)


@pytest.fixture(scope="module")
def signed(work_root: Path) -> Iterator[Signed]:
    d = work_root / "one-refuse-path"
    (d / "data").mkdir(parents=True)
    (d / "data" / "keep.csv").write_text("id\n1\n")
    (d / "policy.yaml").write_text(POLICY)
    (d / "q.sql").write_text("DROP TABLE orders")
    make_warehouse(d / "wh.duckdb", rows=20)
    s = Signed(d)
    try:
        assert s.run("%load_ext jupyter_guard").status == "ok"
        s.ok("import duckdb, os, pandas as pd\ncon = duckdb.connect('wh.duckdb')")
        yield s
    finally:
        s.k.stop()


def _refusal(r: Reply) -> tuple[str, str]:
    """(rule, reason) of the error the user saw."""
    assert r.status == "error" and r.error.get("ename") == "GuardBlocked", r.text
    found = re.match(r"Blocked by jupyter_guard \[([\w-]+)\]: (.*?)\.( Ask for approval|$)",
                     r.error["evalue"])
    assert found, r.error["evalue"]
    return found.group(1), found.group(2)


# (caller, code, the audit row's code): the same DROP through four callers
DROP = [
    ("cell hook", "con.execute('DROP TABLE orders')", None),
    ("SQL sink at run time", "con.execute(open('q.sql').read())", "DROP TABLE orders"),
    ("%%guarded_sql", "%%guarded_sql con\nDROP TABLE orders", "DROP TABLE orders"),
]
# the same file deletion through the cell hook and a run-time audit event
DELETE = [
    ("cell hook", "os.remove('data/keep.csv')", None),
    ("run-time event", "getattr(os, 'rem' + 'ove')('data/' + 'keep.csv')", None),
]


@pytest.mark.parametrize("cases", [DROP, DELETE], ids=["drop-table", "delete-file"])
def test_every_caller_refuses_the_same_way(signed: Signed, cases: list[Any]) -> None:
    seen = []
    for caller, code, recorded in cases:
        signed.last = signed.run(code)
        rule, reason = _refusal(signed.last)
        seen.append((rule, reason))
        # one blocked row, the signed user's, with the rule the user was shown
        row = signed.blocked_rows(recorded or code)[-1]
        assert row == ("alice", "block", rule, "blocked"), (caller, row)
        # the same structured refusal travels with every caller's error
        details = signed.last.reply.get("jupyter_guard") or {}
        assert (details.get("rule_id"), details.get("decision")) == (rule, "block"), details
    assert len(set(seen)) == 1, seen   # the same rule and the same reason
    assert {rule for rule, _ in seen} <= {"destructive-ddl", "destructive-files"}, seen
    assert signed.run("print(con.execute('SELECT count(*) FROM orders').fetchone()[0])"
                      ).status == "ok"
    assert (signed.dir / "data" / "keep.csv").exists()


# A part of the guard that fails (here the analyser, made to crash on one name before the guard
# loads: a crash is the one thing a test may fake) refuses the cell on the same path.
CRASH = """
import ast, jupyter_guard.guard.service as _s
_orig = _s.Guard.python_analysis
def _crash(self, tree):
    if any(isinstance(n, ast.Name) and n.id == 'EXPLODE' for n in ast.walk(tree)):
        raise RuntimeError('analyser exploded')
    return _orig(self, tree)
_s.Guard.python_analysis = _crash
"""


def test_a_guard_failure_refuses_on_the_same_path(work_root: Path) -> None:
    d = work_root / "one-refuse-path-failure"
    d.mkdir(parents=True)
    (d / "policy.yaml").write_text(POLICY)
    s = Signed(d)
    try:
        assert s.run(CRASH).status == "ok"
        assert s.run("%load_ext jupyter_guard").status == "ok"
        r = s.run("EXPLODE = 1")
        rule, reason = _refusal(r)
        assert rule == "guard-error" and "analyser exploded" in reason and "nothing ran" in reason
        assert len(r.error["traceback"]) == 1
        # the structured refusal, as every other refusal has it, and not approvable
        details = r.reply.get("jupyter_guard") or {}
        assert (details.get("rule_id"), details.get("decision")) == ("guard-error", "block")
        assert details["approval"]["possible"] is False
        # one blocked row for the cell's signed user
        assert s.blocked_rows("EXPLODE = 1") == [("alice", "block", "guard-error", "blocked")]
        assert s.run("print(EXPLODE)").status == "error"   # nothing of it ran
        assert s.ok("y = 2").status == "ok"                # and the guard is still on
    finally:
        s.k.stop()
