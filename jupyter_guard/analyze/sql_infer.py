"""Inference: predicates that compare a column with a constant (``=``, ``LIKE``, ``IN``, ranges,
``regexp_*``, ``starts_with``, ``left(ssn, 3) = '123'``) inside a query. Each becomes a
``sql.predicate`` intent naming the column; the ``inference`` rule decides on the sensitive ones.
Column-to-column comparisons (joins on ``email``) and subqueries are not constants and yield none.
Ranking by a sensitive column while showing something else yields one too (detail ``order``,
``sql_order``). What the columns of CTEs, derived tables and saved views stand for is
``sql_sources``' and ``sql_saved``'s.

Pure: sqlglot trees in, intents out.

>>> import sqlglot
>>> [i.target for i in predicate_intents(sqlglot.parse_one(
...     "SELECT count(*) FROM customers c WHERE c.ssn LIKE '123%' AND city = 'Lyon'"))]
['customers.ssn', 'customers.city']
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from sqlglot import exp

from jupyter_guard.analyze.sql_compare import (
    RANGES,
    is_comparison,
    joined_compared,
    operands,
    set_compared,
)
from jupyter_guard.analyze.sql_crowd import crowd_checks
from jupyter_guard.analyze.sql_filled import _MADE, _filled
from jupyter_guard.analyze.sql_group_keys import group_checks
from jupyter_guard.analyze.sql_guessfn import computed_guesses
from jupyter_guard.analyze.sql_lists import merged_compared, unlambda
from jupyter_guard.analyze.sql_mixed import mixed_compared
from jupyter_guard.analyze.sql_noguess import guess_literal, no_content
from jupyter_guard.analyze.sql_normal import normal
from jupyter_guard.analyze.sql_oracles import VERSION as _FUNCTIONS
from jupyter_guard.analyze.sql_oracles import merged_as_query, oracle_calls
from jupyter_guard.analyze.sql_order import order_intents
from jupyter_guard.analyze.sql_pivot import pivot_exports
from jupyter_guard.analyze.sql_saved import _SAVED, _inline, _remember
from jupyter_guard.analyze.sql_sides import Leaves, Sides, guess
from jupyter_guard.analyze.sql_sources import (
    _columns_of,
    _constant,
    _Derived,
    _naming,
    _scoped,
    columns_star,
)
from jupyter_guard.analyze.sql_temporal import temporal_exports
from jupyter_guard.model import Analysis, Intent


def predicate_intents(tree: exp.Expr, dialect: str = "duckdb") -> tuple[Intent, ...]:
    """One ``sql.predicate`` intent per column compared in a query, by where the other side's
    values come from (``sql_sides``): a guess (a constant, a ``VALUES`` list, generated rows, a
    file, a table made of those; ``JOIN (SELECT '123' AS s) x ON c.ssn = x.s``) gives a plain
    one, which ``inference`` decides on the column alone; table columns give one with detail
    ``against?:<leaves>`` (``rank?:`` for ``<``, ``>``, ``BETWEEN``), which the catalog checks
    (``guard.infer_catalog``: a sensitive column of a real table, or a guess after all).
    A check that needs no guess (a format, a domain, a length, a null) gives one with detail
    ``crowd?:<probe>`` or ``crowd:<why>`` (``sql_crowd``: asked of a crowd or of chosen rows;
    ``dialect``: the probe's); so does each column a grouping key reads (``sql_group_keys``)."""
    tree = unlambda(_inline(tree))   # a lambda's parameter: the list it ranges over
    derived = _Derived(tree)
    names = _naming(tree, derived)
    sides = Sides(tree, derived)
    out: dict[str, Intent] = {}

    def add(col: exp.Column, col_sel: exp.Expr, leaves: Leaves, text: str | exp.Expr,
            ranged: bool = False, mixed: bool = False) -> None:
        derived.budget = 64
        pattern = col.meta.get("columns", "") if col.meta else ""
        derived.patterns = {}
        for name in names(col, col_sel):
            # a row reached through ``COLUMNS('re') AS q`` keeps its pattern
            pat = pattern or derived.patterns.get(name, "")
            # ``mixed``: the column's own values are among ``leaves``; the others meet them
            other = frozenset(v for v in leaves if name not in v.split("|")) if mixed else leaves
            if not other:
                continue
            if guess(other):
                detail = f"columns:{pat}" if pat and name.endswith(".*") else ""
            else:
                detail = ("rank?:" if ranged else "against?:") + ",".join(sorted(other))
            if f"{name}\0{detail}" not in out:
                if not isinstance(text, str):   # the node's text, made once it is needed
                    text = text.sql(dialect="duckdb")[:200]
                out[f"{name}\0{detail}"] = Intent("sql.predicate", "column", name, (name,),
                                                  detail=detail, source=text)

    for node, sel in _scoped(tree, None):
        if sel is None or sel is node or not is_comparison(node):
            continue
        ops = operands(node)
        if len(ops) < 2:
            continue
        leaves: list[Leaves] = []
        for n, o in enumerate(ops):
            sides.budget = 256
            if _constant(o):   # a format or a domain pattern singles out no value
                leaves.append(frozenset({"!constant"}) if guess_literal(o, node, n)
                              else frozenset())
            else:
                leaves.append(sides.value(o, sel))
        for k, operand in enumerate(ops):
            if _constant(operand):
                continue
            other = frozenset().union(*(lv for j, lv in enumerate(leaves) if j != k))
            for col, col_sel in _compared(operand, sel):
                add(col, col_sel, other, node, isinstance(node, RANGES))
    for col, col_sel, other, text in set_compared(tree, sides) + merged_compared(tree, sides):
        add(col, col_sel, other, text)
    for col, col_sel, other, text in mixed_compared(tree, sides):
        add(col, col_sel, other, text, mixed=True)
    for col, col_sel, other, node, ranked in computed_guesses(tree, sides) + oracle_calls(tree):
        add(col, col_sel, other, node, ranked)   # a guess in a user's type or function too
    for sel in tree.find_all(exp.Select):
        for col, col_sel, other, text in joined_compared(sel, derived, sides):
            add(col, col_sel, other, text)
    # a no-guess check asked of a crowd; a grouping key, which partitions people by a value
    for col, col_sel, detail in crowd_checks(tree, dialect) + group_checks(tree, dialect):
        derived.budget = 64
        for name in names(col, col_sel):
            if f"{name}\0{detail}" not in out:
                out[f"{name}\0{detail}"] = Intent("sql.predicate", "column", name, (name,),
                                                   detail=detail, source=tree.sql(
                                                       dialect=dialect)[:200])
    return tuple(out.values())


def _compared(operand: exp.Expr, sel: exp.Expr) -> list[tuple[exp.Column, exp.Expr]]:
    """The columns whose values ``operand`` (read in ``sel``) carries, each with the SELECT it
    is read in: its own, those of a FROM-less subquery in it (``(SELECT ssn) LIKE '1%'`` reads
    the outer row), and what a subquery operand returns (``'1' IN (SELECT ssn FROM customers)``).
    A subquery's filters are not compared with this constant."""
    out: list[tuple[exp.Column, exp.Expr]] = []
    for col, owner in _scoped(operand, sel):
        if isinstance(col, (exp.Column, exp.Columns)) and (owner is sel or (
                owner is not None and owner.args.get("from_") is None)) and \
                not no_content(col, operand):
            if isinstance(col, exp.Columns):
                if isinstance(col.this, exp.Column):
                    continue   # ``COLUMNS(c.*)``: the ``c.*`` in it is read as itself
                col = columns_star(col)
            out.append((col, sel))
    if isinstance(operand, (exp.Subquery, exp.Query)):
        query = operand.this if isinstance(operand, exp.Subquery) else operand
        for outs in _Derived._projections(query, []).values():
            out += [(c, inner) for e, inner in outs for c in _columns_of(e)]
    return out


_PIVOT_IN = re.compile(r"\bON\s+((?:[\w\".]+\s*,\s*)*[\w\".]+)\s+IN\s*\(", re.I)


def _pivot_ins(text: str) -> tuple[Intent, ...]:
    """``PIVOT t ON ssn IN ('123…') USING count(*)``: the column compared with each listed
    constant (a pivot column per value tells whether rows hold it).

    >>> [i.target for i in _pivot_ins("PIVOT customers ON ssn IN ('1') USING count(*)")]
    ['ssn']
    """
    if not re.search(r"\bPIVOT\b", text, re.I):
        return ()
    out: dict[str, Intent] = {}
    for m in _PIVOT_IN.finditer(text):
        for col in m.group(1).split(","):
            name = col.strip().split(".")[-1].strip('"').lower()
            if name and name not in out:
                out[name] = Intent("sql.predicate", "column", name, (name,),
                                   source=m.group(0)[:200])
    return tuple(out.values())


_PREPARE = re.compile(r"^\s*PREPARE\s+\S+\s+AS\s+(.*)$", re.I | re.S)
# ``EXPLAIN ANALYZE q`` runs ``q`` and prints how many rows each step kept
_EXPLAIN = re.compile(r"^\s*EXPLAIN\b(?:\s+ANALY[SZ]E\b)?(?:\s*\([^)]*\))?\s+(.*)$", re.I | re.S)


@lru_cache(maxsize=1024)
def _of_text(text: str, dialect: str, saved: tuple[int, int] = (0, 0)) -> tuple[Intent, ...]:
    """``saved``: how many views and user functions were remembered (a new one changes what a
    text reads)."""
    from jupyter_guard.analyze.sql import _parse  # the analysis' own cache: no second parse

    # sqlglot cannot read every PIVOT statement: its ``ON … IN (…)`` is read as text
    pivoted = _pivot_ins(text) if "pivot" in text.lower() else ()
    prepared = _PREPARE.match(text) or _EXPLAIN.match(text)
    if prepared:   # ``PREPARE q AS SELECT … WHERE ssn = $1``, ``EXPLAIN ANALYZE …``: Commands
        return pivoted + _of_text(prepared.group(1), dialect, saved)
    try:
        trees = _parse(text, dialect)
    except Exception:  # noqa: BLE001 - a statement sqlglot cannot read: the SQL analysis already decides it
        return pivoted
    found: list[Intent] = list(pivoted)
    for tree in trees:   # a statement that reads rows: by its tree, not by a keyword
        tree = merged_as_query(tree) or tree   # a MERGE's matching: the join it makes
        if tree is not None and "pivot" in text.lower():   # values named as columns: an export
            found.extend(pivot_exports(tree))
        tree = normal(tree) if tree is not None else None   # ``t(a, b, c)``, ``#3``, PIVOT ON
        if tree is not None and (isinstance(tree, exp.Query) or tree.find(exp.Query)):
            found.extend(predicate_intents(tree, dialect))
            found.extend(order_intents(tree))
            found.extend(temporal_exports(tree))   # a value shown as a date or a duration
    return tuple(found)


_COPY_DATABASE = re.compile(r"^\s*COPY\s+FROM\s+DATABASE\s+(\S+)\s+TO\s+([^\s;]+)", re.I)


def copy_database(i: Intent) -> Intent:
    """DuckDB reports ``COPY FROM DATABASE a TO b`` as a PRAGMA: it copies every table of ``a``.

    >>> copy_database(Intent("sql.set", source="COPY FROM DATABASE wh TO tgt")).action
    'sql.export'
    """
    m = _COPY_DATABASE.match(i.source)
    if m is None:
        return i
    return Intent("sql.export", "database", m.group(2).strip('"'), ("?",), (m.group(1),),
                  i.source, detail=f"attached database {m.group(2)}")


_VERSION = [0]


def _remember_in(pieces: Sequence[str], dialect: str) -> None:
    from jupyter_guard.analyze.sql import _parse

    for piece in pieces:
        try:
            trees = _parse(piece, dialect)
        except Exception:  # noqa: BLE001 - a statement sqlglot cannot read stores nothing known
            continue
        if any(t is not None and (_filled(t) | _remember(t)) for t in trees):
            _VERSION[0] += 1


def with_predicates(a: Analysis, text: str, dialect: str = "duckdb",
                    pieces: Sequence[str] | None = None) -> Analysis:
    """``a`` plus the predicate intents of ``text`` (cached by text; only statements whose tree
    reads rows, whatever their first word, are searched), with
    ``COPY FROM DATABASE`` read as the export it is. ``pieces``: the statements as the analysis
    split them (DuckDB's splitter), so their parses come from the same cache."""
    low = text.lower()
    if "database" in low and "copy" in low:
        a = Analysis(tuple(copy_database(i) for i in a.intents), a.errors, a.vars_written,
                     a.vars_read)
    if ("create" in low and (" as " in low or "table" in low)) or (_MADE and any(
            w in low for w in ("insert", "copy", "update", "merge"))) or \
            (_SAVED and "drop" in low):   # a dropped name no longer stands for what it held
        _remember_in(pieces or (text,), dialect)
    extra: tuple[Intent, ...] = ()
    # every statement (``FROM t WHERE ssn = '…'`` reads rows with no SELECT); none when the
    # analysis could not split the text (``()``: it is refused already)
    for piece in pieces if pieces is not None else (text,):
        extra += _of_text(piece, dialect, (_VERSION[0], _FUNCTIONS[0]))
    return a + Analysis(extra) if extra else a


__all__ = ["order_intents", "predicate_intents", "with_predicates"]
