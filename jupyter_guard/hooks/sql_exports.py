"""SQL taint at the exits: what an export or a displayed result reveals, by lineage.

``export_columns`` gives the sensitive source columns an exporting statement (``COPY ... TO``,
``CREATE TABLE attached.t AS``, ``INSERT INTO attached.t SELECT``) writes out, through any
expression (``analyze.sql_taint``), views and tables created in this session with ``CREATE ...
AS`` (their lineage is remembered here), and ``COPY FROM DATABASE``. ``mark_result`` marks the
columns of a ``%%guarded_sql`` result with the same lineage, so the display masks
``replace(ssn, '-', '')`` and the data-aware writers refuse it. Aggregates such as ``sum`` over
sensitive values count as clean only when every group holds ``sensitive.min_group_size`` rows,
which a ``count(*)`` run first by the guard shows.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from sqlglot import exp

from jupyter_guard.analyze.sql import _parse
from jupyter_guard.analyze.sql_taint import Output, Unknown, taint
from jupyter_guard.model import Intent
from jupyter_guard.policy.model import Policy
from jupyter_guard.policy.rules import bare_table

log = logging.getLogger("jupyter_guard")
# bare table or view name -> the lineage of its columns (CTAS and views made in this process)
REMEMBERED: dict[str, tuple[Output, ...]] = {}
_COPY_DATABASE = re.compile(r"^\s*COPY\s+FROM\s+DATABASE\b", re.I)


def _tree(sql: str, dialect: str = "duckdb") -> exp.Expr | None:
    try:
        trees = _parse(sql, dialect)   # cached: the analysis parsed the same text
    except Exception:  # noqa: BLE001 - sqlglot cannot read it: the caller keeps the statement-level analysis
        return None
    return trees[0] if len(trees) == 1 else None


def _plain(tree: exp.Expr) -> bool:
    """A query whose outputs are bare columns or ``*`` of tables (not views or tables made in
    this session): names alone tell what it shows, so the display needs no taint."""
    if not isinstance(tree, exp.Select) or tree.args.get("with_") is not None:
        return False
    sources = [tree.args["from_"].this] if tree.args.get("from_") is not None else []
    sources += [j.this for j in tree.args.get("joins") or []]
    names = set()
    for s in sources:
        if not isinstance(s, exp.Table) or bare_table(s.name) in REMEMBERED:
            return False
        names |= {s.name.lower(), (s.alias or "").lower()}
    return all(isinstance(e, exp.Star) or (isinstance(e, exp.Column) and (
        isinstance(e.this, exp.Star) or e.name.lower() not in names)) for e in tree.expressions)


def _views(cat: Any) -> dict[str, str]:
    if getattr(cat, "_jg_views", None) is None:
        cat._jg_views = {}
        sql = cat.conn.kind.views_sql
        if sql is not None:
            try:
                cat._jg_views = {str(n).lower(): str(s) for n, s in cat.conn.rows(sql)}
            except Exception:  # noqa: BLE001 - no view catalog: views are then followed only if remembered
                cat._jg_views = {}
    return cat._jg_views


def outputs(sql: str | exp.Expr, columns: Callable[[str], tuple[str, ...] | None],
            policy: Policy, views: Callable[[str], str | None] | None = None
            ) -> tuple[tuple[Output, ...], exp.Expr] | None:
    """The outputs of a statement and its tree; None when the taint cannot be told."""
    tree = _tree(sql) if isinstance(sql, str) else sql
    if tree is None:
        return None

    def lookup(name: str) -> tuple[Output, ...] | str | None:
        got = REMEMBERED.get(bare_table(name))
        if got is None and views is not None:
            return views(bare_table(name))
        return got

    try:
        return taint(tree, columns, policy.is_sensitive_column,
                     hashed_ok=policy.hashed_ids == "allow", lookup=lookup), tree
    except Unknown:
        return None
    except Exception as e:  # noqa: BLE001 - an unexpected tree: the caller falls back to every column read
        log.debug("jupyter_guard: no SQL taint for %s: %s", str(sql)[:80], e)
        return None


def _groups_ok(tree: exp.Expr, conn: Any, policy: Policy) -> bool:
    """Every group the query aggregates over holds at least ``min_group_size`` rows."""
    if policy.min_group_size <= 1:
        return True
    q: exp.Expr | None = tree
    while isinstance(q, (exp.Copy, exp.Create, exp.Insert, exp.Subquery)):
        q = q.this if isinstance(q, (exp.Copy, exp.Subquery)) else q.args.get("expression")
    if not isinstance(q, exp.Select) or conn is None:
        return False
    probe = q.copy()
    probe.set("expressions", [exp.alias_(exp.Count(this=exp.Star()), "n")])
    for k in ("order", "limit", "offset", "distinct", "qualify"):
        probe.set(k, None)
    try:
        inner = probe.sql(dialect=getattr(conn, "dialect", None) or "duckdb")
        smallest = conn.scalar(f"SELECT min(n) FROM ({inner}) AS _jg_groups")
    except Exception:  # noqa: BLE001 - the probe failed: the aggregate is treated as revealing single values
        return False
    return smallest is None or int(smallest) >= policy.min_group_size


def revealed(outs: tuple[Output, ...], tree: exp.Expr, conn: Any, policy: Policy
             ) -> list[frozenset[str]]:
    """Per output: the sensitive columns it reveals (grouped ones only if groups are small)."""
    grouped = any(o.grouped and not o.origins for o in outs)
    ok = _groups_ok(tree, conn, policy) if grouped else True
    out = [o.origins | (frozenset() if ok else o.grouped) for o in outs]
    return _histogram(outs, out, tree, conn, policy) if any(out) else out


def _histogram(outs: tuple[Output, ...], taint: list[frozenset[str]], tree: exp.Expr, conn: Any,
               policy: Policy) -> list[frozenset[str]]:
    """The keys of a table-wide histogram of a column's pieces (``left(ssn, 3) AS area,
    count(*)``, ``analyze.sql_groups``) reveal no single value when every group holds at least
    ``min_group_size`` (and two) rows: their taint is dropped."""
    from jupyter_guard.analyze.sql_groups import histogram_keys, smallest_group

    keys = histogram_keys(tree) if policy.min_group_size >= 2 and conn is not None else ()
    if not keys or not isinstance(tree, exp.Select):
        return taint
    try:
        smallest = conn.scalar(smallest_group(tree))
    except Exception:  # noqa: BLE001 - the groups could not be counted: the keys stay tainted
        return taint
    if smallest is not None and int(smallest) < policy.min_group_size:
        return taint
    return [frozenset() if o.name.lower() in keys else t for o, t in zip(outs, taint)]


def export_columns(i: Intent, cat: Any, policy: Policy) -> tuple[str, ...] | None:
    """The sensitive columns an exporting intent writes out; None: keep the columns read."""
    if _COPY_DATABASE.match(i.source or ""):
        every = tuple(f"{t}.{c}" for t, cols in cat.columns().items() if "." not in t for c in cols)
        return every or ("?",)
    cols = cat.columns()
    got = outputs(i.source, lambda t: cols.get(t) or cols.get(bare_table(t)), policy,
                  _views(cat).get)
    if got is None:
        return None
    outs, tree = got
    return tuple(sorted(frozenset().union(*revealed(outs, tree, cat.conn, policy))))


def remember(i: Intent, cat: Any, policy: Policy) -> None:
    """``CREATE TABLE/VIEW t AS SELECT ...``: t's columns keep the lineage of the query."""
    if i.action not in ("sql.create", "sql.replace") or not i.source:
        return
    cols = cat.columns()
    got = outputs(i.source, lambda t: cols.get(t) or cols.get(bare_table(t)), policy,
                  _views(cat).get)
    if got is not None and any(o.tainted for o in got[0]):
        REMEMBERED[bare_table(i.target)] = got[0]


def mark_result(frame: Any, sql: str, conn: Any, policy: Policy,
                marks: list[frozenset[str]] | None = None) -> list[frozenset[str]]:
    """Mark a displayed result's columns with the sensitive columns they reveal (by position);
    returns those marks, one per column ([] when none is tainted or the taint is unknown).
    ``marks``: the taint already computed in the connection's own dialect (PostgreSQL:
    ``connections.pg_results``); else sqlite3's (``connections.sqlite_lineage``) or DuckDB's,
    from ``conn``'s catalog."""
    if frame is None or "select" not in sql.lower():
        return []
    from jupyter_guard.hooks.df_lineage import _mark

    if marks is None and getattr(conn, "dialect", "") == "sqlite" and \
            any(c.__module__ == "sqlite3" for c in type(conn.raw).__mro__):
        # late: sqlite3 only (the connections import the hooks)
        from jupyter_guard.connections import sqlite_lineage, sqlite_results, sqlite_udf

        marks = sqlite_lineage.taint_of(sql, conn.raw, [str(c) for c in frame.columns],
                                        policy, sqlite_udf.names(conn.raw))
        sqlite_results.frame(frame, sql, marks)   # known, a derived value masked whole
    if marks is None:
        marks = _duck_marks(sql, conn, policy) if getattr(conn, "native_duckdb", False) else []
    if len(marks) != len(frame.columns) or not any(marks):
        return []
    _mark(frame, {str(c): m for c, m in zip(frame.columns.tolist(), marks) if m})
    return list(marks)


def _duck_marks(sql: str, conn: Any, policy: Policy) -> list[frozenset[str]]:
    def columns(name: str) -> tuple[str, ...] | None:
        try:
            return tuple(str(c).lower() for c in conn.raw.table(name).columns)
        except Exception:  # noqa: BLE001 - not a table this connection knows: the taint cannot be told
            return None

    tree = _tree(sql)
    if tree is None or _plain(tree):
        return []
    got = outputs(tree, columns, policy)
    if got is None or not any(o.tainted for o in got[0]):
        return []
    return revealed(got[0], got[1], conn, policy)
