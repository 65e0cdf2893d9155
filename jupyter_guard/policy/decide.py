"""Intents -> verdicts: the policy's own rules first, then the built-in RULES; ``mode: audit`` turns
every refusal into a logged ``warn`` that remembers what enforce would have done."""
from __future__ import annotations

import fnmatch
from dataclasses import replace

from jupyter_guard.model import Intent, Verdict, combine
from jupyter_guard.policy.model import Policy, Rule, glob_match
from jupyter_guard.policy.rules import RULES, Context, bare_table


def _matches(rule: Rule, i: Intent, p: Policy, c: Context) -> bool:
    m = rule.match
    if m.sql:
        if not i.action.startswith("sql."):
            return False
        word = i.action.split(".", 1)[1]
        words = {word, "copy" if word in ("export", "load") else word}
        if not words & set(m.sql):
            return False
    if m.actions and not any(fnmatch.fnmatchcase(i.action, a) for a in m.actions):
        return False
    if m.tables and not (
        i.target_kind in ("table", "view") and glob_match(bare_table(i.target), m.tables)
    ):
        return False
    if m.paths and not (i.target_kind in ("path", "file") and glob_match(i.target, m.paths)):
        return False
    if m.hosts and not (i.target_kind == "host" and glob_match(i.target, m.hosts)):
        return False
    if m.connections and not glob_match(c.connection or "", m.connections):
        return False
    if m.users and not glob_match(c.user, m.users):
        return False
    if m.groups and not set(m.groups) & set(c.groups):
        return False
    if m.roles and not {r.name for r in p.roles_of(c.user, c.groups)} & set(m.roles):
        return False
    if m.actors and not glob_match(c.actor, m.actors):  # noqa: SIM103 - one clause per field
        return False
    return True


def decide_one(i: Intent, p: Policy, c: Context) -> Verdict:
    for rule in p.rules:
        if _matches(rule, i, p, c):
            reason = rule.message or f"policy rule {rule.id} matches {i.action}"
            return Verdict(rule.action, rule.id, reason, i, p.revision)
    found = [v for _, fn in RULES if (v := fn(i, p, c)) is not None]
    if not found:
        return Verdict("allow", "", "no rule matched", i, p.revision)
    return replace(combine(found), policy_revision=p.revision)


def decide(
    intents: tuple[Intent, ...] | list[Intent], p: Policy, c: Context
) -> tuple[Verdict, ...]:
    """One verdict per intent; in audit mode refusals become ``warn`` with ``would-block`` reasons.

    >>> from jupyter_guard.policy.model import Policy
    >>> [v.decision for v in decide([Intent("sql.drop", "table", "t")], Policy(), Context())]
    ['block']
    """
    if p.errors:   # a broken policy refuses everything, whatever the mode
        why = p.broken_reason
        return tuple(Verdict("block", "guard-error", why, i, p.revision) for i in intents)
    out = tuple(decide_one(i, p, c) for i in intents)
    if p.mode == "audit":
        out = tuple(replace(v, decision="warn", reason=f"would {v.decision}: {v.reason}")
                    if v.refuses else v for v in out)
    return out


def cell_verdict(intents: tuple[Intent, ...] | list[Intent], p: Policy, c: Context) -> Verdict:
    return combine(decide(intents, p, c))
