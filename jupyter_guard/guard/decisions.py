"""Decisions on read-only statements, reused while nothing that decided them has changed.

A statement that only reads tables (every intent a ``sql.select`` of a table, handed to no
Python object, with no analysis error) is decided from its intents, the policy and who runs it
alone: enrichment reads no catalog for it and no file, namespace or approval takes part. Its
allowed judgement is kept under the analysis it was made from (the same object: the database
kinds keep one analysis per statement shape) and everything else it depends on:

- the connection's kind and name;
- on PostgreSQL, for a comparison with a constant, the views' fingerprint (``_views``);
- the user, groups and actor of the running cell (an identity change is a new key);
- the policy object and its revision (a reload is a new key; the old entries are dropped);
- the session's own tables, and whether files and SQL are checked again at run time.

Only the static decision is kept: a statement the database kind runs under the effect check
(``SELECT f()``, ``SELECT ... INTO``) is still measured every time it runs.
Only allowed judgements that no approval lifted are kept: a refusal is decided again every time
(an approval granted since may lift it), and an approval is spent once. A reused judgement gets
a new decision id, so each audit row records a decision of its own.
"""
from __future__ import annotations

from copy import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jupyter_guard.model import Analysis, new_id

if TYPE_CHECKING:
    from jupyter_guard.connections.conn import Conn
    from jupyter_guard.guard.judge import Judgement
    from jupyter_guard.guard.service import Guard

_SIZE = 256


def cacheable(analysis: Analysis) -> bool:
    """
    >>> from jupyter_guard.model import Intent
    >>> cacheable(Analysis((Intent("sql.select", "table", "customers"),)))
    True
    >>> cacheable(Analysis((Intent("sql.select", "table", "t", via="con"),)))
    False
    >>> cacheable(Analysis((Intent("sql.delete", "table", "t"),)))
    False

    A query's comparisons with constants (``sql.predicate``, judged by ``inference``) are
    reads too: an allowed one is kept like its ``SELECT`` (a refused one never is); on
    PostgreSQL, under the views' fingerprint too (``_views``). A check measured over a crowd
    (detail ``crowd?:``, or ``crowd@`` for a domain check) is never kept: its rows are counted,
    and compared with earlier answers' (``crowd_memory``), every time it runs (rows deleted
    since would shrink the crowd).

    >>> cacheable(Analysis((Intent("sql.predicate", "column", "email", detail="crowd?:S"),)))
    False
    """
    if analysis.errors or not analysis.intents:
        return False
    return all(not i.via and ((i.action == "sql.select" and i.target_kind == "table") or
                              (i.action == "sql.predicate" and i.target_kind == "column" and
                               not i.detail.startswith(("crowd?:", "crowd@"))))
               for i in analysis.intents)


def _views(analysis: Analysis, conn: Conn) -> str | None:
    """What a kept comparison with a constant also depends on: on PostgreSQL, the views'
    fingerprint (``pg_lineage.stamp``: a view another session redefined, ``CREATE OR REPLACE VIEW
    v AS SELECT ssn AS x``, may now compare a sensitive column); None when it cannot be read
    (the decision is then not kept). '' for anything else."""
    if conn.dialect != "postgres" or not any(i.action == "sql.predicate"
                                             for i in analysis.intents):
        return ""
    from jupyter_guard.connections import pg_lineage  # late: only PostgreSQL's comparisons

    return pg_lineage.stamp(conn)


@dataclass
class Decisions:
    """Allowed judgements of read-only statements (``cacheable``), at most ``_SIZE``."""

    entries: dict[tuple[Any, ...], tuple[Analysis, Any, Judgement]] = field(default_factory=dict)
    policy: Any = None   # the policy the entries were decided under

    def key(self, g: Guard, analysis: Analysis, conn: Conn | None,
            actor: str | None) -> tuple[Any, ...] | None:
        if g.policy is not self.policy:   # reloaded: nothing the old policy allowed is kept
            self.entries.clear()
            self.policy = g.policy
        if conn is None or g.policy.errors or not cacheable(analysis):
            return None
        views = _views(analysis, conn)
        if views is None:
            return None
        user, cell_actor = g.who()
        return (views, id(analysis), conn.dialect, conn.name, user, g.groups_now(),
                actor or cell_actor, id(g.policy), g.policy.revision, frozenset(g.session_tables),
                g.runtime_files, g.runtime_sql)

    def get(self, key: tuple[Any, ...], analysis: Analysis, policy: Any) -> Judgement | None:
        hit = self.entries.get(key)
        if hit is None or hit[0] is not analysis or hit[1] is not policy:
            return None
        j = hit[2]
        fresh = copy(j.verdict)   # one decision id per audit row (``replace`` costs 10x more)
        object.__setattr__(fresh, "decision_id", new_id())
        out = copy(j)
        out.verdict, out.verdicts = fresh, tuple(fresh if v is j.verdict else v
                                                 for v in j.verdicts)
        return out

    def put(self, key: tuple[Any, ...], analysis: Analysis, policy: Any, j: Judgement) -> None:
        if j.verdict.refuses or j.approved_by:
            return
        if len(self.entries) >= _SIZE:
            self.entries.clear()
        self.entries[key] = (analysis, policy, j)
