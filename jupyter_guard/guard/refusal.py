"""A refusal, as the user gets it: the ``GuardBlocked`` to raise (with its structured refusal,
masked), and the one line audit mode prints for what it would have refused. Every layer that
refuses (the cell hook, ``%%guarded_sql``, the SQL sinks, DB-API drivers, run-time events, the
writers and exits) builds its error here."""
from __future__ import annotations

import logging
import sys
import uuid
from typing import TYPE_CHECKING, Any, cast

from jupyter_guard.errors import GuardBlocked
from jupyter_guard.guard.ports import approval_unavailable
from jupyter_guard.mask.text import mask_text
from jupyter_guard.model import Verdict
from jupyter_guard.policy.refusal import approvable, refusal

if TYPE_CHECKING:
    from jupyter_guard.guard.service import Guard

log = logging.getLogger("jupyter_guard")


def blocked_error(v: Verdict, dialect: str = "duckdb", guard: object = None) -> GuardBlocked:
    """The exception for a refusal by ``guard``, carrying its structured form when ``guard``
    runs a kernel's cells; it suggests asking for an approval only when someone may give one
    under the active policy."""
    g = in_kernel(guard)
    details = refusal_for(v, dialect, g, consume=True) if g is not None else None
    approval = bool(details["approval"]["possible"]) if details else v.rule_id != "guard-error"
    return GuardBlocked(v.rule_id or "policy", v.reason, decision=v.decision,
                        approval_hint=approval, details=details)


def in_kernel(guard: object) -> Guard | None:
    """``guard`` when it decides a kernel's cells (its ``Cell`` port is a kernel's), else None:
    a guard in a test, ``explain``, a child process or the server gate."""
    cell = getattr(guard, "cell", None)
    return cast("Guard", guard) if cell is not None and cell.in_kernel else None


def _running_cell(guard: Guard | None) -> object | None:
    return guard.cell.current() if guard is not None else None


def masked(value: Any, settings: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value, settings)
    if isinstance(value, list):
        return [masked(v, settings) for v in value]
    if isinstance(value, dict):
        return {k: masked(v, settings) for k, v in value.items()}
    return value


# The refusal last described, until the error raised for it takes it (``consume``): the audit
# event and the error of one refusal carry the same structured refusal and request id, whichever
# asks first (its dialect is the first asker's: ``judge.refuse`` asks before it records).
_LAST: dict[str, Any] = {"verdict": None, "guard": None, "cell": None, "details": None, "rid": ""}


def refusal_for(v: Verdict, dialect: str = "duckdb", guard: Guard | None = None, *,
                consume: bool = False) -> dict[str, Any] | None:
    """The structured refusal of ``v`` under the policy of ``guard`` (None: no policy), masked
    for display. When an approval is possible, a request id is reserved: ``%guard request``
    files the refusal under it."""
    try:
        g = guard
        cell = _running_cell(g)
        if _LAST["verdict"] is v and _LAST["guard"] is g and _LAST["cell"] is cell:
            details, rid = _LAST["details"], _LAST["rid"]
        else:
            policy = g.policy if g is not None else None
            local = approval_unavailable()   # no server to file a request with: none possible
            rid = "" if local or not approvable(v.rule_id or "policy", policy) else \
                uuid.uuid4().hex[:12]
            details = refusal(v, policy, request_id=rid, dialect=dialect, no_authority=local)
            settings = g.mask_settings() if g is not None and g.mask_settings else None
            details = masked(details, settings) if settings is not None else details
            _LAST.update(verdict=v, guard=g, cell=cell, details=details, rid=rid)
        if consume:
            _LAST.update(verdict=None, guard=None, cell=None, details=None, rid="")
        if g is not None and rid and isinstance(g.last_blocked, dict) and \
                g.last_blocked.get("verdict") is v:
            g.last_blocked["request_id"] = rid
        return dict(details)
    except Exception:  # the refusal stands without its structured form; the log says why
        log.exception("jupyter_guard could not describe a refusal")
        return None


def recorded_refusal(guard: object, v: Verdict, status: str) -> dict[str, Any] | None:
    """The structured refusal an audit event records (``facts["refusal"]``): for a refused
    verdict, and for what audit mode let through but enforce would have refused."""
    if (status == "blocked" and v.refuses) or (
            v.decision == "warn" and v.reason.startswith(("would block", "would approval"))):
        return refusal_for(v, guard=cast("Guard", guard))   # the guard recording the event
    return None


_NOTED: dict[str, Any] = {"cell": None, "seen": set()}


def audit_note(verdicts: Any, out: Any = None, *, guard: object = None) -> None:
    """One line for a cell that audit mode let through but enforce would have refused (once per
    cell of ``guard`` and reason, though the cell hook, ``%%guarded_sql`` and the SQL sinks all
    judge)."""
    would = [v for v in verdicts if v.decision == "warn" and v.reason.startswith("would ")]
    if not would:
        return
    cell = _running_cell(in_kernel(guard))
    if _NOTED["cell"] is not cell or cell is None:
        _NOTED["cell"], _NOTED["seen"] = cell, set()
    v = would[0]
    key = (v.rule_id, v.reason)
    if key in _NOTED["seen"]:
        return
    _NOTED["seen"].add(key)
    print(f"jupyter_guard (audit mode): in enforce mode this would be refused "
          f"[{v.rule_id}]: {v.reason.split(': ', 1)[-1]}", file=out or sys.stderr)


def note_if_audit(guard: Any, verdicts: Any) -> None:
    if guard.policy.mode == "audit":
        audit_note(verdicts, guard=guard)
