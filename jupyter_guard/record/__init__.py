"""The audit store: per-kernel journals ingested into one DuckDB file readable at any moment."""
from __future__ import annotations

try:
    from .approvals import decide_approval, find_approval, requests
    from .audit import AuditLog
    from .errors import AuditError
    from .ingest import ingest, repair, try_ingest
    from .store import connect_readonly
    from .verify import VerifyResult, verify
except ModuleNotFoundError as e:   # a guarded child's Python without DuckDB: journals only
    if e.name != "duckdb":
        raise

__all__ = ["AuditError", "AuditLog", "VerifyResult", "connect_readonly", "decide_approval",
           "find_approval", "ingest", "repair", "requests", "try_ingest", "verify"]
