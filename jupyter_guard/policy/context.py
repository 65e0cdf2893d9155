"""What every built-in rule sees besides the intent and the policy: the ``Context`` of the cell,
and the small helpers the rules share (a verdict, a table's bare name, whether a column is
sensitive).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from jupyter_guard.model import Decision, Intent, Verdict
from jupyter_guard.policy.model import Policy


@dataclass(frozen=True)
class Context:
    """Who runs the cell and what the session knows (filled by enforcement)."""

    user: str = ""
    groups: tuple[str, ...] = ()
    actor: str = "human"
    connection: str = ""
    cwd: str = field(default_factory=os.getcwd)
    guard_files: tuple[str, ...] = ()  # audit file, policy file, journal dir
    session_tables: frozenset[str] = frozenset()  # places of tables this session created
    sensitive_columns: frozenset[str] = frozenset()  # known sensitive by lineage/value detection
    runtime_checks: bool = False  # file/shell actions are checked again at run time
    # The files under a folder (absolute paths; ``UNKNOWN`` when there are too many to list), so
    # that deleting or moving a folder that holds a protected file is judged like deleting the
    # file. ``None``: the caller cannot look (text alone), and folders are judged by name.
    walk: Callable[[str], Iterable[str]] | None = field(default=None, compare=False)


class RuleFn(Protocol):
    def __call__(self, i: Intent, p: Policy, c: Context) -> Verdict | None: ...


def verdict(decision: Decision, rule: str, reason: str, i: Intent) -> Verdict:
    return Verdict(decision, rule, reason, i)


def bare_table(name: str) -> str:
    """
    >>> bare_table("memory.main.Customers"), bare_table('"s"."t"')
    ('customers', 's.t')
    """
    parts = [x.strip('"').lower() for x in name.split(".") if x]
    while (
        len(parts) > 1
        and parts[0] in ("memory", "main", "temp", "system")
        and parts[0] != parts[-1]
    ):
        parts = parts[1:]
    return ".".join(parts)


# An origin named ``held:<table>.<column>``: a column the guard saw receive sensitive values
# (values bound as parameters of an INSERT or UPDATE), whatever its name.
HELD = "held:"


def is_sensitive(col: str, p: Policy, c: Context) -> bool:
    return p.is_sensitive_column(col) or col.lower() in c.sensitive_columns or \
        col.rsplit(".", 1)[-1].lower() in c.sensitive_columns or col.startswith(HELD)
