"""The one error the audit store raises at its callers (``jupyter_guard.errors.AuditError``)."""
from __future__ import annotations

from jupyter_guard.errors import AuditError

__all__ = ["AuditError"]
