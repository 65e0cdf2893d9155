"""Errors a user sees: one line, the rule, the reason, and how to go on."""
from __future__ import annotations

from IPython.core.error import InputRejected


class GuardError(Exception):
    """Base of everything jupyter_guard raises on purpose."""

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[0;31m{self}\x1b[0m"]


class GuardBlocked(GuardError, PermissionError):
    """An action refused by the policy. Raised at the call site by the runtime layer."""

    def __init__(self, rule_id: str, reason: str, *, approval_hint: bool = True,
                 decision: str = "block") -> None:
        self.rule_id, self.reason, self.decision = rule_id, reason.rstrip("."), decision
        hint = " Ask for approval with `%guard request <why>`." if approval_hint else ""
        head = "Held for approval by jupyter_guard" if decision == "approval" else "Blocked by jupyter_guard"
        super().__init__(f"{head} [{rule_id}]: {self.reason}.{hint}")


class CellRejected(InputRejected, GuardError):
    """A whole cell refused before anything of it ran (raised from the AST stage)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[0;31m{self}\x1b[0m"]


class GuardConfigError(GuardError):
    """Bad configuration: a policy file, an audit path, an unknown connection."""
