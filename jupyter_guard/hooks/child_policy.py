"""The kernel's loaded policy handed to its guarded children as JSON (``POLICY_JSON`` in their
environment): a child builds its ``Policy`` from it without parsing, merging and validating the
YAML file again.
"""
from __future__ import annotations

from typing import Any

POLICY_JSON = "JUPYTER_GUARD_CHILD_POLICY"   # the kernel's loaded policy, for its children


def policy_json(policy: Any) -> str:
    """The kernel's policy as JSON: a child builds it in well under a millisecond, where loading
    the YAML file again (parse, ``extends``, validation) cost it 30-300 ms."""
    import dataclasses
    import json

    d = dataclasses.asdict(policy)
    d.pop("warnings", None)
    return json.dumps(d, separators=(",", ":"))


def _role(r: dict[str, Any]) -> Any:
    from jupyter_guard.policy.model import Role

    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in r.items()}
    return Role(**fields)


def policy_from_json(text: str) -> Any:
    import json

    from jupyter_guard.policy.model import Match, Policy, Rule

    d = json.loads(text)
    tup = {k: tuple(tuple(x) if isinstance(x, list) else x for x in v)
           for k, v in d.items() if isinstance(v, list) and k not in ("roles", "rules")}
    roles = tuple(_role(r) for r in d.get("roles", ()))
    rules = tuple(Rule(r["id"], Match(**{k: tuple(v) for k, v in r["match"].items()}),
                       r["action"], r.get("message", "")) for r in d.get("rules", ()))
    return Policy(**{**d, **tup, "roles": roles, "rules": rules})

