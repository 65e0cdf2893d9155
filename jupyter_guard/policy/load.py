"""YAML -> frozen Policy.

``extends``, merging (lists replace, maps merge), and errors with file:line.

A broken policy never leaves a kernel unguarded or less guarded: ``load_or_refuse`` returns a
policy whose ``errors`` name every problem, and ``decide`` refuses every action under it
(``guard-error``) until the file is fixed and reloaded. There is no fallback to the default.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from jupyter_guard.errors import PolicyError
from jupyter_guard.policy import exfil_keys
from jupyter_guard.policy.model import (
    DETECTORS,
    MODES,
    RULE_ACTIONS,
    STRATEGIES,
    Match,
    Policy,
    Role,
    Rule,
)


def default_path() -> Path:
    here = Path(__file__).resolve().parent.parent
    for p in (here / "policies" / "default.yaml", here.parent / "policies" / "default.yaml"):
        if p.exists():
            return p
    raise FileNotFoundError(
        "the packaged policies/default.yaml is missing: reinstall jupyter_guard"
    )


MAX_BYTES = 1 << 20
"""A policy file larger than this is refused unread (a policy is a few KB)."""
MAX_VALUES = 20_000
"""Values a policy may expand to, aliases (``*name``) included: nine nested lists of nine
aliases each would expand to 387 million (the "billion laughs"), and no honest policy nears
this."""


def _compose(text: str, name: str) -> tuple[Any, dict[str, int]]:
    """Parse YAML keeping the line of every key path (``sensitive.strategy`` -> 7)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise PolicyError([f"{name}:{line}: not valid YAML: {getattr(e, 'problem', e)}"]) from None
    lines: dict[str, int] = {}
    count = [0]

    def build(n: Any, path: str) -> Any:
        count[0] += 1
        if count[0] > MAX_VALUES:
            raise PolicyError([f"{name}:{n.start_mark.line + 1}: the policy expands to more "
                               f"than {MAX_VALUES:,} values (YAML aliases such as *name "
                               "repeat what they name); write the lists out, or use fewer "
                               "aliases"])
        lines.setdefault(path, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            out = {}
            for k, v in n.value:
                key = str(k.value)
                if key in out:   # YAML keeps the last silently: a stricter line above would vanish
                    first = lines.get(f"{path}.{key}".lstrip("."), 1)
                    raise PolicyError([f"{name}:{k.start_mark.line + 1}: "
                                       f"'{f'{path}.{key}'.lstrip('.')}' is given twice (first "
                                       f"at line {first}); keep one"])
                lines[f"{path}.{key}".lstrip(".")] = k.start_mark.line + 1
                out[key] = build(v, f"{path}.{key}".lstrip("."))
            return out
        if isinstance(n, yaml.SequenceNode):
            return [build(v, f"{path}[{i}]") for i, v in enumerate(n.value)]
        return loader.construct_object(n, deep=True)

    if node is None:   # empty, or comments only: a failed save, a full disk
        raise PolicyError([f"{name}:1: the policy file is empty; write the policy (at least "
                           "'version: 1' and 'extends: default'), or point JUPYTER_GUARD_POLICY "
                           "at the right file"])
    loader = yaml.SafeLoader("")   # one constructor for every scalar of this file
    try:
        return build(node, ""), lines
    finally:
        loader.dispose()


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merge(base.get(k), v) if k in base else v
        return out
    return over


def _read(p: Path) -> str:
    """The file's text; unreadable or non-UTF-8 files are policy problems with their line."""
    name = str(p)
    try:
        # O_NONBLOCK: a FIFO named as the policy must not block the kernel's start
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise PolicyError([f"{name}:1: not a regular file; point JUPYTER_GUARD_POLICY "
                                   "at a policy YAML file"])
            if st.st_size > MAX_BYTES:
                raise PolicyError([f"{name}:1: {st.st_size:,} bytes, more than a policy may be "
                                   f"({MAX_BYTES:,}); check that this is the policy file"])
            raw = os.read(fd, MAX_BYTES + 1)
            while len(raw) <= MAX_BYTES:   # os.read may return less than asked
                more = os.read(fd, MAX_BYTES + 1 - len(raw))
                if not more:
                    break
                raw += more
        finally:
            os.close(fd)
    except OSError as e:
        raise PolicyError([f"{name}:1: cannot read the policy file ({e.strerror or e}); "
                           "check the path (JUPYTER_GUARD_POLICY) and its permissions"]) from None
    if len(raw) > MAX_BYTES:   # grew while read
        raise PolicyError([f"{name}:1: more than {MAX_BYTES:,} bytes, more than a policy may "
                           "be; check that this is the policy file"])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise PolicyError([f"{name}:{line}: not UTF-8 text (byte 0x{raw[e.start]:02x} at column "
                           f"{col}); save the file as UTF-8"]) from None


def _parent(p: Path, parent: Any, where: str, seen: tuple[str, ...]) -> Path:
    target = default_path() if parent == "default" else (p.parent / str(parent))
    if str(target) in seen or str(target) == str(p):
        raise PolicyError([f"{where}: 'extends' loops back to {target}"])
    return target


def load(path: str | Path, _seen: tuple[str, ...] = ()) -> Policy:
    """Load and validate one policy file (following ``extends``)."""
    p = Path(path)
    name = str(p)
    data, lines = _compose(_read(p), name)
    if not isinstance(data, dict):
        raise PolicyError([f"{name}:1: a policy is a mapping of keys (version, mode, ...)"])
    sources = [name]
    parent = data.get("extends")
    if parent:
        where = f"{name}:{lines.get('extends', 1)}"
        target = _parent(p, parent, where, _seen)
        try:
            base_raw = _raw(target, _seen + (name,), sources)
        except PolicyError as e:
            raise PolicyError([f"{where}: 'extends: {parent}' cannot be used: {e.problems[0]}",
                               *e.problems[1:]]) from None
        data = _merge(base_raw, {k: v for k, v in data.items() if k != "extends"})
    return replace(build(data, lines, name), sources=tuple(sources))


def _raw(path: Path, seen: tuple[str, ...], sources: list[str]) -> dict[str, Any]:
    sources.append(str(path))
    data, lines = _compose(_read(path), str(path))
    if not isinstance(data, dict):
        raise PolicyError([f"{path}:1: a policy is a mapping of keys (version, mode, ...)"])
    parent = data.get("extends")
    if parent:
        target = _parent(path, parent, f"{path}:{lines.get('extends', 1)}", seen)
        base = _raw(target, seen + (str(path),), sources)
        merged: dict[str, Any] = _merge(base, {k: v for k, v in data.items() if k != "extends"})
        return merged
    return data


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
    rules = tuple(
        Rule(
            str(r["id"]),
            Match(
                **{
                    k: tuple(str(x).lower() if k in ("sql", "actors") else str(x) for x in v)
                    for k, v in (r.get("match") or {}).items()
                }
            ),
            r.get("action", "block"),
            str(r.get("message") or ""),
        )
        for r in data.get("rules") or []
    )
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
        approval_notify=tuple(str(u) for u in (data.get("approvals") or {}).get("notify") or ()),
        audit_on_failure=str((data.get("audit") or {}).get("on_failure", "refuse")),
        allow_unread=tuple(str(x) for x in (data.get("children") or {}).get("allow_unread") or ()),
        openlineage_transport=json.dumps((data.get("openlineage") or {}).get("transport"),
                                         sort_keys=True) if data.get("openlineage") else "",
        **exfil_keys.read(data),
    )


def load_or_refuse(path: str | Path | None) -> Policy:
    """The policy at ``path``; if it cannot be read, decoded, parsed or validated, a policy that
    refuses everything and names every problem (never the default in its place)."""
    if not path:
        return load(default_path())
    try:
        return load(path)
    except PolicyError as e:
        problems = tuple(e.problems)
    except Exception as e:  # noqa: BLE001 - a file the validator did not foresee: refused below, never allowed
        problems = (f"{path}:1: cannot be understood ({type(e).__name__}: {e})",)
    return broken(path, problems)


def broken(path: str | Path, problems: tuple[str, ...]) -> Policy:
    """A policy that refuses every action: masking keeps the packaged defaults, nothing runs."""
    base = load(default_path())
    digest = hashlib.sha256("\n".join(problems).encode()).hexdigest()[:8]
    return replace(base, name=Path(path).stem or "policy", source=str(path), mode="enforce",
                   revision=f"broken-{digest}", rules=(), sources=(str(path),),
                   errors=problems, warnings=problems + (
                       f"every cell is refused until the policy is fixed: run "
                       f"`jupyter guard policy check {path}`, fix it, then `%guard reload`",))


__all__ = [
    "DETECTORS",
    "MODES",
    "RULE_ACTIONS",
    "STRATEGIES",
    "PolicyError",
    "broken",
    "default_path",
    "load",
    "load_or_refuse",
]
