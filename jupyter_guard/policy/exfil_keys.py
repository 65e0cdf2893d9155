"""Policy keys about data leaving the kernel: aggregate group sizes, hashed identifiers, the
inference rule's action and the exfiltration budget (validated and read here, one place).

>>> read({"sensitive": {"min_group_size": 10}, "exfiltration": {
...     "max_sensitive_values_per_cell": 3}})["min_group_size"]
10
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

SENSITIVE_KEYS = ("min_group_size", "hashed_ids", "inference")
EXFILTRATION_KEYS = ("max_sensitive_values_per_cell", "max_sensitive_values_per_session")
HASHED_IDS = ("sensitive", "allow")
INFERENCE_ACTIONS = ("block", "approval", "warn", "allow")


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def validate(data: dict[str, Any], bad: Callable[[str, str], None]) -> None:
    found = data.get("sensitive")
    sens: dict[str, Any] = found if isinstance(found, dict) else {}
    if "min_group_size" in sens and not _count(sens["min_group_size"]):
        bad("sensitive.min_group_size", "'sensitive.min_group_size' must be a whole number >= 0")
    if sens.get("hashed_ids", "sensitive") not in HASHED_IDS:
        bad("sensitive.hashed_ids",
            f"'sensitive.hashed_ids' must be one of {', '.join(HASHED_IDS)}")
    if sens.get("inference", "block") not in INFERENCE_ACTIONS:
        bad("sensitive.inference",
            f"'sensitive.inference' must be one of {', '.join(INFERENCE_ACTIONS)}")
    ex = data.get("exfiltration", {})
    if not isinstance(ex, dict):
        bad("exfiltration", "'exfiltration' must be a mapping (max_sensitive_values_per_cell, "
            "max_sensitive_values_per_session)")
        return
    for k, v in ex.items():
        if k not in EXFILTRATION_KEYS:
            bad(f"exfiltration.{k}", f"unknown key 'exfiltration.{k}'. Expected one of: "
                f"{', '.join(EXFILTRATION_KEYS)}.")
        elif not _count(v):
            bad(f"exfiltration.{k}",
                f"'exfiltration.{k}' must be a whole number >= 0 (0: no limit)")


def read(data: dict[str, Any]) -> dict[str, Any]:
    """The Policy fields these keys set."""
    sens = data.get("sensitive") or {}
    ex = data.get("exfiltration") or {}
    return {"min_group_size": int(sens.get("min_group_size", 5)),
            "hashed_ids": str(sens.get("hashed_ids", "sensitive")),
            "inference": str(sens.get("inference", "block")),
            "max_values_per_cell": int(ex.get("max_sensitive_values_per_cell", 0)),
            "max_values_per_session": int(ex.get("max_sensitive_values_per_session", 0))}
