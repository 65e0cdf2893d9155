"""The guard's session state is changed only by the guard's own methods, and a refusal learns
whether it happens in a kernel from its guard's own ``Cell`` port, never by looking the kernel up.

* ``unmasked``, ``counts``, ``listeners`` and ``policy_listeners`` are read-only views: writing
  to them fails loudly; ``set_unmasked``, ``count``, ``listen`` and ``on_policy`` are the way in.
* ``blocked_error``/``refusal_for``/``audit_note`` take the guard: a guard deciding a kernel's
  cells gives the structured refusal and says each audit-mode note once per cell; a guard outside
  a kernel (tests, ``explain``, a child) gives none, as before.
"""
from __future__ import annotations

import io
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from jupyter_guard.guard import refusal
from jupyter_guard.guard.service import Guard
from jupyter_guard.kernel.running import RunningCell
from jupyter_guard.model import Verdict

DROP = Verdict("block", "destructive-ddl", "drops table customers", None, "r1")


def _guard(tmp_path: Path, cell: Any = None) -> Guard:
    return Guard.create(env={"JUPYTER_GUARD_AUDIT": "", "JUPYTER_GUARD_USER": "alice"},
                        cell=cell)


def _kernel_cell() -> RunningCell:
    """The kernel's own ``Cell`` (``kernel/running.py``) over a namespace, with a cell running."""
    cell = RunningCell(types.SimpleNamespace(user_ns={}))
    cell.cell = {"cell_id": "c1", "count": 1}
    return cell


def test_session_state_is_read_only_from_outside(tmp_path: Path) -> None:
    g = _guard(tmp_path)
    with pytest.raises(AttributeError):
        g.unmasked = True  # type: ignore[misc]  # the point: there is no setter
    with pytest.raises(TypeError):
        g.counts["block"] = 0  # type: ignore[index]  # the point: a read-only mapping
    with pytest.raises(AttributeError):
        g.listeners.append(print)  # type: ignore[attr-defined]  # the point: a tuple
    with pytest.raises(AttributeError):
        g.policy_listeners.append(print)  # type: ignore[attr-defined]  # the point: a tuple
    assert not g.unmasked and dict(g.counts) == {} and g.listeners == ()


def test_the_guards_methods_change_it(tmp_path: Path) -> None:
    g = _guard(tmp_path)
    g.set_unmasked(True)
    assert g.unmasked
    g.set_unmasked(False)
    assert not g.unmasked
    g.count("request")
    seen: list[dict[str, Any]] = []
    g.listen(seen.append)
    g.listen(seen.append)   # added once
    g.note("magic", "%guard unmask on", "warn", "sensitive-data", "alice turned unmasking on")
    assert g.counts["request"] == 1 and g.counts["warn"] == 1
    assert [e["rule_id"] for e in seen] == ["sensitive-data"]


def test_a_reloaded_policy_reaches_each_policy_listener_once(tmp_path: Path) -> None:
    pol = tmp_path / "policy.yaml"
    pol.write_text("extends: default\nmode: enforce\n")
    g = Guard.create(env={"JUPYTER_GUARD_AUDIT": "", "JUPYTER_GUARD_POLICY": str(pol)})
    swaps: list[tuple[str, str]] = []

    def on_swap(old: Any, new: Any) -> None:
        swaps.append((old.mode, new.mode))

    g.on_policy(on_swap)
    g.on_policy(on_swap)
    pol.write_text("extends: default\nmode: audit\n")
    g.reload_policy()
    assert swaps == [("enforce", "audit")] and g.policy.mode == "audit"


def test_refusal_module_does_not_look_the_kernel_up() -> None:
    text = Path(refusal.__file__).read_text()
    assert "sys.modules" not in text and "_kernel_guard" not in text


def test_a_guard_outside_a_kernel_refuses_without_the_structured_form(tmp_path: Path) -> None:
    err = _guard(tmp_path).refusal_error(DROP, "duckdb")
    assert err.details is None and err.rule_id == "destructive-ddl"


def test_a_guard_in_a_kernel_refuses_with_the_structured_form(tmp_path: Path) -> None:
    assert getattr(sys.modules["jupyter_guard"], "_kernel_guard", None) is None   # none loaded
    g = _guard(tmp_path, cell=_kernel_cell())
    err = g.refusal_error(DROP, "duckdb")
    assert err.details is not None
    assert err.details["rule_id"] == "destructive-ddl" and "approval" in err.details


def test_audit_mode_says_each_note_once_per_cell_of_its_guard(tmp_path: Path) -> None:
    cell = _kernel_cell()
    g = _guard(tmp_path, cell=cell)
    would = (Verdict("warn", "destructive-ddl", "would block: drops table customers"),)
    out = io.StringIO()
    refusal.audit_note(would, out, guard=g)
    refusal.audit_note(would, out, guard=g)   # the same cell: said once
    cell.cell = {"cell_id": "c2", "count": 2}   # the next cell
    refusal.audit_note(would, out, guard=g)
    assert out.getvalue().count("would be refused") == 2
