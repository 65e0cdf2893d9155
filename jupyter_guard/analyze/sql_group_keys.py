"""Groupings whose key reads a column (red team 22): ``GROUP BY substr(ssn, 3, 1)`` partitions
people by a piece of their value, whether the key is shown or not. Beside a labelled histogram
(``SELECT substr(ssn, 3, 1) AS d, count(*), sum(id) … GROUP BY d``), a hidden-key grouping that
names each group's members (``SELECT sum(id), list(id) … GROUP BY substr(ssn, 3, 1)``) gives
everyone's digit: every SSN in 18 queries. ``group_checks`` finds each column a grouping key
reads (``GROUP BY``, ``ROLLUP``/``CUBE``/``GROUPING SETS``, ``DISTINCT ON``, a window's
``PARTITION BY``, in any ``SELECT`` of the statement: a subquery's or a CTE's too) and gives it a
detail the crowd machinery decides (``analyze.sql_crowd``: the ``inference`` rule on sensitive
columns only):

- ``crowd:<why>`` (refused) when the grouped ``SELECT`` answers per group with something that
  names or picks rows: any aggregate but ``count`` and ``sum``/``avg``/statistics of a bare
  column that is no identifier (``list``, ``array_agg``, ``string_agg``, ``min``, ``max``,
  ``any_value``, ``first``, ``arg_min``, ``histogram``, a ``FILTER``, ``count_if``, ``sum(id)``,
  a computed argument), a ``HAVING`` other than a floor on ``count(*)``, an ``ORDER BY`` of such
  an aggregate; a ``DISTINCT ON`` that shows other columns (one row per group); a window
  partitioned by the column (each row shown with its group's answer);
- nothing for a key that is the column's whole value as stored (``GROUP BY ssn``, also through a
  ``UNION ALL`` of two warehouse columns: ``whole``) and is answered with such aggregates only:
  its groups hold equal values, what a join on the column tells;
- ``crowd?:<probe>`` otherwise: the probe counts, per group of the keys, the people of the
  ``WHERE`` (the shape ``analyze.sql_crowd.probe`` writes), so the guard refuses groups smaller
  than ``sensitive.min_group_size`` and, on DuckDB, remembers the groups' rows for differencing
  (``guard.crowd_memory``: ``WHERE id <> 12 GROUP BY substr(ssn, 3, 1)`` beside the whole
  table's groups).

Pure: sqlglot trees in, (column, SELECT, detail) out.

>>> import sqlglot
>>> t = sqlglot.parse_one("SELECT sum(id), list(id) FROM customers GROUP BY substr(ssn, 3, 1)")
>>> [(c.name, d[:59]) for c, _s, d in group_checks(t)]
[('ssn', 'crowd:grouped by SUBSTRING(ssn, 3, 1) and answered with sum')]
>>> t = sqlglot.parse_one("SELECT left(ssn, 3) AS a, count(*) FROM customers GROUP BY a")
>>> [(c.name, d[:7]) for c, _s, d in group_checks(t)]
[('ssn', 'crowd?:')]
>>> group_checks(sqlglot.parse_one("SELECT ssn, count(*) FROM customers GROUP BY ssn"))
[]
"""
from __future__ import annotations

from sqlglot import exp

from jupyter_guard.analyze.sql_crowd_rows import (
    count_floor,
    ctes_of_select,
    names_rows,
    person,
    source_body,
    source_of,
)

Check = tuple[exp.Column, exp.Expr, str]
PROBE = "crowd?:"
STATIC = "crowd:"
_STATS = (exp.Sum, exp.Avg, exp.Stddev, exp.StddevPop, exp.StddevSamp, exp.Variance,
          exp.VariancePop)
_FIX = ("; show only count(*) and sums or averages of value columns per group, or group by a "
        "column that is not sensitive")
_TOP = 9223372036854775807


def _flat(e: exp.Expr) -> list[exp.Expr]:
    """The expressions a key stands for (``ROLLUP (a, b)``, ``GROUPING SETS ((a), (b))``)."""
    if isinstance(e, (exp.Rollup, exp.Cube, exp.GroupingSets, exp.Tuple)):
        return [k for x in e.expressions for k in _flat(x)]
    if isinstance(e, exp.Paren):
        return _flat(e.this)
    return [e]


def keys(sel: exp.Select) -> list[exp.Expr]:
    """The expressions ``sel`` groups by, ordinals, aliases and ``GROUP BY ALL`` resolved.

    >>> import sqlglot
    >>> [k.sql() for k in keys(sqlglot.parse_one(
    ...     "SELECT left(ssn, 3) AS a, count(*) FROM t GROUP BY ROLLUP (a, city)"))]
    ['LEFT(ssn, 3)', 'city']
    """
    group = sel.args.get("group")
    if group is None:
        return []
    outs = sel.expressions
    if group.args.get("all"):
        return [o.unalias() for o in outs if not o.find(exp.AggFunc)]
    named = {o.alias.lower(): o.unalias() for o in outs if isinstance(o, exp.Alias)}
    found: list[exp.Expr] = []
    for k in (k for e in group.expressions for k in _flat(e)):
        if isinstance(k, exp.Literal) and k.is_int and 0 < int(k.this) <= len(outs):
            found.append(outs[int(k.this) - 1].unalias())
        elif isinstance(k, exp.Column) and not k.table and k.name.lower() in named:
            found.append(named[k.name.lower()])
        else:
            found.append(k)
    return found


def _columns(e: exp.Expr) -> list[exp.Column]:
    return [c for c in e.find_all(exp.Column) if not isinstance(c.this, exp.Star)]


def _agg_why(sel: exp.Select, value: exp.Expr, keys_: list[exp.Expr]) -> str:
    """Why ``value`` (an output, an ordering) names or picks a group's rows; '' if it does not."""
    if any(value == k for k in keys_) or (not _columns(value) and not value.find(exp.AggFunc)):
        return ""
    for node in value.walk():
        if isinstance(node, exp.Window):
            return f"answered with {node.this.key} over a window, row by row"
        if isinstance(node, exp.Filter):
            return "answered with an aggregate FILTER, which picks rows"
        if isinstance(node, exp.Anonymous):
            return f"answered with {node.name}, which can list or pick rows"
        if not isinstance(node, exp.AggFunc):
            continue
        arg = node.this
        if isinstance(arg, exp.Distinct):
            arg = arg.expressions[0] if len(arg.expressions) == 1 else None
        bare = isinstance(arg, exp.Column) and not names_rows(sel, arg)
        if isinstance(node, exp.Count) and (isinstance(arg, exp.Star) or bare or _plain_id(arg)):
            continue
        if isinstance(node, _STATS) and bare:
            continue
        name = node.sql_name().lower()
        what = f"{name} of an identifier or a computed value" if isinstance(
            node, (exp.Count, *_STATS)) else name
        return f"answered with {what}, which names or picks a group's members"
    return ""


def _plain_id(arg: exp.Expr | None) -> bool:
    """``count(id)``: an identifier counted, not named."""
    if not isinstance(arg, exp.Column):
        return False
    name = arg.name.lower()
    return name in ("id", "rowid") or name.endswith(("_id", "_key"))


def _static(sel: exp.Select, keys_: list[exp.Expr]) -> str:
    """Why the grouped ``sel`` answers for chosen people whatever its groups' sizes, or ''."""
    for o in sel.expressions:
        why = _agg_why(sel, o.unalias(), keys_)
        if why:
            return why
    having = sel.args.get("having")
    if having is not None and not count_floor(having.this):
        return "with a HAVING condition other than a floor on count(*), which picks groups"
    order = sel.args.get("order")
    for o in (order.expressions if order is not None else []):
        if o.find(exp.AggFunc, exp.Anonymous) and _agg_why(sel, o.this, keys_):
            return "ordered by an aggregate that picks rows"
    return ""


def _probe(sel: exp.Select, keys_: list[exp.Expr], col: exp.Column, dialect: str) -> str:
    """Per group of ``keys_``, the people ``sel``'s ``WHERE`` keeps (the smallest non-empty
    group), in ``analyze.sql_crowd.probe``'s shape (what ``crowd_memory`` sketches); or why
    the tree alone refuses (``crowd:…``)."""
    who = person(sel, col, dialect)
    if isinstance(who, str):
        return STATIC + who
    where = sel.args.get("where")
    kept = exp.func("COALESCE", exp.paren(where.this.copy()), exp.false()) \
        if where is not None else exp.true()
    n = exp.Count(this=exp.Distinct(expressions=[who]))
    inner = sel.copy()
    for key in ("where", "having", "qualify", "order", "limit", "offset", "distinct", "windows"):
        inner.set(key, None)
    ctes = _visible(sel)
    if ctes:
        inner.set("with_", exp.With(expressions=[c.copy() for c in ctes]))
    inner.set("expressions", [exp.alias_(exp.Filter(this=n, expression=exp.Where(this=kept)),
                                         "n0")])
    inner.set("group", exp.Group(expressions=[k.copy() for k in keys_]))
    least = exp.func("COALESCE", exp.Min(this=exp.Case(ifs=[exp.If(
        this=exp.column("n0") > 0, true=exp.column("n0"))])), exp.Literal.number(_TOP))
    outer = exp.select(exp.Nullif(this=least, expression=exp.Literal.number(_TOP))).from_(
        inner.subquery("_jg_crowd"))
    return PROBE + outer.sql(dialect=dialect)


def _visible(sel: exp.Expr) -> list[exp.Expr]:
    """The CTEs ``sel`` can read (its own and its ancestors'), innermost first."""
    out: list[exp.Expr] = []
    node: exp.Expr | None = sel
    while node is not None:
        w = node.args.get("with_") or node.args.get("with")
        out += list(w.expressions) if w is not None else []
        node = node.parent
    return out


def group_checks(tree: exp.Expr, dialect: str = "duckdb") -> list[Check]:
    """(column, its SELECT, detail) for each column a grouping key reads."""
    out: list[Check] = []
    for sel in tree.find_all(exp.Select):
        ks = keys(sel)
        if ks:
            why = _static(sel, ks)
            shown = ", ".join(k.sql(dialect=dialect)[:40] for k in ks[:3])
            for k in ks:
                if not why and isinstance(k, exp.Column) and whole(sel, k):
                    continue   # equal whole values: what a join of the column tells, no piece
                for col in _columns(k):
                    detail = STATIC + f"grouped by {shown} and {why}{_FIX}" if why else \
                        _probe(sel, ks, col, dialect)
                    out.append((col, sel, detail))
        distinct = sel.args.get("distinct")
        on = distinct.args.get("on") if distinct is not None else None
        if on is not None:
            ons = _flat(on)
            if any(not any(o.unalias() == k for k in ons) for o in sel.expressions):
                detail = STATIC + "kept one row per DISTINCT ON group, which names its member; " \
                                  "use GROUP BY with counts"
                out += [(c, sel, detail) for k in ons for c in _columns(k)]
        for win in sel.find_all(exp.Window):
            if _owner(win) is not sel:
                continue
            for k in win.args.get("partition_by") or []:
                detail = STATIC + "partitioned a window by it, which shows each row with its " \
                                  "group's answer; aggregate with GROUP BY instead"
                out += [(c, sel, detail) for c in _columns(k)]
    return out


def whole(sel: exp.Expr, col: exp.Column, depth: int = 0) -> bool:
    """``col`` (read in ``sel``) is a stored table's column as it is, also through derived
    tables, CTEs and the branches of a set operation that pass it on unchanged.

    >>> import sqlglot
    >>> t = sqlglot.parse_one("SELECT count(*) FROM (SELECT ssn FROM a UNION ALL "
    ...                       "SELECT tax_ssn FROM b) GROUP BY ssn")
    >>> whole(t, t.args["group"].expressions[0])
    True
    >>> t = sqlglot.parse_one("SELECT count(*) FROM (SELECT left(ssn, 1) AS ssn FROM a) "
    ...                       "GROUP BY ssn")
    >>> whole(t, t.args["group"].expressions[0])
    False
    """
    if depth > 8 or not isinstance(sel, exp.Select):
        return False
    src = source_of(sel, col)
    if isinstance(src, str):
        return False
    if isinstance(src, exp.Table) and not isinstance(src.this, exp.Identifier):
        return False   # a table function
    body = source_body(src, ctes_of_select(sel))
    if body is None:
        return True
    branches: list[exp.Expr] = []
    stack = [body]
    while stack:
        b = stack.pop()
        if isinstance(b, exp.SetOperation):
            stack += [b.expression, b.this]
        else:
            branches.append(b)
    if not branches or not all(isinstance(b, exp.Select) for b in branches):
        return False
    first = [o.alias_or_name.lower() for o in branches[0].expressions]
    if col.name.lower() not in first:
        return False
    at = first.index(col.name.lower())
    for b in branches:
        if len(b.expressions) <= at:
            return False
        value = b.expressions[at].unalias()
        if not isinstance(value, exp.Column) or isinstance(value.this, exp.Star) or \
                not whole(b, value, depth + 1):
            return False
    return True


def _owner(node: exp.Expr) -> exp.Expr | None:
    up = node.parent
    while up is not None and not isinstance(up, exp.Select):
        up = up.parent
    return up


__all__ = ["group_checks", "keys", "whole"]
