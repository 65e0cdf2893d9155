"""A crowd check's allow is not kept by the decision cache (``guard.decisions``): the same
statement, with the same analysis object (as the database kinds keep one per statement shape),
is measured again after rows are deleted by another connection, and refused once its crowd is
one person; and the overlap memory refuses it after one row is gone. A real guard service on a
real DuckDB file (no kernel: the rows change behind the guard's back, as another process would
change them)."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from jupyter_guard.connections import unwrap
from jupyter_guard.connections.base import for_dialect
from jupyter_guard.connections.conn import Conn
from jupyter_guard.guard import crowd_memory
from jupyter_guard.guard.ports import NoCell
from jupyter_guard.guard.service import Guard

Q = "SELECT count(*) FROM customers WHERE email LIKE '%@example.com'"


@pytest.fixture
def setup(tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> tuple[Guard, Conn, duckdb.DuckDBPyConnection]:
    monkeypatch.setattr(crowd_memory, "MEMORY", crowd_memory.Memory())   # this test's session
    policy = tmp_path / "policy.yaml"   # redact: under partial a domain check asks nothing
    policy.write_text("version: 1\nextends: default\nsensitive:\n  strategy: redact\n")
    g = Guard.create(env={"JUPYTER_GUARD_USER": "alice", "JUPYTER_GUARD_POLICY": str(policy),
                          "JUPYTER_GUARD_AUDIT": str(tmp_path / "a.duckdb")}, cell=NoCell())
    raw = unwrap(duckdb.connect(str(tmp_path / "wh.duckdb")))
    raw.execute("CREATE TABLE customers AS SELECT range AS id, "
                "'u' || range || '@example.com' AS email FROM range(300)")
    return g, Conn(raw, "duckdb:///wh.duckdb", "duckdb"), raw


def decide(g: Guard, conn: Conn, analysis: object) -> tuple[str, str]:
    v = g.judge(analysis, conn=conn, code=Q).verdict  # type: ignore[arg-type]
    return v.decision, v.rule_id


@pytest.mark.parametrize("delete, smallest", [("id > 0", "over 1 rows"),
                                              ("id = 12", "differ by 1")])
def test_a_measured_allow_is_measured_again_after_rows_change(
        setup: tuple[Guard, Conn, duckdb.DuckDBPyConnection], delete: str, smallest: str) -> None:
    g, conn, raw = setup
    analysis = for_dialect("duckdb").analyse(Q)
    assert decide(g, conn, analysis) == decide(g, conn, analysis) == ("allow", "")
    raw.execute(f"DELETE FROM customers WHERE {delete}")
    v = g.judge(analysis, conn=conn, code=Q).verdict
    assert (v.decision, v.rule_id) == ("block", "inference") and smallest in v.reason, v.reason
