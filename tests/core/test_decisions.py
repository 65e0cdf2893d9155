"""``guard.decisions``: a kept allow of a read-only statement is reused only while the user, the
groups, the actor, the connection, the policy and the session's own tables are what they were
when it was decided; refusals and approved statements are decided every time."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from jupyter_guard.connections.base import for_dialect
from jupyter_guard.connections.conn import Conn
from jupyter_guard.guard.ports import NoCell
from jupyter_guard.guard.service import Guard

POLICY = """name: reads
rules:
  - id: interns-no-customers
    match: {sql: [select], tables: [customers], users: ["intern*"]}
    action: block
  - id: contractors-no-customers
    match: {sql: [select], tables: [customers], groups: [contractors]}
    action: block
  - id: agents-need-approval
    match: {sql: [select], tables: [customers], actors: ["agent:*"]}
    action: approval
  - id: no-prod
    match: {sql: [select], connections: ["*prod*"]}
    action: block
"""
READ = "SELECT id, name FROM customers WHERE id = 1"


@dataclass
class Signed(NoCell):
    """The running cell as the server signed it (user, actor, groups), changed between cells."""

    who: tuple[str, str] = ("alice", "human")
    signed_groups: tuple[str, ...] | None = None

    def identity(self) -> tuple[str, str]:
        return self.who

    def groups(self) -> tuple[str, ...] | None:
        return self.signed_groups


@dataclass
class OneApproval:
    """An approvals store holding one approval of one statement for one user."""

    user: str
    sha: str
    spent: list[str] = field(default_factory=list)

    def consume(self, user: str, code_sha256: str) -> str:
        if user == self.user and code_sha256 == self.sha and not self.spent:
            self.spent.append(code_sha256)
            return "gina"
        return ""


def _guard(tmp_path: Path) -> tuple[Guard, Signed]:
    pol = tmp_path / "policy.yaml"
    pol.write_text(POLICY)
    cell = Signed()
    g = Guard.create(env={"JUPYTER_GUARD_POLICY": str(pol), "JUPYTER_GUARD_USER": "alice",
                          "JUPYTER_GUARD_AUDIT": str(tmp_path / "a.duckdb")}, cell=cell)
    return g, cell


def _decide(g: Guard, conn: Conn, code: str = READ) -> str:
    analysis = for_dialect("postgres").analyse(code)
    return g.judge(analysis, conn=conn, code=code).verdict.decision


def test_a_kept_allow_is_reused_and_gets_a_decision_id_of_its_own(tmp_path: Path) -> None:
    g, _ = _guard(tmp_path)
    conn = Conn(None, "postgresql://app@db/shop", "postgres")
    plain = "SELECT id, name FROM customers"
    analysis = for_dialect("postgres").analyse(plain)
    first = g.judge(analysis, conn=conn, code=plain)
    again = g.judge(analysis, conn=conn, code=plain)
    assert first.verdict.decision == again.verdict.decision == "allow"
    assert len(g.decisions.entries) == 1
    assert first.verdict.decision_id != again.verdict.decision_id
    # a comparison with a constant is kept under the views' fingerprint, which no server here
    # can give: decided every time (tests/pg/test_pg15b_kept_predicate.py: on a server)
    analysis = for_dialect("postgres").analyse(READ)
    assert g.judge(analysis, conn=conn, code=READ).verdict.decision == "allow"
    assert len(g.decisions.entries) == 1


def test_an_identity_change_is_decided_again(tmp_path: Path) -> None:
    g, cell = _guard(tmp_path)
    conn = Conn(None, "postgresql://app@db/shop", "postgres")
    assert _decide(g, conn) == _decide(g, conn) == "allow"
    cell.who = ("intern7", "human")                 # another user signed the next cell
    assert _decide(g, conn) == "block"
    cell.who = ("alice", "human")
    cell.signed_groups = ("contractors",)           # the same user, other groups
    assert _decide(g, conn) == "block"
    cell.signed_groups = None
    assert _decide(g, conn) == "allow"
    cell.who = ("alice", "agent:bot")               # the same user, an agent's cell
    assert _decide(g, conn) == "approval"


def test_another_connection_is_decided_again(tmp_path: Path) -> None:
    g, _ = _guard(tmp_path)
    assert _decide(g, Conn(None, "postgresql://app@db/shop", "postgres")) == "allow"
    assert _decide(g, Conn(None, "postgresql://app@db/prod", "postgres")) == "block"


def test_a_policy_reload_drops_what_the_old_policy_allowed(tmp_path: Path) -> None:
    g, _ = _guard(tmp_path)
    conn = Conn(None, "postgresql://app@db/shop", "postgres")
    assert _decide(g, conn) == _decide(g, conn) == "allow"
    (tmp_path / "policy.yaml").write_text(POLICY + """  - id: nobody-reads-customers
    match: {sql: [select], tables: [customers]}
    action: block
""")
    g.reload_policy()
    assert _decide(g, conn) == "block"
    assert not g.decisions.entries or all(p is g.policy for _, p, _ in g.decisions.entries.values())


def test_refusals_and_approved_runs_are_never_kept(tmp_path: Path) -> None:
    from jupyter_guard.guard.judge import sha256

    g, cell = _guard(tmp_path)
    conn = Conn(None, "postgresql://app@db/shop", "postgres")
    cell.who = ("alice", "agent:bot")
    assert _decide(g, conn) == "approval"
    g.plug(approvals=OneApproval("alice", sha256(READ)))   # approved after the refusal
    assert _decide(g, conn) == "allow"                     # the refusal was not kept
    assert not g.decisions.entries                         # nor the approved run
    assert _decide(g, conn) == "approval"                  # the approval is spent once


def test_writes_and_reads_handed_to_objects_are_never_kept(tmp_path: Path) -> None:
    """(``SELECT f()`` keeps its static decision; its effect is measured every time it runs:
    ``tests/pg/test_cursors.py::test_a_read_analysed_once_never_lets_another_statement_through``.)
    """
    from jupyter_guard.model import Analysis, Intent

    g, _ = _guard(tmp_path)
    conn = Conn(None, "postgresql://app@db/shop", "postgres")
    for code in ("DELETE FROM customers WHERE id = 1", "UPDATE customers SET name = 'x'",
                 "WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d",
                 "INSERT INTO orders VALUES (1, 1, 1)", "DROP TABLE orders",
                 "COPY customers TO '/tmp/x.csv'", "SELECT 1; DELETE FROM orders"):
        g.judge(for_dialect("postgres").analyse(code), conn=conn, code=code)
    assert not g.decisions.entries
    handed = Analysis((Intent("sql.select", "table", "customers", via="con"),))
    g.judge(handed, conn=conn, code="con.execute(q)")   # what `con` is may change between cells
    g.judge(for_dialect("postgres").analyse(READ), conn=None, code=READ)   # no connection
    assert not g.decisions.entries
