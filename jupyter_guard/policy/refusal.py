"""A refusal as data: what people read in one line, agents read as fields.

``refusal(verdict, policy)`` gives a dict that follows the versioned JSON schema shipped in
``jupyter_guard/schemas/refusal.v1.json``: decision, rule, reason, the measured effect, whether an
approval is possible (and the request id ``%guard request`` will file it under), and a safer
rewrite where one exists. Pure: no IPython, no database.
"""
from __future__ import annotations

import json
import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from jupyter_guard.analyze.rewrite import Rewrite, narrower, retire, without_sensitive
from jupyter_guard.model import Intent, Verdict
from jupyter_guard.policy.model import Policy

SCHEMA = "jupyter_guard.refusal"
VERSION = 1
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schemas" / "refusal.v1.json"
# Refusals no approval can lift: a broken cell, a guard failure, an attack on the guard itself.
NOT_APPROVABLE = frozenset({"guard-error", "sql-parse-error", "self-protection",
                            "template-injection"})


def approvers_exist(policy: Policy | None) -> bool:
    """Does any role of the policy name someone who may approve?

    >>> approvers_exist(Policy())
    False
    """
    return policy is not None and any(r.may_approve and (r.users or r.groups) for r in policy.roles)


def approvable(rule_id: str, policy: Policy | None) -> bool:
    return rule_id not in NOT_APPROVABLE and approvers_exist(policy)


def safer(i: Intent | None, rule_id: str, policy: Policy, dialect: str = "duckdb"
          ) -> Rewrite | None:
    """The rewrite for a refused intent, if one keeps its purpose within the policy."""
    if i is None or not i.source or "__jg_tpl_" in i.source:
        return None   # nothing to suggest, or a jupysql template whose values are not known yet
    try:
        if rule_id == "exfiltration" and i.action == "sql.export" and not i.remote:
            rw = without_sensitive(i.source, i.columns, policy.is_sensitive_column, dialect)
            # ``* EXCLUDE (the sensitive columns)``: what the star keeps is plain by construction
            # (the run is judged again, with the catalog, when the rewrite is used)
            star = rw is not None and "EXCLUDE" in rw.sql
            return rw if rw is not None and allowed(rw.sql, policy, dialect,
                                                    star_is_plain=star) else None
        if rule_id == "destructive-ddl" and i.target:
            return next((r for r in retire(i.action, i.target, i.source, dialect)
                         if allowed(r.sql, policy, dialect)), None)
        if rule_id == "bulk-change" and i.action in ("sql.delete", "sql.update"):
            count = i.detail if i.detail.upper().startswith("SELECT") else ""
            return narrower(count, i.estimated_rows, policy.max_affected_rows, i.where)
    except Exception:  # noqa: BLE001 - a suggestion is optional: the refusal stands without one
        return None
    return None


def allowed(sql: str, policy: Policy, dialect: str = "duckdb", *,
            star_is_plain: bool = False) -> bool:
    """Would the policy let this rewrite's SQL through on its text alone (for a person, outside
    any session)? A suggestion the guard would refuse is no suggestion. (A COPY's destination is
    left to the file rules: the rewrite keeps the original's.)"""
    from jupyter_guard.analyze.sql import analyze_sql
    from jupyter_guard.policy.decide import decide
    from jupyter_guard.policy.rules import Context

    found = analyze_sql(sql, dialect)
    intents = tuple(i for i in found.intents if i.action.startswith("sql."))
    if star_is_plain:
        # the text alone reads the EXCLUDEd names as exported columns: they are the ones left out
        intents = tuple(replace(i, columns=tuple(
            c for c in i.columns if not c.endswith("*") and not policy.is_sensitive_column(c)))
            if i.action == "sql.export" else i for i in intents)
    return not found.errors and not any(
        v.refuses for v in decide(intents, policy, Context(cwd="/")))


def refusal(v: Verdict, policy: Policy | None, *, request_id: str = "",
            dialect: str = "duckdb", no_authority: str = "") -> dict[str, Any]:
    """The structured refusal for a verdict (see the schema for every field). ``no_authority``:
    why no approval can exist where this refusal happens (a kernel in local mode).

    >>> from jupyter_guard.model import Verdict
    >>> r = refusal(Verdict("block", "destructive-ddl", "drops t"), Policy())
    >>> r["schema"], r["version"], r["rule_id"], r["approval"]["possible"]
    ('jupyter_guard.refusal', 1, 'destructive-ddl', False)
    """
    p = policy or Policy()
    i = v.intent
    rule_id = v.rule_id or "policy"
    possible = v.decision in ("block", "approval") and approvable(rule_id, policy)
    why_not = None if possible else (
        f"rule {rule_id} cannot be approved" if rule_id in NOT_APPROVABLE
        else f"no role in policy {p.name} may approve")
    if possible and no_authority:
        possible, why_not = False, no_authority
    rw = safer(i, rule_id, p, dialect)
    columns = [c for c in (i.columns if i else ()) if not c.endswith("*")]
    tables = list(dict.fromkeys(
        ([i.target] if i and i.target_kind in ("table", "view") and i.target else [])
        + list(i.reads if i else ())))
    rows = i.estimated_rows if i and i.estimated_rows is not None and i.estimated_rows >= 0 \
        else None
    return {
        "schema": SCHEMA, "version": VERSION,
        "decision": v.decision,
        "would_block": v.reason.startswith(("would block", "would approval")),
        "rule_id": rule_id, "reason": v.reason, "decision_id": v.decision_id,
        "policy": {"name": p.name, "revision": v.policy_revision or p.revision, "mode": p.mode},
        "action": i.action if i else None,
        "statement": i.source if i and i.source else None,
        "effect": {"rows": rows, "tables": tables, "columns": columns,
                   "sensitive_columns": [c for c in columns if p.is_sensitive_column(c)],
                   "target": i.target if i and i.target else None},
        "approval": {"possible": possible, "request_id": (request_id or None) if possible else None,
                     "command": "%guard request <why>" if possible else None,
                     "why_not": why_not},
        "rewrite": None if rw is None else {"kind": rw.kind, "sql": rw.sql or None,
                                            "hint": rw.hint, "count_sql": rw.count_sql or None},
    }


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The JSON schema refusals follow."""
    return dict(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def one_line(r: dict[str, Any]) -> str:
    """The rewrite as a line a person reads under the refusal ('' when there is none).

    >>> one_line({"rewrite": {"sql": "ALTER TABLE t RENAME TO u", "hint": "rename it"}})
    'Safer: rename it: ALTER TABLE t RENAME TO u'
    >>> one_line({"rewrite": {"sql": None, "hint": "narrow it", "count_sql": "SELECT 1"}})
    'Safer: narrow it (count them: SELECT 1)'
    """
    rw = r.get("rewrite")
    if not rw:
        return ""
    if rw.get("sql"):
        return f"Safer: {rw['hint']}: {rw['sql']}"
    count = rw.get("count_sql")
    return f"Safer: {rw['hint']}" + (f" (count them: {count})" if count else "")


_SHOW_LINES, _SHOW_CHARS = 8, 2000   # a longer statement is not repeated under the refusal


def _marks(line: str, names: list[str], rule_id: str) -> list[tuple[int, int]]:
    """Where on ``line`` the refused part is: the named columns or target, the WHERE of a bulk
    change, else the whole statement."""
    spans = [m.span() for n in names if n
             for m in re.finditer(rf"(?<![\w$]){re.escape(n)}(?![\w$])", line, re.IGNORECASE)]
    if not spans and rule_id == "bulk-change":
        where = re.search(r"(?i)\bwhere\b.*", line)
        spans = [where.span()] if where else []
    return spans


def pointed(r: dict[str, Any]) -> list[str]:
    """The refused statement, with the part the refusal is about underlined: the lines a person
    reads under the refusal ([] when there is no statement or it is long).

    >>> for line in pointed({"rule_id": "exfiltration", "statement": "COPY (SELECT id, email "
    ...         "FROM customers) TO 'x.csv'", "effect": {"sensitive_columns": ["customers.email"],
    ...         "target": "x.csv"}}):
    ...     print(line)
      > COPY (SELECT id, email FROM customers) TO 'x.csv'
                         ^^^^^
    >>> pointed({"rule_id": "bulk-change", "statement": "DELETE FROM t WHERE a > 1",
    ...          "effect": {"sensitive_columns": [], "target": "t"}})[1].strip()
    '^^^^^^^^^^^'
    """
    stmt = str(r.get("statement") or "").strip("\n")
    lines = stmt.splitlines()
    if not stmt or len(stmt) > _SHOW_CHARS or len(lines) > _SHOW_LINES:
        return []
    effect = r.get("effect") or {}
    rule_id = str(r.get("rule_id") or "")
    names = [str(c).rsplit(".", 1)[-1] for c in effect.get("sensitive_columns") or []]
    if not names and rule_id in ("destructive-ddl", "schema-change") and effect.get("target"):
        names = [str(effect["target"]).rsplit(".", 1)[-1]]
    found = {i: _marks(line, names, rule_id) for i, line in enumerate(lines)}
    if not any(found.values()):   # nothing to point at: the statement itself is the refused part
        found = {i: [(len(line) - len(line.lstrip()), len(line.rstrip()))]
                 for i, line in enumerate(lines)}
    out: list[str] = []
    for i, line in enumerate(lines):
        out.append(f"  > {line.rstrip()}")
        if found[i]:
            under = [" "] * max(b for _, b in found[i])
            for a, b in found[i]:
                under[a:b] = "^" * (b - a)
            out.append("    " + "".join(under).rstrip())
    return out
