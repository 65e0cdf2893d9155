"""The vocabulary every layer shares.

What a cell would do (Intent) and what the guard says (Verdict).

Stdlib only, frozen values. Analysers turn text into ``tuple[Intent, ...]``; the policy engine turns
intents into verdicts; enforcement and recording only read them.
"""
from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

# What a cell would do. Each analyser emits only these words.
Action = Literal[
    "sql.select", "sql.insert", "sql.update", "sql.delete", "sql.merge", "sql.create",
    "sql.replace", "sql.alter", "sql.drop_column", "sql.drop", "sql.truncate", "sql.export",
    "sql.attach", "sql.load", "sql.transaction", "sql.set", "sql.other", "sql.unparsed",
    "sql.unknown", "sql.extension", "sql.outside", "sql.rename",
    "file.read", "file.write", "file.delete", "file.move", "file.truncate",
    "shell.exec", "net.upload", "net.download", "df.export", "code.dynamic", "guard.tamper",
    "child.unread",
    "sql.predicate", "sql.fragment",
]
TargetKind = Literal["table", "view", "schema", "database", "column", "file", "path", "host",
                     "command", "guard", "variable", "none"]
Decision = Literal["allow", "mask", "warn", "block", "approval"]
WhereKind = Literal[
    "", "none", "always", "filtered", "param", "unknown"
]  # param: needs bound values

# Stands for a part of a string or path that cannot be known before the code runs.
UNKNOWN = "__jg_unknown__"
# The detail of a change to a file a program (not Python) names only when it runs
# (``rm $(...)``): no later layer sees that name, so it is decided as unknown now.
UNSEEN_LATER = "a file the command names only when it runs"

DECISIONS: tuple[Decision, ...] = ("allow", "mask", "warn", "approval", "block")
# The order in which decisions win when a cell has several intents.
SEVERITY: dict[str, int] = {d: i for i, d in enumerate(DECISIONS)}

SQL_WRITES = frozenset({"sql.insert", "sql.update", "sql.delete", "sql.merge", "sql.create",
                        "sql.replace", "sql.alter", "sql.drop_column", "sql.drop",
                        "sql.truncate", "sql.export", "sql.load", "sql.rename"})


@dataclass(frozen=True)
class Intent:
    """One thing a cell would do.

    >>> Intent("sql.drop", "table", "main.customers").action
    'sql.drop'
    """

    action: Action
    target_kind: TargetKind = "none"
    target: str = ""
    columns: tuple[str, ...] = ()          # columns read (for exports: the exported columns)
    reads: tuple[str, ...] = ()            # tables read by the statement
    source: str = ""                       # the statement / command / call as written
    where: WhereKind = ""                  # for sql.delete / sql.update
    estimated_rows: int | None = None      # filled by enforcement before deciding bulk changes
    remote: bool = False                   # destination is not a local file
    temporary: bool = False                # temp table / created in this session
    recursive: bool = False                # rm -r, rmtree, find -delete
    detail: str = ""                       # free text for the reason (e.g. the sink)
    span: tuple[int, int] | None = None    # (line, col) in the cell, 1-based line
    via: str = ""                          # the Python object SQL was handed to (``con``)
    key: str = ""                          # where the target table lives (``guard.owned``)

    def with_(self, **changes: Any) -> Intent:
        return dataclasses.replace(self, **changes)


class _Ids:
    """Unique ids in the layout of a version-4 UUID (32 hex digits), without a system call each:
    64 random bits per process (``os.urandom`` once, again in a forked child) and a counter.
    ``uuid.uuid4()`` reads ``os.urandom`` every time, and in a kernel every system call on a
    cell's path releases the GIL, which the kernel's I/O threads may then hold for a while."""

    def __init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        seed = int.from_bytes(os.urandom(16), "big")
        self.high = ((seed >> 64) & ~0xF000) | 0x4000            # version 4
        self.counter = itertools.count(seed & 0x3FFF_FFFF_FFFF_FFFF)

    def new(self) -> str:
        # the RFC 4122 variant bits, then 62 bits of counter
        low = (next(self.counter) & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        return f"{self.high:016x}{low:016x}"


_IDS = _Ids()
os.register_at_fork(after_in_child=_IDS.reseed)


def new_id() -> str:
    """A unique 32-hex-digit id (a valid version-4 UUID) for an event or a decision.

    >>> import uuid; u = uuid.UUID(hex=new_id()); (u.version, u.variant == uuid.RFC_4122)
    (4, True)
    """
    return _IDS.new()


@dataclass(frozen=True)
class Verdict:
    """The guard's answer for one intent (or for a whole cell, see ``combine``)."""

    decision: Decision
    rule_id: str
    reason: str
    intent: Intent | None = None
    policy_revision: str = ""
    decision_id: str = field(default_factory=lambda: new_id())

    @property
    def refuses(self) -> bool:
        return self.decision in ("block", "approval")


ALLOW = Verdict("allow", "", "no rule matched")


def combine(verdicts: Iterable[Verdict]) -> Verdict:
    """The cell's verdict: the most severe one (first of equals).

    >>> combine([Verdict("allow", "", "ok"), Verdict("block", "r", "no")]).rule_id
    'r'
    """
    best: Verdict | None = None
    for v in verdicts:
        if best is None or SEVERITY[v.decision] > SEVERITY[best.decision]:
            best = v
    return best or ALLOW


@dataclass(frozen=True)
class Analysis:
    """What an analyser found in a piece of code: intents, plus lineage facts and problems."""

    intents: tuple[Intent, ...] = ()
    errors: tuple[str, ...] = ()           # parse errors a user must see; never mean "allow"
    vars_written: tuple[str, ...] = ()
    vars_read: tuple[str, ...] = ()

    def __add__(self, other: Analysis) -> Analysis:
        return Analysis(self.intents + other.intents, self.errors + other.errors,
                        self.vars_written + other.vars_written, self.vars_read + other.vars_read)

