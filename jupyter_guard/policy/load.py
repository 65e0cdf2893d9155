"""YAML -> frozen Policy: ``extends``, merging (lists replace, maps merge), and errors with file:line.

A broken policy never leaves a kernel unguarded: ``load_or_default`` returns the packaged default
with the problems attached, and the caller shows them.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from jupyter_guard.policy.model import (
    DETECTORS, MODES, RULE_ACTIONS, STRATEGIES, Match, Policy, Role, Rule,
)


class PolicyError(ValueError):
    """A policy file problem; ``problems`` lists ``file:line: what`` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def default_path() -> Path:
    here = Path(__file__).resolve().parent.parent
    for p in (here / "policies" / "default.yaml", here.parent / "policies" / "default.yaml"):
        if p.exists():
            return p
    raise FileNotFoundError("the packaged policies/default.yaml is missing: reinstall jupyter_guard")


def _compose(text: str, name: str) -> tuple[Any, dict[str, int]]:
    """Parse YAML keeping the line of every key path (``sensitive.strategy`` -> 7)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise PolicyError([f"{name}:{line}: not valid YAML: {getattr(e, 'problem', e)}"]) from None
    lines: dict[str, int] = {}

    def build(n: Any, path: str) -> Any:
        lines.setdefault(path, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            out = {}
            for k, v in n.value:
                key = str(k.value)
                lines[f"{path}.{key}".lstrip(".")] = k.start_mark.line + 1
                out[key] = build(v, f"{path}.{key}".lstrip("."))
            return out
        if isinstance(n, yaml.SequenceNode):
            return [build(v, f"{path}[{i}]") for i, v in enumerate(n.value)]
        return _scalar(n)

    return (build(node, "") if node is not None else {}), lines


def _scalar(n: yaml.ScalarNode) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(n, deep=True)
    finally:
        loader.dispose()


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merge(base.get(k), v) if k in base else v
        return out
    return over


def load(path: str | Path, _seen: tuple[str, ...] = ()) -> Policy:
    """Load and validate one policy file (following ``extends``)."""
    p = Path(path)
    name = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise PolicyError([f"{name}:1: cannot read the policy file ({e.strerror or e})"]) from None
    data, lines = _compose(text, name)
    if not isinstance(data, dict):
        raise PolicyError([f"{name}:1: a policy is a mapping of keys (version, mode, ...)"])
    parent = data.get("extends")
    if parent:
        target = default_path() if parent == "default" else (p.parent / str(parent))
        if str(target) in _seen:
            raise PolicyError([f"{name}:{lines.get('extends', 1)}: 'extends' loops back to {target}"])
        base_raw = _raw(target, _seen + (name,))
        data = _merge(base_raw, {k: v for k, v in data.items() if k != "extends"})
    return build(data, lines, name)


def _raw(path: Path, seen: tuple[str, ...]) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    data, _ = _compose(text, str(path))
    parent = data.get("extends") if isinstance(data, dict) else None
    if parent:
        base = _raw(default_path() if parent == "default" else path.parent / str(parent), seen + (str(path),))
        data = _merge(base, {k: v for k, v in data.items() if k != "extends"})
    return data if isinstance(data, dict) else {}


def build(data: dict[str, Any], lines: dict[str, int], name: str) -> Policy:
    from jupyter_guard.policy.validate import validate

    problems = validate(data, lines, name)
    if problems:
        raise PolicyError(problems)
    sens = data.get("sensitive") or {}
    net = data.get("network") or {}
    roles = tuple(Role(rname, tuple(r.get("users") or ()), tuple(r.get("groups") or ()),
                       bool(r.get("may_unmask")), bool(r.get("may_approve")),
                       bool(r.get("may_see_all", r.get("may_approve"))))
                  for rname, r in (data.get("roles") or {}).items())
    rules = tuple(Rule(str(r["id"]), Match(**{k: tuple(str(x).lower() if k in ("sql", "actors") else str(x)
                                                        for x in v) for k, v in (r.get("match") or {}).items()}),
                       r.get("action", "block"), str(r.get("message") or ""))
                  for r in data.get("rules") or [])
    canonical = json.dumps(data, sort_keys=True, default=str)
    return Policy(
        name=str(data.get("name") or Path(name).stem), source=name,
        revision=hashlib.sha256(canonical.encode()).hexdigest()[:12],
        version=int(data.get("version", 1)), mode=data.get("mode", "enforce"),
        max_affected_rows=int(data.get("max_affected_rows", 1000)),
        max_affected_rows_per_session=int(data.get("max_affected_rows_per_session", 0)),
        session_window_minutes=int(data.get("session_window_minutes", 60)),
        allow_extensions=tuple(str(x).lower() for x in (data.get("sql") or {}).get(
            "allow_extensions") or ()),
        sensitive_columns=tuple(sens.get("columns") or ()),
        detectors=tuple(sens.get("detectors") or ()), strategy=sens.get("strategy", "partial"),
        per_column=tuple((str(k), str(v)) for k, v in (sens.get("per_column") or {}).items()),
        allow_hosts=tuple(str(h).lower() for h in net.get("allow_hosts") or ()),
        protected_paths=tuple(data.get("protected_paths") or ()), roles=roles, rules=rules,
        approval_minutes=int((data.get("approvals") or {}).get("lifetime_minutes", 60)),
        allow_unread=tuple(str(x) for x in (data.get("children") or {}).get("allow_unread") or ()),
    )


def load_or_default(path: str | Path | None) -> Policy:
    """The policy at ``path``, or the default with ``warnings`` naming every problem."""
    if not path:
        return load(default_path())
    try:
        return load(path)
    except PolicyError as e:
        fallback = load(default_path())
        return replace(fallback, warnings=tuple(e.problems) + (
            f"kept the default policy; fix {path} and run `jupyter guard policy check {path}`",))


__all__ = ["PolicyError", "load", "load_or_default", "default_path", "DETECTORS", "MODES",
           "RULE_ACTIONS", "STRATEGIES"]
