"""What a statement measurably did, and the rules that judge it (pure: no DuckDB here).

``enforce.effect`` runs a statement inside a transaction the guard controls, measures an
``Effect`` from catalog snapshots and row counts, and asks ``judge_effect`` before it commits.
The rule ids are the static ones (``bulk-change``, ``destructive-ddl``): the effect check is the
guarantee behind the fast, explainable static check.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from jupyter_guard.model import Verdict
from jupyter_guard.policy.model import Policy

Key = tuple[str, str, str]   # (database, schema, name)


def show(key: Key) -> str:
    """
    >>> show(("memory", "main", "orders")), show(("wh", "finance", "t"))
    ('orders', 'finance.t')
    """
    _, schema, name = key
    return name if schema == "main" else f"{schema}.{name}"


@dataclass(frozen=True)
class Effect:
    """The measured change of one statement (per table, catalog objects by key)."""

    verb: str                                     # DELETE, MERGE, EXPLAIN ANALYZE, ...
    deleted: dict[Key, int] = field(default_factory=dict)
    changed: dict[Key, int] = field(default_factory=dict)    # updated or replaced rows
    inserted: dict[Key, int] = field(default_factory=dict)
    unmeasured: tuple[Key, ...] = ()              # rows changed, by how many the guard cannot tell
    created: tuple[Key, ...] = ()                 # tables/views that did not exist before
    dropped: tuple[Key, ...] = ()                 # tables/views gone (renamed ones included)
    schemas_created: tuple[Key, ...] = ()
    schemas_dropped: tuple[Key, ...] = ()
    columns_dropped: tuple[tuple[Key, str], ...] = ()
    columns_rewritten: tuple[tuple[Key, str, int], ...] = ()  # values changed by ALTER ... TYPE
    databases_gone: tuple[str, ...] = ()
    databases_new: tuple[str, ...] = ()           # attached empty: the session's own
    databases_attached: tuple[str, ...] = ()      # attached, whatever the file held

    def touched(self) -> dict[Key, int]:
        """Rows deleted or changed per table (inserts are not counted against the limits)."""
        out: dict[Key, int] = {}
        for d in (self.deleted, self.changed):
            for k, n in d.items():
                out[k] = out.get(k, 0) + n
        return out


@dataclass(frozen=True)
class Owned:
    """What this session really created (by measured effect) and what it already changed."""

    tables: frozenset[Key] = frozenset()
    schemas: frozenset[Key] = frozenset()
    databases: frozenset[str] = frozenset()       # attached empty by this session: its own
    cell_rows: dict[Key, int] = field(default_factory=dict)      # rows changed in this cell
    window_rows: dict[Key, int] = field(default_factory=dict)    # rows changed in the window
    attached: frozenset[str] = frozenset()        # attached by this session: it may detach them


def _block(rule: str, reason: str) -> Verdict:
    return Verdict("block", rule, reason)


def judge_effect(e: Effect, p: Policy, own: Owned) -> Verdict | None:
    """The first rule the measured effect breaks, else None.

    >>> e = Effect("MERGE", deleted={("memory", "main", "orders"): 50000})
    >>> judge_effect(e, Policy(), Owned()).reason.split(";")[0]
    'this MERGE would delete 50000 rows of orders, more than max_affected_rows=1000'
    """
    mine = own.tables
    for key in e.dropped:
        if key not in mine and key[0] not in own.databases:
            return _block("destructive-ddl", f"this {e.verb} would drop or rename {show(key)}, "
                          "which this session did not create; nothing was changed")
    for key in e.schemas_dropped:
        if key not in own.schemas and key[0] not in own.databases:
            return _block("destructive-ddl", f"this {e.verb} would drop schema {key[1]}"
                          ", which this session did not create; nothing was changed")
    for db in e.databases_gone:
        if db not in own.databases and db not in own.attached:
            return _block("destructive-ddl", f"this {e.verb} would detach database {db}, which "
                          "this session did not attach; nothing was changed")
    for key, col in e.columns_dropped:
        if key not in mine:
            return _block("destructive-ddl", f"this {e.verb} would drop or rename column {col} of "
                          f"{show(key)}, which this session did not create; nothing was changed")
    for key, col, n in e.columns_rewritten:
        if key not in mine:
            return _block("bulk-change", f"this {e.verb} would rewrite column {col} in {n} rows of "
                          f"{show(key)}; nothing was changed")
    for key in e.unmeasured:
        if key not in mine:
            return _block("bulk-change", f"this {e.verb} changes rows of {show(key)} and the guard "
                          "could not measure how many; nothing was changed")
    for key, n in e.touched().items():
        if key in mine or key[0] == "temp":   # DuckDB's temporary tables are the session's alone
            continue
        verb = "delete" if key in e.deleted and key not in e.changed else \
            "update" if key not in e.deleted else "delete or update"
        if n > p.max_affected_rows:
            return _block("bulk-change", f"this {e.verb} would {verb} {n} rows of {show(key)}, "
                          f"more than max_affected_rows={p.max_affected_rows}; nothing was changed")
        cell = own.cell_rows.get(key, 0) + n
        if cell > p.max_affected_rows:
            return _block("bulk-change", f"this {e.verb} would {verb} {n} rows of {show(key)}, "
                          f"{cell} in this cell, more than max_affected_rows={p.max_affected_rows}"
                          "; nothing was changed")
        window = own.window_rows.get(key, 0) + n
        if p.max_affected_rows_per_session and window > p.max_affected_rows_per_session:
            return _block("bulk-change", f"this {e.verb} would {verb} {n} rows of {show(key)}, "
                          f"{window} in the last {p.session_window_minutes} minutes, more than "
                          f"max_affected_rows_per_session={p.max_affected_rows_per_session}; "
                          "nothing was changed")
    return None
