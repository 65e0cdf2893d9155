"""Rows that mix guesses with a sensitive column, then told apart (issue 15, item 2):
``SELECT count(*) FROM (SELECT ssn FROM customers UNION ALL SELECT '123…') t GROUP BY ssn
HAVING count(*) > 1`` answers whether the guess is an SSN without any predicate. Whatever puts
the rows together (``UNION ALL``, ``unnest(list(ssn) || ['…'])``, a table filled from both),
what compares them is the clause or function that tells equal or ordered values apart:
``GROUP BY``, ``DISTINCT`` (of a query or inside an aggregate), ``PARTITION BY``, ``ORDER BY``
(of a query or a window), and aggregates that rank or count distinct values (``min``,
``max``, ``arg_max``, ``median``, ``mode``, ``histogram``, ``approx_count_distinct``…).

``mixed_compared`` yields, for each column such a clause reads whose values come from more than
one source (``sql_sides``), the column with the other sources' leaves; ``sql_infer`` names
the table columns it stands for and the ``inference`` rule decides as for a comparison: a
guess, or a column that is not a sensitive column of another table, is refused. A column from
one source (``GROUP BY ssn`` of ``customers``) is not mixed and yields nothing.

Pure: sqlglot trees in, nodes out.

>>> import sqlglot
>>> from jupyter_guard.analyze.sql_sides import Sides
>>> t = sqlglot.parse_one("SELECT count(*) FROM (SELECT ssn FROM customers UNION ALL "
...                       "SELECT '1') t GROUP BY ssn")
>>> [(c.name, sorted(o)) for c, _s, o, _t in mixed_compared(t, Sides(t))]
[('ssn', ['!constant', 'customers.ssn'])]
"""
from __future__ import annotations

from sqlglot import exp

from jupyter_guard.analyze.sql_sides import Sides
from jupyter_guard.analyze.sql_sources import _columns_of

Compared = tuple[exp.Column, exp.Expr, frozenset[str], str]
# aggregates whose result depends on how the values compare with each other
_RANKING = (exp.Min, exp.Max, exp.ArgMin, exp.ArgMax, exp.Median, exp.Quantile,
            exp.PercentileCont, exp.PercentileDisc, exp.ApproxDistinct, exp.ApproxQuantile,
            exp.Mode)
_RANKING_NAMES = frozenset({"histogram", "entropy", "approx_count_distinct", "mode",
                            "quantile_cont", "quantile_disc", "approx_quantile", "arg_min",
                            "arg_max", "min_by", "max_by", "approx_top_k", "list_sort"})


def _projection(sel: exp.Select, n: int) -> list[exp.Expr]:
    outs = sel.expressions
    return [outs[n - 1]] if 0 < n <= len(outs) else list(outs)


def _told_apart(sel: exp.Select) -> list[exp.Expr]:
    """The expressions ``sel`` groups, de-duplicates or sorts by (``GROUP BY 1``/``ALL``: the
    projections)."""
    found: list[exp.Expr] = []
    group = sel.args.get("group")
    if group is not None:
        if group.args.get("all") or not group.expressions:
            found += list(sel.expressions)
        for g in group.iter_expressions():
            found += _projection(sel, int(g.this)) if isinstance(g, exp.Literal) and \
                g.is_int else [g]
    distinct = sel.args.get("distinct")
    if distinct is not None:
        on = distinct.args.get("on")
        found += list(on.expressions) if isinstance(on, exp.Tuple) else [on] if on else \
            list(sel.expressions)
    order = sel.args.get("order")
    if order is not None:
        for o in order.expressions:
            e = o.this if isinstance(o, exp.Ordered) else o
            found += _projection(sel, int(e.this)) if isinstance(e, exp.Literal) and \
                e.is_int else [e]
    return found


def _in_functions(sel: exp.Select) -> list[exp.Expr]:
    """Arguments of the window clauses and ranking or distinct aggregates read in ``sel``."""
    found: list[exp.Expr] = []
    todo: list[exp.Expr] = list(sel.iter_expressions())
    while todo:
        n = todo.pop()
        if isinstance(n, (exp.Select, exp.Subquery)):
            continue   # its own SELECT: judged there
        todo.extend(n.iter_expressions())
        if isinstance(n, exp.Window):
            found += list(n.args.get("partition_by") or [])
            order = n.args.get("order")
            found += [order] if order is not None else []
        elif isinstance(n, exp.Distinct) and isinstance(n.parent, exp.AggFunc):
            found += list(n.expressions)
        elif isinstance(n, _RANKING) or (isinstance(n, exp.Anonymous) and
                                          str(n.this).lower() in _RANKING_NAMES):
            found.append(n)
    return found


def mixed_compared(tree: exp.Expr, sides: Sides) -> list[Compared]:
    """Each column a grouping, de-duplicating or ranking clause reads whose values come from
    more than one source, with all of those sources' leaves (``sql_infer`` takes out the
    column's own)."""
    out: list[Compared] = []
    for sel in tree.find_all(exp.Select):
        exprs = _told_apart(sel) + _in_functions(sel)
        if not exprs:
            continue
        aliases = {a.alias.lower(): a.this for a in sel.expressions if isinstance(a, exp.Alias)}
        seen: set[int] = set()
        for e in exprs:
            cols = _columns_of(e)
            cols += [c for col in list(cols) if not col.table and col.name.lower() in aliases
                     for c in _columns_of(aliases[col.name.lower()])]
            for c in cols:
                if id(c) in seen or isinstance(c.this, exp.Star):
                    continue
                seen.add(id(c))
                sides.budget = 256
                leaves = sides.value(c, sel)
                if len(leaves) > 1:
                    out.append((c, sel, leaves, sel.sql(dialect="duckdb")[:200]))
    return out
