"""Errors a user sees: one line, the rule, the reason, and how to go on."""
from __future__ import annotations

from typing import Any

from IPython.core.error import InputRejected


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

    def _render_traceback_(self) -> list[str]:
        from jupyter_guard.policy.refusal import one_line, pointed

        safer = one_line(self.details) if self.details else ""
        where = pointed(self.details) if self.details else []
        return [f"\x1b[0;31m{self}\x1b[0m", *where] + ([f"  {safer}"] if safer else [])


class CellRejected(InputRejected, GuardError):
    """A whole cell refused before anything of it ran (raised from the AST stage)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[0;31m{self}\x1b[0m"]


class GuardConfigError(GuardError):
    """Bad configuration: a policy file, an audit path, an unknown connection."""
