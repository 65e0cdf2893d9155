"""A JSON Schema for policy files, built from the validator's own tables so the two cannot drift.

Editors use it to complete and check a policy as it is typed (YAML language servers read
``# yaml-language-server: $schema=...``). The kernel still validates with ``validate.py``,
which names the file and line of every problem; the schema is for people and their tools.

>>> s = policy_schema()
>>> s["properties"]["mode"]["enum"]
['enforce', 'audit']
>>> "allow_unread" in s["properties"]["children"]["properties"]
True
"""
from __future__ import annotations

from typing import Any

from jupyter_guard.policy import exfil_keys, validate
from jupyter_guard.policy.model import (
    DETECTORS,
    MODES,
    ON_FAILURE,
    RULE_ACTIONS,
    SQL_WORDS,
    STRATEGIES,
)

SCHEMA_ID = "https://jupyter-guard.dev/schemas/policy.v1.json"

_STRINGS: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
_COUNT: dict[str, Any] = {"type": "integer", "minimum": 0}


def _section(keys: tuple[str, ...], props: dict[str, Any], doc: str) -> dict[str, Any]:
    """A mapping that knows exactly ``keys`` (every key the validator accepts is described)."""
    missing = set(keys) - set(props)
    if missing:   # a key the validator knows and this schema does not describe
        raise ValueError(f"policy schema: no description for {sorted(missing)}")
    return {"type": "object", "description": doc, "additionalProperties": False,
            "properties": {k: props[k] for k in keys}}


def _enum(values: tuple[str, ...], doc: str) -> dict[str, Any]:
    return {"enum": list(values), "description": doc}


def policy_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a ``version: 1`` policy file."""
    match_props = {k: {**_STRINGS, "description": f"{k} this rule applies to (globs)"}
                   for k in validate.MATCH_KEYS}
    match_props["sql"] = {"type": "array", "items": {"enum": list(SQL_WORDS)},
                          "description": "statement words"}
    rule = _section(validate.RULE_KEYS, {
        "id": {"type": "string", "minLength": 1, "description": "unique rule id (in the audit)"},
        "match": {**_section(validate.MATCH_KEYS, match_props, "what the rule applies to"),
                  "minProperties": 1},
        "action": _enum(RULE_ACTIONS, "what happens to a matching cell"),
        "message": {"type": "string", "description": "shown to the user when it applies"},
    }, "an extra rule, checked before the built-in ones")
    rule["required"] = ["id", "match"]
    role = _section(validate.ROLE_KEYS, {
        "users": {**_STRINGS, "description": "user names (globs)"},
        "groups": {**_STRINGS, "description": "group names"},
        "may_unmask": {"type": "boolean"}, "may_approve": {"type": "boolean"},
        "may_see_all": {"type": "boolean", "description": "sees every user's audit events"},
    }, "a role")
    sensitive = _section(validate.SENSITIVE_KEYS, {
        "columns": {**_STRINGS, "description": "sensitive column names (globs)"},
        "detectors": {"type": "array", "items": {"enum": list(DETECTORS)}},
        "strategy": _enum(STRATEGIES, "how masked values look"),
        "per_column": {"type": "object", "additionalProperties": {"enum": list(STRATEGIES)},
                       "description": "column glob -> strategy"},
        "min_group_size": {**_COUNT, "description": "sum/avg of sensitive values only over "
                           "groups this big"},
        "hashed_ids": _enum(exfil_keys.HASHED_IDS, "may hashes of sensitive values be exported"),
        "inference": _enum(exfil_keys.INFERENCE_ACTIONS,
                           "a sensitive column compared with a constant"),
    }, "which data is sensitive and how it is masked")
    props: dict[str, Any] = {
        "version": {"const": 1},
        "name": {"type": "string"},
        "extends": {"type": "string", "description": "'default' or a path to a policy file"},
        "mode": _enum(MODES, "audit: refusals become logged warnings"),
        "max_affected_rows": {**_COUNT, "description": "rows one statement may change"},
        "max_affected_rows_per_session": {**_COUNT, "description": "0: no limit"},
        "session_window_minutes": {"type": "integer", "minimum": 1},
        "sql": _section(validate.SQL_KEYS, {"allow_extensions": _STRINGS}, "SQL settings"),
        "sensitive": sensitive,
        "network": {"type": "object", "additionalProperties": False,
                    "properties": {"allow_hosts": _STRINGS}},
        "protected_paths": {**_STRINGS, "description": "paths no cell may change (globs)"},
        "roles": {"type": "object", "additionalProperties": role},
        "rules": {"type": "array", "items": rule},
        "approvals": {"type": "object", "properties": {
            "lifetime_minutes": {**_COUNT, "description": "how long an approval stays usable"},
            "notify": {"type": "array", "items": {"type": "string", "pattern": "^https?://"},
                       "description": "webhook URLs told of every approval request change"}}},
        "audit": _section(("on_failure",), {"on_failure": _enum(
            ON_FAILURE, "a cell whose event cannot be written: refused or warned")},
            "the audit store"),
        "children": _section(validate.CHILDREN_KEYS, {"allow_unread": {
            **_STRINGS, "description": "programs whose own files the guard does not read"}},
            "child processes"),
        "openlineage": _section(validate.OPENLINEAGE_KEYS, {"transport": {
            "type": "object", "required": ["type"], "properties": {"type": {"type": "string"}},
            "description": "openlineage-python's transport settings"}}, "OpenLineage events"),
        "exfiltration": _section(exfil_keys.EXFILTRATION_KEYS, {
            k: {**_COUNT, "description": "0: no limit"} for k in exfil_keys.EXFILTRATION_KEYS},
            "the exfiltration budget"),
    }
    top = _section(validate.KEYS, props, "a jupyter_guard policy")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "jupyter_guard policy, version 1", **top}
