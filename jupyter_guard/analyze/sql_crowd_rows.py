"""Who a crowd is made of, and which rows each aggregate picks (issue 15, red team 20).

A crowd is people, not joined rows: ``FROM customers c, range(5) r WHERE c.id = 12 AND
c.email LIKE …`` holds five rows of one person. ``person`` names the row of the table the checked
column is read from (``HASH(c)`` on DuckDB, the whole-row ``c`` on PostgreSQL, ``c.rowid``
elsewhere), which the probe counts DISTINCT; a source that can itself repeat a person (a derived
table or CTE with a join, a set operation, an ``UNNEST``, a table function) is refused from the
tree, as is a column whose table cannot be told in a join.

An aggregate picks its own rows: ``count_if(id = 12)``, ``count(*) FILTER (WHERE id = 12)``,
``bool_or(id = 12)``, ``sum(x)`` over the rows where ``x`` is not NULL. ``picked`` gives that
condition (ANDed with what the check decides, the probe counts it as its own crowd).
``names_rows`` tells an aggregate's argument that names rows (an identifier, or a value computed
through a CTE or a derived table: ``sum(w)`` with ``w = 2 ** id`` spells out which rows passed).

Pure: sqlglot trees in.

>>> import sqlglot
>>> t = sqlglot.parse_one("SELECT count(*) FROM customers c, range(5) r WHERE c.email LIKE 'x'")
>>> person(t, t.find(exp.Column), "duckdb").sql()
'HASH(c)'
>>> t = sqlglot.parse_one("SELECT count(*) FROM (SELECT * FROM a UNION ALL SELECT * FROM a) c "
...                       "WHERE c.email LIKE 'x'")
>>> person(t, t.find(exp.Column), "duckdb")
'drawn from a derived table that can repeat a row (a join, a set operation or a table function)'
"""
from __future__ import annotations

from sqlglot import exp

_REPEATS = (exp.Join, exp.SetOperation, exp.Unnest, exp.Explode, exp.GenerateSeries,
            exp.Lateral, exp.Pivot)


def _from(sel: exp.Expr) -> exp.Expr | None:
    f = sel.args.get("from_") or sel.args.get("from")
    return f.this if f is not None else None


def sources(sel: exp.Select) -> list[exp.Expr]:
    """The tables ``sel`` reads in its ``FROM`` and joins."""
    first = _from(sel)
    return ([first] if first is not None else []) + [j.this for j in sel.args.get("joins") or []]


def ctes_of_select(sel: exp.Expr) -> dict[str, exp.Expr]:
    out: dict[str, exp.Expr] = {}
    node: exp.Expr | None = sel
    while node is not None:
        w = node.args.get("with_") or node.args.get("with")
        for cte in (w.expressions if w is not None else []):
            out.setdefault(cte.alias_or_name.lower(), cte.this)
        node = node.parent
    return out


def source_body(src: exp.Expr, ctes: dict[str, exp.Expr]) -> exp.Expr | None:
    """A derived source's query (a subquery's, a CTE's); None for a stored table."""
    if isinstance(src, exp.Subquery):
        body: exp.Expr = src.this
        return body
    if isinstance(src, exp.Table) and isinstance(src.this, exp.Identifier) and not src.db:
        return ctes.get(src.name.lower())
    return None


def source_of(sel: exp.Select, col: exp.Column) -> exp.Expr | str:
    srcs = sources(sel)
    if col.table:
        named = [s for s in srcs if s.alias_or_name.lower() == col.table.lower()]
        return named[0] if len(named) == 1 else "read from a table the guard cannot tell"
    if len(srcs) == 1:
        return srcs[0]
    return "read in a join without its table's name (qualify it: c.email)"


def _repeats(body: exp.Expr, ctes: dict[str, exp.Expr], depth: int = 0) -> bool:
    if depth > 8 or not isinstance(body, exp.Select) or body.find(*_REPEATS):
        return True
    inner = _from(body)
    if inner is None:
        return False
    if isinstance(inner, exp.Table) and not isinstance(inner.this, exp.Identifier):
        return True   # a table function: ``range(5)``, ``read_csv(…)``
    nested = source_body(inner, {**ctes_of_select(body), **ctes})
    return nested is not None and _repeats(nested, ctes, depth + 1)


def person(sel: exp.Select, col: exp.Column, dialect: str) -> exp.Expr | str:
    """The expression naming one row of the table ``col`` is read from (counted DISTINCT by
    the probe), or why the tree alone refuses."""
    src = source_of(sel, col)
    if isinstance(src, str):
        return src
    if isinstance(src, exp.Table) and not isinstance(src.this, exp.Identifier):
        return "read from a table function"
    body = source_body(src, ctes_of_select(sel))
    if body is not None and _repeats(body, ctes_of_select(sel)):
        return "drawn from a derived table that can repeat a row (a join, a set operation " \
               "or a table function)"
    row = exp.column(src.alias_or_name)
    if dialect == "duckdb":
        return exp.func("HASH", row)
    if dialect in ("postgres", "postgresql"):
        return row
    return exp.column("rowid", table=src.alias_or_name)


def picked(agg: exp.AggFunc) -> exp.Expr | None:
    """The rows ``agg`` reads beyond ``WHERE`` (None: every row it is given)."""
    conds: list[exp.Expr] = []
    if isinstance(agg.parent, exp.Filter):
        conds.append(agg.parent.expression.this)
    arg = agg.this
    if isinstance(arg, exp.Distinct):
        arg = arg.expressions[0] if arg.expressions else None
    if isinstance(agg, (exp.CountIf, exp.LogicalOr)) and arg is not None:
        conds.append(arg)
    elif isinstance(agg, exp.LogicalAnd) and arg is not None:
        conds.append(exp.not_(exp.paren(arg.copy())))
    elif arg is not None and not isinstance(arg, exp.Star):
        conds.append(exp.Not(this=exp.Is(this=arg.copy(), expression=exp.Null())))
    if not conds:
        return None
    return exp.and_(*(exp.paren(c.copy()) for c in conds))


_IDS = ("id", "rowid", "oid", "key", "pk")


def _identifier(name: str) -> bool:
    n = name.lower()
    return n in _IDS or n.endswith(("_id", "_key"))


def names_rows(sel: exp.Select, col: exp.Column, depth: int = 0) -> bool:
    """``col`` (an aggregate's argument in ``sel``) is an identifier or a value computed from
    anything in a CTE or derived table (followed through ``*`` and renames)."""
    if _identifier(col.name) or depth > 8:
        return True
    src = source_of(sel, col)
    if isinstance(src, str):
        return False
    body = source_body(src, ctes_of_select(sel))
    if body is None:
        return False
    if not isinstance(body, exp.Select):
        return True
    for o in body.expressions:
        if isinstance(o, exp.Star) or (isinstance(o, exp.Column) and isinstance(o.this, exp.Star)):
            continue
        if o.alias_or_name.lower() == col.name.lower():
            value = o.unalias()
            return not isinstance(value, exp.Column) or names_rows(body, value, depth + 1)
    inner = exp.column(col.name)
    return bool(sources(body)) and names_rows(body, inner, depth + 1)


def count_floor(having: exp.Expr) -> bool:
    """``HAVING count(*) >= n`` (or ``>``, ANDed): a floor on the group's size, which the
    crowd already guarantees."""
    conds = list(having.flatten()) if isinstance(having, exp.And) else [having]
    for c in conds:
        c = c.unnest()
        if not isinstance(c, (exp.GTE, exp.GT)) or not isinstance(c.this, exp.Count) or \
                not isinstance(c.this.this, exp.Star) or not isinstance(c.expression, exp.Literal):
            return False
    return True


__all__ = ["count_floor", "names_rows", "person", "picked", "sources"]
