"""The one error the audit store raises at its callers."""
from __future__ import annotations


class AuditError(RuntimeError):
    """The audit file or its journals cannot be used; the message is one line and names the fix."""
