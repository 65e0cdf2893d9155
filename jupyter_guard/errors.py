"""Errors a user sees: one line, the rule, the reason, and how to go on.

One root, ``GuardError``; under it ``GuardBlocked`` (a refusal), ``GuardConfigError`` (bad
configuration), ``PolicyError`` (a policy file that cannot be used), ``SqlError`` (the database
refused a statement) and ``AuditError`` (the audit store cannot be used). Each keeps the built-in
base its callers catch (``PermissionError``, ``ValueError``, ``RuntimeError``). No IPython here:
the server, the CLI and guarded children import this module too.
"""
from __future__ import annotations

import errno
from typing import Any


class GuardError(Exception):
    """Base of everything jupyter_guard raises on purpose."""

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[0;31m{self}\x1b[0m"]


class GuardBlocked(GuardError, PermissionError):
    """An action refused by the policy. Raised at the call site by the runtime layer."""

    def __init__(self, rule_id: str, reason: str, *, approval_hint: bool = True,
                 decision: str = "block", details: dict[str, Any] | None = None) -> None:
        self.rule_id, self.reason, self.decision = rule_id, reason.rstrip("."), decision
        self.details = details   # the structured refusal (jupyter_guard.policy.refusal)
        hint = " Ask for approval with `%guard request <why>`." if approval_hint else ""
        head = (
            "Held for approval by jupyter_guard"
            if decision == "approval"
            else "Blocked by jupyter_guard"
        )
        super().__init__(f"{head} [{rule_id}]: {self.reason}.{hint}")
        self.errno = errno.EPERM   # a pty child refused at exec: ptyprocess passes it on as one

    def _render_traceback_(self) -> list[str]:
        from jupyter_guard.policy.refusal import one_line, pointed

        safer = one_line(self.details) if self.details else ""
        where = pointed(self.details) if self.details else []
        return [f"\x1b[0;31m{self}\x1b[0m", *where] + ([f"  {safer}"] if safer else [])


class GuardConfigError(GuardError):
    """Bad configuration: a policy file, an audit path, an unknown connection."""


class PolicyError(GuardError, ValueError):
    """A policy file problem; ``problems`` lists ``file:line: what`` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class SqlError(GuardError):
    """The database (or its parser) refused a statement; nothing after it ran."""


class AuditError(GuardError, RuntimeError):
    """The audit file or its journals cannot be used; the message is one line and names the fix."""
