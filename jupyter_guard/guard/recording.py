"""Recording what the guard decided: the audit event a decision begins and finishes (with its
lineage, the facts ``replay`` needs and the structured refusal), the session's counts and recent
events, the listeners told of each event, and telling the user once when the audit cannot be
written (``audit.on_failure``). ``Guard`` (``guard/service.py``) is the one user of this mixin."""
from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from jupyter_guard.errors import GuardBlocked
from jupyter_guard.guard.judge import Judgement
from jupyter_guard.guard.lineage import facts_of, lineage_of
from jupyter_guard.guard.refusal import blocked_error, recorded_refusal
from jupyter_guard.hooks.state import busy_wrap
from jupyter_guard.model import Analysis, Decision, Verdict
from jupyter_guard.policy.model import guard_command

if TYPE_CHECKING:
    from jupyter_guard.guard.ports import Cell
    from jupyter_guard.policy.model import Policy

log = logging.getLogger("jupyter_guard")
Lineage = tuple[str, str, str, bool]
Listener = Callable[[dict[str, Any]], None]
# (intents, context, errors, approver) -> (the replay facts,): the guard object itself takes no
# new attribute (self-protection counts its fields)
_FACTS: dict[Any, tuple[dict[str, Any] | None]] = {}


class Recording:
    """The recording half of ``Guard``. Its state is ``Guard``'s fields; outside the guard it is
    read through views (``counts``, ``listeners``, ``unmasked``) and changed only through the
    methods here, so every writer of it is in this file."""

    if TYPE_CHECKING:   # supplied by ``Guard``
        policy: Policy
        audit: Any
        cell: Cell
        recent: list[dict[str, Any]]
        audit_told: str
        audit_trouble: str
        _counts: Counter[str]
        _listeners: list[Listener]
        _unmasked: bool

        def who(self) -> tuple[str, str]: ...
        def groups_now(self) -> tuple[str, ...]: ...
        def redact(self, text: str) -> str: ...

    # -- the session's state, as others read and change it ---------------------------------------
    @property
    def counts(self) -> Mapping[str, int]:
        """Events recorded this session, by decision (and ``request``: approvals asked for)."""
        return MappingProxyType(self._counts)

    def count(self, what: str) -> None:
        """One more of ``what`` that is not a recorded event (an approval request filed)."""
        self._counts[what] += 1

    @property
    def listeners(self) -> tuple[Listener, ...]:
        return tuple(self._listeners)

    def listen(self, fn: Listener) -> None:
        """``fn(event)`` after every recorded event (the panel); a listener's error is ignored."""
        if fn not in self._listeners:
            self._listeners.append(fn)

    @property
    def unmasked(self) -> bool:
        """``%guard unmask on``: what the running cell shows of sensitive columns is not masked
        (only ever turned on for a role that may unmask: ``kernel/approvals.unmask``)."""
        return self._unmasked

    def set_unmasked(self, on: bool) -> None:
        self._unmasked = bool(on)

    # -- the audit event of a decision ---------------------------------------------------------
    @busy_wrap   # the guard's own work: the run-time hook stays out of it
    def begin(self, *, kind: str, code: str, judgement: Judgement | None, cell_id: str = "",
              execution_count: int | None = None, status: str = "running") -> str:
        v = judgement.verdict if judgement else Verdict("allow", "", "no rule matched")
        if v.decision == "allow" and judgement:
            v = next((x for x in judgement.verdicts if x.decision == "warn"), v)
        decision = v.decision
        lineage = self._lineage(judgement)
        if decision == "allow" and judgement and not self._unmasked and status != "error":
            shown = [n for d, k, n, sensitive in lineage if sensitive and d == "read"]
            if shown:   # what the cell shows of these columns is masked
                v = Verdict("mask", "sensitive-data", f"reads sensitive column(s) "
                            f"{', '.join(shown[:5])}, shown masked", None, self.policy.revision)
                decision = "mask"
        refusal = self._audit_refusal(status, code) if self.audit is not None else ""
        if refusal:   # known before writing: recorded as what it is, a guard-error refusal
            v = Verdict("block", "guard-error", refusal, None, self.policy.revision)
            decision, status = "block", "blocked"
        self._counts[decision] += 1
        server_event = ""
        try:
            at_id, at_count, server_event = self.cell.position()
            if not cell_id and execution_count is None:
                cell_id, execution_count = at_id, at_count
        except Exception:   # noqa: BLE001 - only the event's position is lost, never a decision
            pass
        event = {
            "ts": time.time(),
            "kind": kind,
            "decision": decision,
            "rule_id": v.rule_id,
            "reason": self.redact(v.reason),
            "code": self.redact(code)[:300],
            "cell_id": cell_id,
            "execution_count": execution_count,
            "status": status,
        }
        event_id = ""
        if self.audit is not None:
            try:
                event_id = self.audit.begin(
                    user=self.who()[0], actor=self.who()[1], notebook=self.cell.notebook,
                    cell_id=cell_id,
                    execution_count=execution_count, kind=kind, code=code, decision=decision,
                    rule_id=v.rule_id, reason=v.reason, status=status,
                    policy_revision=self.policy.revision, decision_id=v.decision_id,
                    lineage=lineage, groups=self.groups_now(),
                    facts=self._facts(judgement, v, status), server_event_id=server_event)
            except Exception as e:  # noqa: BLE001 - the event is not recorded: handled as an audit failure
                log.error("jupyter_guard could not write the audit event: %s", e)
                self.audit_trouble = f"{type(e).__name__}: {e}"
            refusal = refusal or self._audit_refusal(status, code)
            if refusal and status == "running" and event_id:   # found by this very write
                self.finish(event_id, status="blocked", duration_ms=0.0)
        event["event_id"] = event_id
        self.recent.append(event)
        del self.recent[:-200]
        for fn in list(self._listeners):
            try:
                fn(event)
            except Exception:  # noqa: BLE001 - a panel listener's error must not undo a decision already made and recorded
                pass
        if refusal and (status == "running" or v.rule_id == "guard-error"):
            raise GuardBlocked("guard-error", refusal, approval_hint=False)
        return event_id

    def refusal_error(self, v: Verdict, dialect: str = "duckdb") -> GuardBlocked:
        """The error a refusal of ``v`` raises (``guard.judge.refuse``)."""
        return blocked_error(v, dialect, self)

    def _audit_refusal(self, status: str, code: str) -> str:
        """Tell the user once when the audit cannot be written (and once when it can again).
        Returns why a cell about to run is refused (``audit.on_failure: refuse``), else ""."""
        if getattr(self.audit, "failure", ""):
            self.audit.retry()   # the disk may have room again
        note = self.audit.take_notice() if hasattr(self.audit, "take_notice") else ""
        if note:
            print(f"jupyter_guard: {note}.", file=sys.stderr)   # each note says what was lost
        failure = getattr(self.audit, "failure", "") or self.audit_trouble
        self.audit_trouble = ""
        if not failure:
            if self.audit_told:
                self.audit_told = ""
                print("jupyter_guard: the audit journal is writable again; the events that "
                      "waited in memory are written.", file=sys.stderr)
            return ""
        refuse = self.policy.audit_on_failure != "warn"
        if not self.audit_told:
            self.audit_told = failure
            then = "cells are refused meanwhile" if refuse else "cells still run"
            print(f"jupyter_guard: the audit journal cannot be written ({failure}). Events wait "
                  f"in memory until it can; {then} (audit.on_failure: "
                  f"{'refuse' if refuse else 'warn'}). Fix: free disk space or make the audit "
                  "folder writable; `jupyter guard repair` rebuilds a damaged audit file.",
                  file=sys.stderr)
        if not refuse or status != "running" or guard_command(code):
            return ""
        return (f"the audit journal cannot be written ({failure}); this cell did not run "
                "(audit.on_failure: refuse). Free disk space or make the audit folder writable, "
                "then run it again")

    def _lineage(self, j: Judgement | None) -> list[Lineage]:
        if j is None:
            return []
        if j.lineage is not None:
            return j.lineage
        marked = j.ctx.sensitive_columns if j.ctx is not None else frozenset()
        return lineage_of(j.intents, j.analysis.vars_written, j.analysis.vars_read,
                          self.policy.is_sensitive_column, marked)

    def _facts(self, j: Judgement | None, v: Verdict, status: str) -> dict[str, Any] | None:
        """What ``replay`` needs, and the structured refusal (``refusal``) of a refused event
        or of one audit mode let through, as the user and the events API see it."""
        facts = None
        if j is not None and j.ctx is not None:
            facts = self._replay_facts(j)
        refusal = recorded_refusal(self, v, status) if j is not None else None
        if refusal is not None:
            facts = {**(facts or {}), "refusal": refusal}
        return facts

    def _replay_facts(self, j: Judgement) -> dict[str, Any] | None:
        """``facts_of`` the judgement, the same (never changed) dict for the same intents and
        context: a cell run again, or a kept read, is recorded without building them again (and
        the audit log redacts one dict once)."""
        try:
            key: Any = (j.intents, j.ctx, j.analysis.errors, j.approved_by)
            hit = _FACTS.get(key)
        except TypeError:   # an unhashable value in an intent: built every time
            key, hit = None, None
        if hit is not None:
            return hit[0]
        facts = facts_of(j.intents, j.ctx)
        if facts is not None:
            if j.analysis.errors:
                facts["errors"] = list(j.analysis.errors)
            if j.approved_by:
                facts["approved_by"] = j.approved_by
        if key is not None:
            if len(_FACTS) >= 128:
                _FACTS.clear()
            _FACTS[key] = (facts,)
        return facts

    def note(self, kind: str, code: str, decision: Decision, rule_id: str, reason: str,
             status: str = "ok") -> str:
        """Record an event that is not a cell (an unmasked display, an approval use)."""
        v = Verdict(decision, rule_id, reason, None, self.policy.revision)
        return self.begin(kind=kind, code=code, judgement=Judgement(v, (v,), Analysis(), ()),
                          status=status)

    @busy_wrap   # the guard's own work: the run-time hook stays out of it
    def finish(self, event_id: str, *, status: str, duration_ms: float, rows: int | None = None,
               lineage: Iterable[Lineage] = ()) -> None:
        if self.audit is not None and event_id:
            try:
                self.audit.finish(
                    event_id,
                    status=status,
                    duration_ms=duration_ms,
                    rows_affected=rows,
                    lineage=lineage,
                )
            except Exception as e:  # noqa: BLE001 - the decision was made and begun in the audit; a failed finish is logged, never raised into the cell
                log.error("jupyter_guard could not complete the audit event: %s", e)
