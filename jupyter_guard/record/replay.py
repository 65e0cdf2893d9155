"""``jupyter guard replay``: what another policy would have done to the recorded cells.

Every decision records its facts (``events.facts``): the intents after enrichment (row
estimates, the columns behind ``*``, existence), the connection, the user, groups and actor, the
session's own tables and the columns known sensitive by lineage. Replay decides those facts again
with ``policy.cell.decide_cell``, the loop the guard itself runs, so the recorded policy gives the
recorded decisions back, and a new policy gives what would have changed. Nothing runs and no
database is asked: a row count is the one counted when the cell ran.

A decision with no facts and no intents (``x = 1``) is an allow under every policy. Decisions the
guard made without intents to record (a guard failure, an old audit file) are counted as
``not_replayable``.

Replay compares the policy's decision, not how the cell was shown: ``mask``/``sensitive-data``
(an allowed cell that read sensitive columns while masking was on) compares as the allow the
policy gave, and a ``%%guarded_sql`` typo, recorded ``allow``/``sql-parse-error`` with status
``error``, compares with the parse refusal the loop gives (nothing of it ran under any policy).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from jupyter_guard.model import Intent, Verdict
from jupyter_guard.policy.cell import decide_cell, recorded
from jupyter_guard.policy.model import Policy
from jupyter_guard.policy.rules import Context

from .store import connect_readonly
from .views import CELL_KEY

_TUPLES = {f.name for f in dataclasses.fields(Intent) if f.name in ("columns", "reads", "span")}
_FIELDS = {f.name for f in dataclasses.fields(Intent)}


@dataclass(frozen=True)
class Change:
    event_id: str
    cell_key: str
    ts: str
    user: str
    actor: str
    code: str
    old: tuple[str, str]           # (decision, rule_id) recorded
    new: tuple[str, str]           # (decision, rule_id) under the new policy
    reason: str                    # the new decision's reason

    @property
    def what(self) -> str:
        old_refuses, new_refuses = _refuses(self.old[0]), _refuses(self.new[0])
        if new_refuses and not old_refuses:
            return "newly blocked"
        if old_refuses and not new_refuses:
            return "newly allowed"
        return "changed"


@dataclass(frozen=True)
class ReplayResult:
    policy: str
    replayed: int                                   # decisions decided again
    cells: int                                      # distinct cells they belong to
    not_replayable: int
    changes: tuple[Change, ...] = ()
    summary: tuple[dict[str, Any], ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        return {"policy": self.policy, "replayed": self.replayed, "cells": self.cells,
                "not_replayable": self.not_replayable, "summary": list(self.summary),
                "changes": [{**dataclasses.asdict(c), "what": c.what} for c in self.changes]}


def _refuses(decision: str) -> bool:
    return decision in ("block", "approval")


def same_decision(old: tuple[str, str], new: tuple[str, str]) -> bool:
    """Whether a recorded (decision, rule) is what the policy decides again.

    >>> same_decision(("mask", "sensitive-data"), ("allow", ""))
    True
    >>> same_decision(("allow", "sql-parse-error"), ("block", "sql-parse-error"))
    True
    >>> same_decision(("mask", "sensitive-data"), ("block", "inference"))
    False
    """
    if old == ("mask", "sensitive-data"):   # the display annotation, added after the policy
        old = ("allow", "")
    if old == ("allow", "sql-parse-error"):   # a typo: an error of the cell, whatever the policy
        return new[1] == "sql-parse-error"
    return old == new


def intent_from(doc: dict[str, Any]) -> Intent:
    """An intent from its recorded JSON (unknown keys, from a newer guard, are ignored)."""
    kw: dict[str, Any] = {k: (tuple(v) if k in _TUPLES and v is not None else v)
          for k, v in doc.items() if k in _FIELDS}
    return Intent(**kw)


def context_from(facts: dict[str, Any], user: str, actor: str, groups: Any) -> Context:
    return Context(user=str(facts.get("user") or user or ""),
                   groups=tuple(facts.get("groups") or groups or ()),
                   actor=str(facts.get("actor") or actor or "human"),
                   connection=str(facts.get("connection") or ""),
                   cwd=str(facts.get("cwd") or ""),
                   guard_files=tuple(facts.get("guard_files") or ()),
                   session_tables=frozenset(facts.get("session_tables") or ()),
                   sensitive_columns=frozenset(facts.get("sensitive_columns") or ()),
                   runtime_checks=bool(facts.get("runtime_checks")))


def decide_again(facts: dict[str, Any], policy: Policy, user: str = "", actor: str = "",
                 groups: Any = ()) -> Verdict:
    """The verdict the guard would record for these facts under ``policy``."""
    intents = [intent_from(d) for d in facts.get("intents") or ()]
    _, verdicts = decide_cell(intents, policy, context_from(facts, user, actor, groups),
                              tuple(facts.get("errors") or ()),
                              unverified_creates=bool(facts.get("unverified_creates")))
    v = recorded(verdicts)
    if v.refuses and facts.get("approved_by"):   # the approval of this code still stands
        return dataclasses.replace(v, decision="allow",
                                   reason=f"approved by {facts['approved_by']}: {v.reason}")
    return v


def replay(path: str | os.PathLike[str], policy: Policy, *, since: Any = None,
           user: str | None = None) -> ReplayResult:
    where, params = ["status <> 'running'"], []
    if since is not None:
        where.append("ts >= CAST(? AS TIMESTAMP)")
        params.append(since if isinstance(since, str) else since.isoformat())
    if user is not None:
        where.append("user_name = ?")
        params.append(user)
    con = connect_readonly(path)
    try:
        rows = con.execute(f"""SELECT event_id, {CELL_KEY} AS cell_key, ts, user_name, actor,
            groups, code, decision, coalesce(rule_id, ''),
            -- the refusal the user was shown is no fact to decide on (and differs per event)
            CASE WHEN facts IS NOT NULL THEN nullif(CAST(json_merge_patch(facts,
                '{{"refusal": null}}') AS VARCHAR), '{{}}') END
            FROM events WHERE {' AND '.join(where)} ORDER BY ts, event_id""", params).fetchall()
    finally:
        con.close()
    cache: dict[tuple[str | None, str, str, tuple[str, ...]], Verdict] = {}
    changes: list[Change] = []
    cells: set[str] = set()
    replayed = skipped = 0
    for event_id, key, ts, who, actor, groups, code, decision, rule, facts_text in rows:
        if facts_text is None and decision != "allow":
            skipped += 1
            continue
        replayed += 1
        cells.add(key)
        groups_t = tuple(groups or ())
        ck = (facts_text, who, actor, groups_t)
        v = cache.get(ck)
        if v is None:
            facts = json.loads(facts_text) if facts_text else {}
            v = cache[ck] = decide_again(facts, policy, who, actor, groups_t)
        if not same_decision((decision, rule), (v.decision, v.rule_id)):
            changes.append(Change(event_id, key, _iso(ts), who, actor,
                                  (code or "").splitlines()[0][:120] if code else "",
                                  (decision, rule), (v.decision, v.rule_id), v.reason))
    return ReplayResult(policy.name, replayed, len(cells), skipped, tuple(changes),
                        tuple(summarise(changes)))


def summarise(changes: list[Change]) -> list[dict[str, Any]]:
    """Cells that would change, by what (newly blocked/allowed, changed), rule and user."""
    per_cell: dict[tuple[str, str, str, str], None] = {}
    for c in changes:
        rule = c.new[1] if c.what != "newly allowed" else c.old[1]
        per_cell[(c.what, rule, c.user, c.cell_key)] = None
    counts = Counter((what, rule, who) for what, rule, who, _ in per_cell)
    return [{"what": what, "rule_id": rule, "user": who, "cells": n}
            for (what, rule, who), n in sorted(counts.items())]


def _iso(ts: Any) -> str:
    return ts.isoformat() if isinstance(ts, dt.datetime) else str(ts)
