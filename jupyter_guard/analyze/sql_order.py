"""Ranking by a sensitive column while showing something else (``SELECT id … ORDER BY ssn``,
``rank() OVER (ORDER BY email)``, ``arg_min(id, ssn)``): ``sql.predicate`` intents with detail
``order``, decided by the ``inference`` rule like comparisons with a constant.

Pure: sqlglot trees in, intents out.
"""
from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from jupyter_guard.analyze.sql_saved import _inline
from jupyter_guard.analyze.sql_sources import _Derived, _naming, _scoped
from jupyter_guard.model import Intent


def order_intents(tree: exp.Expr) -> tuple[Intent, ...]:
    """One ``sql.predicate`` intent (detail ``order``) per column that rows or values are ranked
    by while something else is shown in that order: ``SELECT id … ORDER BY ssn``, ``rank() OVER
    (ORDER BY email)``, ``arg_min(id, ssn)``, ``list(id ORDER BY ssn)``. A rank reveals roughly
    where a value lies (with 10,000 rows, its first digits). Sorting a column shown alone (``SELECT
    ssn … ORDER BY ssn``: its values are masked anyway) or by a property (``length(email)``) is
    none.

    >>> import sqlglot
    >>> [i.target for i in order_intents(sqlglot.parse_one(
    ...     "SELECT id, ssn FROM customers ORDER BY ssn"))]
    ['customers.ssn']
    >>> order_intents(sqlglot.parse_one("SELECT ssn FROM customers ORDER BY ssn"))
    ()
    """
    tree = _inline(tree)
    derived = _Derived(tree)
    names = _naming(tree, derived)
    out: dict[str, Intent] = {}
    for node, sel in _scoped(tree, None):
        if sel is None or sel is node:
            continue
        if isinstance(node, exp.Order):
            if node.parent is sel and _histogram(sel):
                continue   # the order of shown keys (``sql_groups``: no member is named)
            keys = _keys(node, sel)
            shown = _shown(node, sel)
        elif isinstance(node, (exp.ArgMin, exp.ArgMax)) and node.expression is not None:
            keys, shown = [node.expression], [node.this]
        else:
            continue
        derived.budget = 64

        def name(col: exp.Column, sel: exp.Expr = sel) -> list[str]:
            return names(col, sel)
        ranked = {n for k in keys for c in _content_columns(k) for n in name(c)}
        if not ranked or not any(_beside(e, ranked, name) for e in shown):
            continue
        for col in sorted(ranked):
            out.setdefault(col, Intent("sql.predicate", "column", col, (col,), detail="order",
                                       source=node.sql(dialect="duckdb")[:200]))
    return tuple(out.values())


def _histogram(sel: exp.Expr) -> bool:
    """A table-wide histogram of a column's pieces (``left(ssn, 3) AS area, count(*)``) ordered
    by its shown keys only: the order tells nothing the shown keys do not."""
    from jupyter_guard.analyze.sql_groups import histogram_keys

    names = histogram_keys(sel)
    if not names or not isinstance(sel, exp.Select):
        return False
    shown = {id(o) for o in sel.expressions if o.alias_or_name.lower() in names or
             o.sql(dialect="duckdb").lower() in names}
    bare = any(isinstance(o.unalias(), exp.Column) for o in sel.expressions if id(o) in shown)
    order = sel.args["order"]
    keys = _keys(order, sel)
    outs = [o.unalias() for o in sel.expressions if id(o) in shown]
    return not bare and all(any(k.unalias() == o for o in outs) for k in keys)


def _keys(order: exp.Order, sel: exp.Expr) -> list[exp.Expr]:
    """The sort keys of ``order``; in a SELECT's own ORDER BY, an alias or a position stands for
    the output it names."""
    keys = [k.this if isinstance(k, exp.Ordered) else k for k in order.expressions]
    if order.parent is not sel or not isinstance(sel, exp.Select):
        return keys
    outputs = sel.expressions
    named = {e.alias.lower(): e.this for e in outputs if isinstance(e, exp.Alias)}
    resolved = []
    for k in keys:
        if isinstance(k, exp.Literal) and k.is_int and 0 < int(k.this) <= len(outputs):
            k = outputs[int(k.this) - 1]
        elif isinstance(k, exp.Column) and not k.table and k.name.lower() in named:
            k = named[k.name.lower()]
        resolved.append(k)
    return resolved


def _shown(order: exp.Order, sel: exp.Expr) -> list[exp.Expr]:
    """What is shown in the order ``order`` sets: a SELECT's outputs, a window's function, or
    the values an aggregate lists or picks."""
    parent = order.parent
    if parent is sel and isinstance(sel, exp.Select):
        return list(sel.expressions)
    if isinstance(parent, exp.Window):
        return [parent.this]
    if order.this is not None:
        return [order.this]
    return [e for e in (parent.iter_expressions() if parent is not None else ())
            if e is not order] or [order]


def _content_columns(e: exp.Expr) -> list[exp.Column]:
    """The columns ``e`` reads the content of (not under ``length``, ``typeof``, ``IS NULL``,
    nor inside a subquery)."""
    from jupyter_guard.analyze.sql_taint import reveals_nothing

    found: list[exp.Column] = []
    todo = [e]
    while todo:
        n = todo.pop()
        if isinstance(n, exp.Column) and not isinstance(n.this, exp.Star):
            found.append(n)
        elif not (reveals_nothing(n) or isinstance(n, (exp.Select, exp.Subquery))):
            todo.extend(n.iter_expressions())
    return found


def _beside(e: exp.Expr, ranked: set[str], name: Callable[[exp.Column], list[str]]) -> bool:
    """Whether the shown expression ``e`` shows anything besides the ranked columns: another
    column, every column (``*``), or a position (``rank()``, ``count(*)``)."""
    if any(True for _ in e.find_all(exp.Star)):
        return True
    cols = {n for c in _content_columns(e) for n in name(c)}
    return not cols or not cols <= ranked



__all__ = ["order_intents"]
