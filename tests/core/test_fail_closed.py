"""When the guard itself fails, it refuses the action at hand, says why, and stays installed."""
from __future__ import annotations

import pytest


def test_a_crash_in_analysis_refuses_the_cell_and_the_guard_stays_on(s, monkeypatch: pytest.MonkeyPatch):
    import jupyter_guard

    guard = jupyter_guard._kernel_guard.guard

    def crash(self, tree):  # a crash: the one thing a test may fake
        raise RuntimeError("analyser exploded")

    # on the class: an attribute added to the guard object is removed by self-protection
    monkeypatch.setattr(type(guard), "python_analysis", crash)
    cell = s.run("marker = 1")
    assert not cell.ok and cell.rule == "guard-error"
    assert "analyser exploded" in str(cell.error) and "nothing ran" in str(cell.error)
    assert "marker" not in s.ip.user_ns
    monkeypatch.undo()
    assert s.run("marker = 2").ok and s.ip.user_ns["marker"] == 2
    again = s.run('con.execute("DROP TABLE customers")')
    assert not again.ok and again.rule == "destructive-ddl"


def test_a_failing_row_count_blocks_rather_than_guessing(s):
    cell = s.run("%%guarded_sql con\nDELETE FROM customers WHERE id = (SELECT unnest([1, 2]))")
    assert s.count() == 5000
    assert not cell.ok and cell.rule == "bulk-change" and "could not count" in str(cell.error)


def test_broken_policy_file_refuses_and_says_so(tmp_path, s):
    from jupyter_guard.guard.service import Guard
    from jupyter_guard.model import Analysis

    bad = tmp_path / "policy.yaml"
    bad.write_text("extends: default\nmode: enforse\n")
    g = Guard.create(env={"JUPYTER_GUARD_POLICY": str(bad), "JUPYTER_GUARD_AUDIT": str(tmp_path / "a.duckdb")})
    assert g.policy.name == "policy" and g.policy.errors
    assert any(f"{bad}:2:" in w for w in g.policy.warnings)
    assert g.judge(Analysis(), code="x = 1").verdict.rule_id == "guard-error"
    assert g.judge(Analysis(), code="x = 1").verdict.refuses
    assert not g.judge(Analysis(), code="%guard status").verdict.refuses
