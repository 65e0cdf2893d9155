"""The policy as frozen values (what ``policies/*.yaml`` says, validated)."""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from jupyter_guard.model import Decision

Mode = Literal["enforce", "audit"]
Strategy = Literal["redact", "partial", "hash", "null"]
MODES: tuple[str, ...] = ("enforce", "audit")
STRATEGIES: tuple[str, ...] = ("redact", "partial", "hash", "null")
DETECTORS: tuple[str, ...] = ("email", "ssn", "card", "phone", "iban", "secret", "ipv4", "ipv6")
RULE_ACTIONS: tuple[Decision, ...] = ("allow", "mask", "warn", "block", "approval")
ON_FAILURE: tuple[str, ...] = ("refuse", "warn")
SQL_WORDS: tuple[str, ...] = (
    "select",
    "insert",
    "update",
    "delete",
    "merge",
    "create",
    "replace",
    "alter",
    "drop",
    "drop_column",
    "truncate",
    "export",
    "attach",
    "load",
    "copy",
)


_GUARD_COMMAND = re.compile(r"\s*%guard(\s+(status|reload))?\s*")


def guard_command(code: str) -> bool:
    """A cell that only asks the guard about itself, allowed even under a broken policy.

    >>> guard_command("%guard reload"), guard_command("%guard status\\nimport os")
    (True, False)
    """
    return _GUARD_COMMAND.fullmatch(code) is not None


def glob_match(name: str, patterns: tuple[str, ...]) -> bool:
    """Case-insensitive glob match of ``name`` against any pattern.

    >>> glob_match("Customer_EMAIL", ("*email*",))
    True
    """
    rx = _globs(tuple(patterns))
    return rx is not None and rx.match(name.lower()) is not None


@lru_cache(maxsize=256)
def _globs(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """One compiled alternation for a tuple of globs (checked for every column of every result)."""
    if not patterns:
        return None
    return re.compile("|".join(fnmatch.translate(p.lower()) for p in patterns))


@dataclass(frozen=True)
class Role:
    name: str
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    may_unmask: bool = False
    may_approve: bool = False
    may_see_all: bool = False


@dataclass(frozen=True)
class Match:
    sql: tuple[str, ...] = ()          # statement words (see SQL_WORDS)
    actions: tuple[str, ...] = ()      # intent actions, globs: "file.*", "shell.exec"
    tables: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    connections: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    id: str
    match: Match
    action: Decision
    message: str = ""


@dataclass(frozen=True)
class Policy:
    name: str = "default"
    source: str = ""                   # file it came from
    revision: str = ""                 # sha256 prefix of the merged content
    version: int = 1
    mode: Mode = "enforce"
    max_affected_rows: int = 1000
    max_affected_rows_per_session: int = 0   # rows changed per table over the window; 0 = no limit
    session_window_minutes: int = 60
    allow_extensions: tuple[str, ...] = ()   # sql.allow_extensions: INSTALL/LOAD allowed for these
    sensitive_columns: tuple[str, ...] = ()
    detectors: tuple[str, ...] = ()
    strategy: Strategy = "partial"
    per_column: tuple[tuple[str, str], ...] = ()
    allow_hosts: tuple[str, ...] = ()
    protected_paths: tuple[str, ...] = ()
    roles: tuple[Role, ...] = ()
    rules: tuple[Rule, ...] = ()
    approval_minutes: int = 60
    approval_notify: tuple[str, ...] = ()   # approvals.notify: webhook URLs told of each change
    audit_on_failure: str = "refuse"   # refuse | warn: when the audit cannot be written
    allow_unread: tuple[str, ...] = ()  # children.allow_unread: programs run without reading them
    openlineage_transport: str = ""    # JSON of openlineage-python's transport config, or ""
    min_group_size: int = 5            # sum/avg of sensitive values only over groups this big
    hashed_ids: str = "sensitive"      # sensitive | allow: may md5(email) and the like leave?
    inference: Decision = "block"      # the inference rule's action (roles without may_unmask)
    max_values_per_cell: int = 0       # exfiltration budget: distinct raw values (0: no limit)
    max_values_per_session: int = 0
    warnings: tuple[str, ...] = field(default=(), compare=False)
    sources: tuple[str, ...] = ()      # every file read: the policy and what it extends
    errors: tuple[str, ...] = ()       # a broken policy: every action is refused (guard-error)

    @property
    def broken_reason(self) -> str:
        """The one-line refusal while the policy is broken: the first problem and the fix."""
        more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        first = self.errors[0] if self.errors else "unknown problem"
        return (f"the policy is broken: {first}{more}; "
                f"nothing runs until it is fixed: `jupyter guard policy check {self.source}`, "
                "fix the file, then `%guard reload`")

    def roles_of(self, user: str, groups: tuple[str, ...] = ()) -> tuple[Role, ...]:
        return tuple(r for r in self.roles
                     if glob_match(user, r.users) or any(g in r.groups for g in groups))

    def may(self, what: str, user: str, groups: tuple[str, ...] = ()) -> bool:
        return any(getattr(r, what, False) for r in self.roles_of(user, groups))

    def is_sensitive_column(self, column: str) -> bool:
        bare = column.rsplit(".", 1)[-1]
        return bare != "*" and glob_match(bare, self.sensitive_columns)
