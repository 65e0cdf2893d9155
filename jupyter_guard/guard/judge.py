"""Judge, record, refuse: the one path every decision of the kernel guard ends on.

Every layer that decides (the cell hook, ``%%guarded_sql``, the SQL sinks, DB-API drivers, the
run-time events, the pandas writers and the data-aware exits) gets its verdict from
``Guard.judge`` or, for the writers and exits that decide on a measured fact, from ``verdict``;
spends an approval only through ``approve`` (the running cell's user, the exact code); and ends a
refusal only through ``refuse``: one ``blocked`` audit event, the refusal remembered for
``%guard request``, and the one ``GuardBlocked`` the caller raises.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from jupyter_guard.errors import GuardBlocked
from jupyter_guard.guard.refusal import audit_note, in_kernel, refusal_for
from jupyter_guard.model import Analysis, Intent, Verdict, combine
from jupyter_guard.policy.decide import decide
from jupyter_guard.policy.rules import Context

if TYPE_CHECKING:
    from jupyter_guard.guard.service import Guard

Lineage = tuple[str, str, str, bool]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


@dataclass
class Judgement:
    verdict: Verdict
    verdicts: tuple[Verdict, ...]
    analysis: Analysis
    intents: tuple[Intent, ...]
    approved_by: str = ""
    ctx: Context | None = None          # the context it was decided in (recorded for replay)
    lineage: list[Lineage] | None = None   # rows to record instead of ``lineage_of``'s


def approve(guard: Guard, verdict: Verdict, code: str) -> tuple[Verdict, str]:
    """A refused ``verdict`` turned into ``allow`` by an approval of exactly ``code`` for the
    running cell's user (the server-signed one, else the kernel's owner); (verdict, approver)."""
    if not verdict.refuses or guard.approvals is None or not code:
        return verdict, ""
    approver = guard.approvals.consume(guard.who()[0], sha256(code))
    if not approver:
        return verdict, ""
    return replace(verdict, decision="allow", reason=f"approved by {approver}: {verdict.reason}"), \
        approver


def verdict(guard: Guard, intent: Intent, ctx: Context, code: str) -> Verdict:
    """The policy's verdict on one intent in ``ctx`` (a fact measured at run time, such as the
    sensitive columns a frame holds), an approval of ``code`` applied."""
    return approve(guard, combine(decide((intent,), guard.policy, ctx)), code)[0]


class Refuser(Protocol):
    """Where a refusal is recorded and kept: the kernel's ``Guard``, the server gate's
    ``server.gate.GateRefusals``."""

    last_blocked: dict[str, Any] | None

    def begin(self, *, kind: str, code: str, judgement: Judgement | None, cell_id: str = ...,
              execution_count: int | None = ..., status: str = ...) -> str: ...

    def refusal_error(self, v: Verdict, dialect: str) -> GuardBlocked: ...


def refuse(guard: Refuser, judgement: Judgement, *, kind: str, code: str,
           verdict: Verdict | None = None, shown: str | None = None, event_id: str = "",
           record: bool = True, dialect: str = "duckdb", **where: Any) -> GuardBlocked:
    """Record the refusal (a ``blocked`` event; ``record=False`` when the caller has recorded
    it already), remember it for ``%guard request``, and return the error to raise.
    ``verdict`` replaces the judgement's (a measured effect refused); ``shown`` is the code the
    user ran when the refused statement is part of it."""
    v = judgement.verdict if verdict is None else verdict
    recorded = ""
    refusal_for(v, dialect, in_kernel(guard))   # in the caller's dialect, before it is recorded
    if record:
        judged = judgement if v is judgement.verdict else replace(judgement, verdict=v)
        recorded = guard.begin(kind=kind, code=code, judgement=judged, status="blocked", **where)
    guard.last_blocked = {"code": code if shown is None else shown, "verdict": v,
                          "event_id": event_id, "recorded": recorded}
    return guard.refusal_error(v, dialect)


def refuse_verdict(guard: Refuser, v: Verdict, *, kind: str, code: str,
                   intents: tuple[Intent, ...] = (), **kw: Any) -> GuardBlocked:
    """``refuse`` for a verdict reached without an analysis (a measured effect, a template)."""
    return refuse(guard, Judgement(v, (v,), Analysis(intents), intents), kind=kind, code=code,
                  **kw)


def judge_or_refuse(guard: Guard, analysis: Analysis, *, kind: str, code: str, conn: Any = None,
                    actor: str | None = None, note: bool = False, **where: Any) -> Judgement:
    """``guard.judge``; a refusal is recorded and raised. ``note``: in audit mode, print what
    enforce mode would have refused."""
    j = guard.judge(analysis, conn=conn, code=code, actor=actor)
    if note and guard.policy.mode == "audit":
        audit_note(j.verdicts, guard=guard)
    if j.verdict.refuses:
        raise refuse(guard, j, kind=kind, code=code, **where)
    return j
