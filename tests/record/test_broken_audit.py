"""An audit log that could not start is replaced by ``BrokenAudit``, which refuses every event. The
kernel extension calls it as it calls a working log: every method the guard calls on an audit log
must exist on it, or loading the guard would end in an ``AttributeError`` instead of refusing."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from jupyter_guard.record.audit import AuditLog, BrokenAudit

PACKAGE = Path(__file__).resolve().parents[2] / "jupyter_guard"


def called_on_audit() -> set[str]:
    names: set[str] = set()
    for f in PACKAGE.rglob("*.py"):
        names |= set(re.findall(r"\.audit\.([a-z_]+)\(", f.read_text()))
    return names


def test_every_method_called_on_an_audit_log_exists_on_the_broken_one() -> None:
    names = called_on_audit()
    assert {"begin", "finish", "start_ingest"} <= names
    for name in names:
        assert callable(getattr(AuditLog, name)), name
        assert callable(getattr(BrokenAudit, name)), name


def test_the_broken_log_refuses_events_and_starts_no_ingest() -> None:
    broken = BrokenAudit("/nowhere/audit.duckdb", "OSError: read-only")
    assert broken.start_ingest(interval=1.0, busy=lambda: False) is None
    with pytest.raises(OSError, match="read-only"):
        broken.begin(kind="python", code="x = 1")
