"""The per-session hash chain: one canonical row, one hash function, used by writer and verifier.

>>> h = chain_hash("", {"event_id": "e1", "seq": 1})
>>> len(h), h == chain_hash("", {"seq": 1, "event_id": "e1"})
(64, True)
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

# The event's fields that never change once it is final, in the order they are documented.
CHAIN_FIELDS: tuple[str, ...] = (
    "event_id", "session_id", "seq", "ts_us", "user_name", "actor", "groups", "notebook",
    "cell_id", "execution_count", "kind", "code", "code_sha256", "decision", "rule_id", "reason",
    "policy_revision", "decision_id", "status", "duration_ms", "rows_affected", "lineage",
)

LineageItem = tuple[str, str, str, bool]


def norm_lineage(items: Iterable[Iterable[Any]]) -> list[list[Any]]:
    """Lineage as the chain sees it: ``[direction, object_kind, name, is_sensitive]``, sorted.

    >>> norm_lineage([("write", "table", "t", 0), ("read", "column", "c.ssn", True)])
    [['read', 'column', 'c.ssn', True], ['write', 'table', 't', False]]
    """
    # lists of four compare item by item: the order of (direction, kind, name, sensitive)
    return sorted([[str(d), str(k), str(n), bool(s)] for d, k, n, s in items])


def canonical(row: Mapping[str, Any]) -> bytes:
    """The canonical JSON of an event's final immutable fields (missing fields are null)."""
    doc: dict[str, Any] = {f: row.get(f) for f in CHAIN_FIELDS}
    doc["groups"] = sorted(str(g) for g in (doc["groups"] or ()))
    doc["lineage"] = norm_lineage(doc["lineage"] or ())
    if doc["duration_ms"] is not None:
        doc["duration_ms"] = float(doc["duration_ms"])
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    """``sha256(prev_hash + canonical(row))`` as hex."""
    return hashlib.sha256(prev_hash.encode() + canonical(row)).hexdigest()
