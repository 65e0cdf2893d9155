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

from jupyter_guard.analyze.sql_filled import _MADE, _filled
from jupyter_guard.analyze.sql_order import order_intents
from jupyter_guard.analyze.sql_saved import _inline, _remember, _source_key
from jupyter_guard.analyze.sql_sources import (
    _columns_of,
    _constant,
    _Derived,
    _naming,
    _scoped,
)
from jupyter_guard.model import Analysis, Intent

_SKIP = (exp.Is, exp.SubqueryPredicate)
# functions whose result says how a value relates to another: equal or not (``nullif``), how far
# (``levenshtein(email, 'a@b.com') = 0``), where (``instr``), which is larger (``greatest``)
_BOOL_FUNCS = (exp.StartsWith, exp.EndsWith, exp.Contains, exp.Levenshtein,
               exp.JarowinklerSimilarity, exp.StrPosition, exp.ArrayPosition, exp.Nullif,
               exp.Greatest, exp.Least)
_BOOL_NAMES = frozenset({"regexp_matches", "regexp_full_match", "prefix", "suffix", "contains",
                         "starts_with", "ends_with", "like_escape", "ilike_escape", "glob",
                         "list_contains", "array_contains", "list_has", "array_has",
                         "damerau_levenshtein", "hamming", "mismatches", "jaccard",
                         "jaro_similarity", "list_position", "list_indexof", "array_indexof",
                         "strcmp"})


def _is_predicate(node: exp.Expr) -> bool:
    if isinstance(node, exp.Predicate):
        return not isinstance(node, _SKIP)
    if isinstance(node, exp.Case):   # ``CASE ssn WHEN '123' THEN ...`` compares ssn with '123'
        return node.args.get("this") is not None
    return isinstance(node, _BOOL_FUNCS) or (
        isinstance(node, exp.Anonymous) and str(node.this).lower() in _BOOL_NAMES)


def _operands(node: exp.Expr) -> list[exp.Expr]:
    if isinstance(node, exp.Case):
        return [node.this, *(i.this for i in node.args.get("ifs") or ())]
    return [_unarray(o) for o in node.iter_expressions()]


def _unarray(operand: exp.Expr) -> exp.Expr:
    """``ANY(ARRAY(SELECT s FROM g))`` (PostgreSQL) compares with what the subquery returns,
    as ``IN (SELECT s FROM g)`` does: the subquery."""
    inner = operand.this if isinstance(operand, (exp.Any, exp.All)) else None
    inner = inner.this if isinstance(inner, exp.Paren) else inner
    if isinstance(inner, exp.Array) and len(inner.expressions) == 1 and isinstance(
            inner.expressions[0], exp.Query):
        return exp.Subquery(this=inner.expressions[0].copy())   # the parse is shared
    return operand


def predicate_intents(tree: exp.Expr) -> tuple[Intent, ...]:
    """One ``sql.predicate`` intent per column compared with a constant in a query. A column of
    a CTE or a derived table stands for the columns its output reads, and one whose output is a
    constant (``JOIN (SELECT '123' AS s) x ON c.ssn = x.s``, a ``VALUES`` list) is a constant."""
    tree = _inline(tree)
    derived = _Derived(tree)
    names = _naming(tree, derived)
    out: dict[str, Intent] = {}
    for node, sel in _scoped(tree, None):
        if sel is None or sel is node or not _is_predicate(node):
            continue
        operands = _operands(node)
        constant = [_constant(o) or derived.constant(o, sel) for o in operands]
        if not any(constant):
            continue
        for operand, const in zip(operands, constant):
            if const:
                continue
            for col, col_sel in _compared(operand, sel):
                derived.budget = 64
                pattern = col.meta.get("columns", "") if col.meta else ""
                for name in names(col, col_sel):
                    detail = f"columns:{pattern}" if pattern and name.endswith(".*") else ""
                    if f"{name}\0{detail}" not in out:
                        out[f"{name}\0{detail}"] = Intent(
                            "sql.predicate", "column", name, (name,), detail=detail,
                            source=node.sql(dialect="duckdb")[:200])
    for col, col_sel, source in _set_constants(tree, derived):
        derived.budget = 64
        for name in names(col, col_sel):
            out.setdefault(f"{name}\0", Intent("sql.predicate", "column", name, (name,),
                                                source=source))
    for sel in tree.find_all(exp.Select):
        for col, source in _joined_constants(sel, derived):
            derived.budget = 64
            for name in names(col, sel):
                out.setdefault(f"{name}\0", Intent("sql.predicate", "column", name, (name,),
                                            source=source))
    return tuple(out.values())


def _set_constants(tree: exp.Expr, derived: _Derived) -> list[tuple[exp.Column, exp.Expr, str]]:
    """``SELECT ssn FROM customers INTERSECT SELECT '123…'`` (and ``EXCEPT``, and ``UNION``
    without ``ALL``, whose count drops by one when the guess is there) compares every row's
    columns with the constant branch: the columns of the other branch, each with its SELECT."""
    out: list[tuple[exp.Column, exp.Expr, str]] = []
    for op in tree.find_all(exp.SetOperation):
        if isinstance(op, exp.Union) and op.args.get("distinct") is False:
            continue   # ``UNION ALL`` keeps every row: nothing is compared
        sides = [derived._projections(b, []) for b in (op.this, op.expression)]
        const = [bool(side) and "*" not in side and all(
            _constant(e) or derived.constant(e, inner) for found in side.values()
            for e, inner in found) for side in sides]
        if const[0] == const[1]:
            continue
        other = sides[1] if const[0] else sides[0]
        text = op.sql(dialect="duckdb")[:200]
        out += [(c, inner, text) for found in other.values() for e, inner in found
                for c in _columns_of(e)]
    return out


def _joined_constants(sel: exp.Select, derived: _Derived) -> list[tuple[exp.Column, str]]:
    """``JOIN … USING (ssn)`` and ``NATURAL JOIN`` with a constant source (``(SELECT '123' AS
    ssn)``, ``VALUES ('123') v(ssn)``) compare the other sources' columns of those names with
    the constant: each such column, with the join's text."""
    joins = sel.args.get("joins") or []
    matched = [j for j in joins if j.args.get("using")
               or str(j.args.get("method") or "").upper() == "NATURAL"]
    if not matched:
        return []
    sources = ([sel.args["from_"].this] if sel.args.get("from_") is not None else [])
    sources += [j.this for j in joins]
    keys = [_source_key(t) or t.alias_or_name.lower() for t in sources]
    using = {u.name.lower() for j in matched for u in j.args.get("using") or []}
    out: list[tuple[exp.Column, str]] = []
    for key in keys:
        if key in derived.constant_sources:
            values = next((t for t, k in zip(sources, keys) if k == key), None)
            alias = values.args.get("alias") if values is not None else None
            consts = using or {c.name.lower() for c in (
                alias.columns if isinstance(alias, exp.TableAlias) else [])}
        elif key in derived.outputs:
            outs = derived.outputs[key]
            consts = {n for n in (using or set(outs)) if n in outs and all(
                _constant(e) or derived.constant(e, s) for e, s in outs[n])}
        else:
            continue
        text = " ".join(j.sql(dialect="duckdb") for j in matched)[:200]
        out += [(exp.column(n, table=other), text) for other in keys if other != key
                for n in sorted(consts)]
    return out


def _columns_star(node: exp.Columns) -> exp.Column:
    """``COLUMNS('re')``, ``COLUMNS(x -> …)``, ``COLUMNS(*)``: the columns of the row it matches,
    as a ``*`` that keeps the pattern (the catalog picks the columns it names; a lambda or a
    star matches every one)."""
    star = exp.Column(this=exp.Star())
    if isinstance(node.this, exp.Literal) and node.this.is_string:
        star.meta["columns"] = str(node.this.this)
    return star


def _compared(operand: exp.Expr, sel: exp.Expr) -> list[tuple[exp.Column, exp.Expr]]:
    """The columns whose values ``operand`` (read in ``sel``) carries, each with the SELECT it
    is read in: its own, those of a FROM-less subquery in it (``(SELECT ssn) LIKE '1%'`` reads
    the outer row), and what a subquery operand returns (``'1' IN (SELECT ssn FROM customers)``).
    A subquery's filters are not compared with this constant."""
    out: list[tuple[exp.Column, exp.Expr]] = []
    for col, owner in _scoped(operand, sel):
        if isinstance(col, (exp.Column, exp.Columns)) and (owner is sel or (
                owner is not None and owner.args.get("from_") is None)):
            if isinstance(col, exp.Columns):
                if isinstance(col.this, exp.Column):
                    continue   # ``COLUMNS(c.*)``: the ``c.*`` in it is read as itself
                col = _columns_star(col)
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


@lru_cache(maxsize=1024)
def _of_text(text: str, dialect: str, saved: int = 0) -> tuple[Intent, ...]:
    """``saved``: how many views were remembered (a new one changes what a text reads)."""
    from jupyter_guard.analyze.sql import _parse  # the analysis' own cache: no second parse

    # sqlglot cannot read every PIVOT statement: its ``ON … IN (…)`` is read as text
    pivoted = _pivot_ins(text) if "pivot" in text.lower() else ()
    prepared = _PREPARE.match(text)
    if prepared:   # ``PREPARE q AS SELECT … WHERE ssn = $1``: sqlglot reads it as a Command
        return pivoted + _of_text(prepared.group(1), dialect, saved)
    try:
        trees = _parse(text, dialect)
    except Exception:  # noqa: BLE001 - a statement sqlglot cannot read: the SQL analysis already decides it
        return pivoted
    found: list[Intent] = list(pivoted)
    for tree in trees:
        if tree is not None:
            found.extend(predicate_intents(tree))
            found.extend(order_intents(tree))
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
    """``a`` plus the predicate intents of ``text`` (cached by text; no SELECT, no work), with
    ``COPY FROM DATABASE`` read as the export it is. ``pieces``: the statements as the analysis
    split them (DuckDB's splitter), so their parses come from the same cache."""
    low = text.lower()
    if "database" in low and "copy" in low:
        a = Analysis(tuple(copy_database(i) for i in a.intents), a.errors, a.vars_written,
                     a.vars_read)
    if ("create" in low and (" as " in low or "table" in low)) or (_MADE and any(
            w in low for w in ("insert", "copy", "update", "merge"))):
        _remember_in(pieces or (text,), dialect)
    if "select" not in low and "pivot" not in low:
        return a
    extra: tuple[Intent, ...] = ()
    for piece in pieces if pieces is not None else (text,):
        if "select" in piece.lower() or "pivot" in piece.lower():
            extra += _of_text(piece, dialect, _VERSION[0])
    return a + Analysis(extra) if extra else a


__all__ = ["order_intents", "predicate_intents", "with_predicates"]
