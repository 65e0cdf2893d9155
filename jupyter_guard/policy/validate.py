"""Policy validation: every problem as ``file:line: what, and the fix``."""
from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from jupyter_guard.policy import exfil_keys
from jupyter_guard.policy.model import (
    DETECTORS,
    MODES,
    ON_FAILURE,
    RULE_ACTIONS,
    SQL_WORDS,
    STRATEGIES,
    Match,
)

KEYS = (
    "version",
    "name",
    "extends",
    "mode",
    "max_affected_rows",
    "max_affected_rows_per_session",
    "session_window_minutes",
    "sql",
    "sensitive",
    "network",
    "protected_paths",
    "roles",
    "rules",
    "approvals",
    "audit",
    "children",
    "openlineage",
    "exfiltration",
)
SQL_KEYS = ("allow_extensions",)
CHILDREN_KEYS = ("allow_unread",)
OPENLINEAGE_KEYS = ("transport",)
SENSITIVE_KEYS = ("columns", "detectors", "strategy", "per_column", *exfil_keys.SENSITIVE_KEYS)
APPROVALS_KEYS = ("lifetime_minutes", "notify")
ROLE_KEYS = ("users", "groups", "may_unmask", "may_approve", "may_see_all")
RULE_KEYS = ("id", "match", "action", "message")
MATCH_KEYS = tuple(Match.__dataclass_fields__)


def _section(data: dict[str, Any], name: str, keys: tuple[str, ...], shape: str,
             bad: Callable[[str, str], None]) -> dict[str, Any]:
    """The mapping under ``name`` (``{}`` when absent or not a mapping, which is reported), with
    every key it does not know reported ("Did you mean …?")."""
    section = data.get(name) or {}
    if not isinstance(section, dict):
        bad(name, f"'{name}' must be {shape}")
        return {}
    for k in section:
        if k not in keys:
            bad(f"{name}.{k}", f"unknown key '{name}.{k}'.{_hint(k, keys)}")
    return section


def _hint(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" Did you mean '{close[0]}'?" if close else f" Expected one of: {', '.join(choices)}."


def validate(data: dict[str, Any], lines: dict[str, int], name: str) -> list[str]:
    out: list[str] = []

    def bad(path: str, what: str) -> None:
        key = path
        while key and key not in lines:
            key = key.rsplit(".", 1)[0] if "." in key else ""
        out.append(f"{name}:{lines.get(key, 1)}: {what}")

    def str_list(path: str, v: Any) -> None:
        if not isinstance(v, list) or not all(isinstance(x, (str, int)) for x in v):
            bad(path, f"'{path}' must be a list of strings")

    for k in data:
        if k not in KEYS:
            bad(k, f"unknown key '{k}'.{_hint(k, KEYS)}")
    if data.get("version", 1) != 1:
        bad("version", "only 'version: 1' is understood by this jupyter_guard")
    if data.get("mode", "enforce") not in MODES:
        bad("mode", f"mode '{data.get('mode')}' is not valid.{_hint(str(data.get('mode')), MODES)}")
    _openlineage(data.get("openlineage"), bad)
    for key, low in (("max_affected_rows", 0), ("max_affected_rows_per_session", 0),
                     ("session_window_minutes", 1)):
        val = data.get(key, low)
        if not isinstance(val, int) or isinstance(val, bool) or val < low:
            bad(key, f"'{key}' must be a whole number >= {low}")
    sql = _section(data, "sql", SQL_KEYS, "a mapping with 'allow_extensions'", bad)
    if "allow_extensions" in sql:
        str_list("sql.allow_extensions", sql["allow_extensions"])
    children = _section(data, "children", CHILDREN_KEYS, "a mapping (allow_unread)", bad)
    if "allow_unread" in children:
        str_list("children.allow_unread", children["allow_unread"])
        for prog in children["allow_unread"] if isinstance(children["allow_unread"], list) else ():
            if "/" in str(prog):
                bad("children.allow_unread", f"'{prog}': name the program, not a path "
                    f"(e.g. '{str(prog).rpartition('/')[2]}')")
    sens = _section(data, "sensitive", SENSITIVE_KEYS,
                    "a mapping (columns, detectors, strategy)", bad)
    if "columns" in sens:
        str_list("sensitive.columns", sens["columns"])
    for d in sens.get("detectors") or []:
        if d not in DETECTORS:
            bad("sensitive.detectors", f"unknown detector '{d}'.{_hint(str(d), DETECTORS)}")
    if sens.get("strategy", "partial") not in STRATEGIES:
        bad("sensitive.strategy", f"strategy '{sens.get('strategy')}' is not valid."
            f"{_hint(str(sens.get('strategy')), STRATEGIES)}")
    per_column = sens.get("per_column") or {}
    if not isinstance(per_column, dict):
        bad("sensitive.per_column", "'sensitive.per_column' must map column globs to strategies")
        per_column = {}
    for col, strat in per_column.items():
        if strat not in STRATEGIES:
            bad(
                f"sensitive.per_column.{col}",
                f"strategy '{strat}' is not valid.{_hint(str(strat), STRATEGIES)}",
            )
    exfil_keys.validate(data, bad)
    net = data.get("network") or {}
    if not isinstance(net, dict):
        bad("network", "'network' must be a mapping with 'allow_hosts'")
    elif "allow_hosts" in net:
        str_list("network.allow_hosts", net["allow_hosts"])
    if "protected_paths" in data:
        str_list("protected_paths", data["protected_paths"])
    _audit(data, bad)
    appr = data.get("approvals") or {}
    minutes = appr.get("lifetime_minutes", 60) if isinstance(appr, dict) else None
    if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes < 0:
        bad("approvals", "'approvals.lifetime_minutes' must be a whole number of minutes >= 0")
    notify = appr.get("notify", []) if isinstance(appr, dict) else []
    if not isinstance(notify, list) or not all(
            isinstance(u, str) and u.startswith(("http://", "https://")) for u in notify):
        bad("approvals", "'approvals.notify' must be a list of http(s) webhook URLs")
    roles = data.get("roles") or {}
    if not isinstance(roles, dict):
        bad("roles", "'roles' must map role names to {users, groups, may_unmask, may_approve}")
        roles = {}
    for rname, r in roles.items():
        if not isinstance(r, dict):
            bad(f"roles.{rname}", f"role '{rname}' must be a mapping")
            continue
        for k in r:
            if k not in ROLE_KEYS:
                bad(
                    f"roles.{rname}.{k}",
                    f"unknown key '{k}' in role '{rname}'.{_hint(k, ROLE_KEYS)}",
                )
    rules = data.get("rules") or []
    if not isinstance(rules, list):
        bad("rules", "'rules' must be a list of {id, match, action, message}")
        rules = []
    seen: set[str] = set()
    for i, r in enumerate(rules):
        p = f"rules[{i}]"
        if not isinstance(r, dict):
            bad(p, "each rule must be a mapping with id, match, action")
            continue
        for k in r:
            if k not in RULE_KEYS:
                bad(f"{p}.{k}", f"unknown key '{k}' in a rule.{_hint(k, RULE_KEYS)}")
        if not r.get("id"):
            bad(p, "a rule needs an 'id'")
        elif r["id"] in seen:
            bad(f"{p}.id", f"rule id '{r['id']}' is used twice")
        seen.add(str(r.get("id")))
        if r.get("action", "block") not in RULE_ACTIONS:
            bad(
                f"{p}.action",
                f"action '{r.get('action')}' is not valid."
                f"{_hint(str(r.get('action')), RULE_ACTIONS)}",
            )
        match = r.get("match") or {}
        if not isinstance(match, dict) or not match:
            bad(
                f"{p}.match",
                "a rule needs a 'match' mapping (sql, actions, tables, connections, ...)",
            )
            continue
        for k, v in match.items():
            if k not in MATCH_KEYS:
                bad(f"{p}.match.{k}", f"unknown match key '{k}'.{_hint(k, MATCH_KEYS)}")
            elif not isinstance(v, list):
                bad(f"{p}.match.{k}", f"'match.{k}' must be a list")
            elif k == "sql":
                for w in v:
                    if str(w).lower() not in SQL_WORDS:
                        bad(
                            f"{p}.match.sql",
                            f"unknown statement '{w}'.{_hint(str(w).lower(), SQL_WORDS)}",
                        )
    return out


def _audit(data: dict[str, Any], bad: Any) -> None:
    """``audit: {on_failure: refuse|warn}``: what a cell does when its event cannot be written."""
    audit = data.get("audit") or {}
    if not isinstance(audit, dict):
        bad("audit", "'audit' must be a mapping with 'on_failure'")
        return
    for k in audit:
        if k != "on_failure":
            bad(f"audit.{k}", f"unknown key 'audit.{k}'.{_hint(k, ('on_failure',))}")
    if audit.get("on_failure", "refuse") not in ON_FAILURE:
        bad("audit.on_failure", f"on_failure '{audit.get('on_failure')}' is not valid."
            f"{_hint(str(audit.get('on_failure')), ON_FAILURE)}")


def _openlineage(section: Any, bad: Any) -> None:
    """``openlineage: {transport: {type: console|file|http|..., ...}}`` (openlineage-python's
    own transport configuration)."""
    if section is None:
        return
    if not isinstance(section, dict):
        bad("openlineage", "'openlineage' must be a mapping with 'transport'")
        return
    for k in section:
        if k not in OPENLINEAGE_KEYS:
            bad(f"openlineage.{k}", f"unknown key 'openlineage.{k}'.{_hint(k, OPENLINEAGE_KEYS)}")
    transport = section.get("transport")
    if not isinstance(transport, dict) or not isinstance(transport.get("type"), str):
        bad("openlineage.transport", "'openlineage.transport' must be a mapping with a 'type' "
            "(console, file, http, ...: openlineage-python's transport settings)")
