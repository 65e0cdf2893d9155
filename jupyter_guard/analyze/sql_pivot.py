"""A DuckDB ``PIVOT`` names the columns it makes with the values of its ``ON`` keys
(``PIVOT customers ON ssn USING count(*)``: one column per SSN, named by it; ``ON left(ssn, 5)``:
one per prefix). Value masking never sees a name, and a prefix is too short to be a known value,
so a PIVOT whose keys read a sensitive column is an export of that column into the names of its
result (``sql.export``, refused by the ``exfiltration`` rule), by whatever route it runs.

Keys compared with constants (``ON ssn IN ('1', '2')``, ``ON (ssn = '…')``) name columns by
those constants or by true and false: that is an inference question (``sql_infer._pivot_ins``,
``sql_normal``), not an export. A key read through a
subquery or CTE (``PIVOT (SELECT ssn AS s FROM customers) ON s``) reads what that output is
computed from.

Pure: sqlglot trees in, intents out.

>>> import sqlglot
>>> [i.columns for i in pivot_exports(sqlglot.parse_one(
...     "PIVOT customers ON left(ssn, 5) USING count(*)", "duckdb"))]
[('ssn',)]
>>> pivot_exports(sqlglot.parse_one("PIVOT customers ON ssn IN ('1') USING count(*)", "duckdb"))
()
>>> pivot_exports(sqlglot.parse_one("PIVOT customers ON (ssn > '5') USING count(*)", "duckdb"))
()
"""
from __future__ import annotations

from sqlglot import exp

from jupyter_guard.analyze.sql_saved import _saved_query
from jupyter_guard.model import Intent

WHERE = "the names of its result's columns (a PIVOT ON it names a column by each value)"


def _boolean(key: exp.Expr) -> bool:
    """A key whose every value is true, false or NULL (``ssn = '…'``, ``ssn IN ('…')``,
    ``ssn LIKE '1%' AND city = 'Paris'``): its names are no values of the column."""
    while isinstance(key, exp.Paren):
        key = key.this
    return isinstance(key, (exp.Predicate, exp.Not, exp.Connector))


def _projections(q: exp.Expr) -> list[exp.Expr]:
    if isinstance(q, exp.Subquery):
        return _projections(q.this)
    if isinstance(q, exp.SetOperation):
        return _projections(q.left) + _projections(q.right)
    return list(q.expressions) if isinstance(q, exp.Select) else []


def read_through(names: set[str], source: exp.Expr | None, ctes: dict[str, exp.Expr],
                 depth: int = 0) -> set[str]:
    """``names`` read from ``source``, followed into the subqueries, CTEs and the views and
    tables this process made (``CREATE VIEW v AS SELECT replace(ssn, '-', '') AS s …``)."""
    if depth > 8 or source is None:
        return names
    if isinstance(source, exp.Table):
        saved = _saved_query(source)
        source = ctes.get(source.name.lower()) or (saved[0] if saved else None)
    if not isinstance(source, (exp.Subquery, exp.Query)):
        return names
    out = set(names)
    inner = source.this if isinstance(source, exp.Subquery) else source
    for e in _projections(inner):
        if isinstance(e, exp.Star) or e.alias_or_name.lower() in names:
            read = {c.name.lower() for c in e.find_all(exp.Column) if c.name}
            sel = inner if isinstance(inner, exp.Select) else None
            src = sel.args["from_"].this if sel is not None and sel.args.get("from_") else None
            out |= read_through(read, src, ctes, depth + 1)
    return out


def ctes_of(tree: exp.Expr) -> dict[str, exp.Expr]:
    """The queries ``tree``'s CTEs name, by lower-cased name."""
    return {cte.alias_or_name.lower(): cte.this for w in tree.find_all(exp.With)
            for cte in w.expressions}


def pivot_exports(tree: exp.Expr) -> tuple[Intent, ...]:
    """One ``sql.export`` per PIVOT statement of ``tree`` whose keys read columns: the columns
    (followed through subqueries and CTEs) whose values would name its outputs."""
    ctes = ctes_of(tree)
    out: list[Intent] = []
    for p in tree.find_all(exp.Pivot):
        if p.this is None or p.args.get("unpivot"):
            continue   # the standard ``PIVOT (… FOR c IN (…))`` names columns by its list
        names = {c.name.lower() for k in p.expressions if not _boolean(k)
                 for c in k.find_all(exp.Column) if c.name}
        # ``ON #3``: a position the catalog alone names (the guard cannot tell which column)
        unknown = any(k.find(exp.PositionalColumn) is not None for k in p.expressions)
        if not names and not unknown:
            continue
        cols = read_through(names, p.this, ctes) | ({"?"} if unknown else set())
        out.append(Intent("sql.export", "column", WHERE, tuple(sorted(cols)),
                          source=p.sql(dialect="duckdb")[:500], detail="pivot names"))
    return tuple(out)
