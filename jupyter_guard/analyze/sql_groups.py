"""Table-wide histograms of a piece of one column (``SELECT left(ssn, 3) AS area, count(*) FROM
customers GROUP BY 1``): area counts, the honest form the fragment refusal (``sql.fragment``,
rule ``inference``) used to block. Each shown piece is shared by every row of its group; when
every group holds at least ``sensitive.min_group_size`` rows (the caller counts them), no shown
piece is one person's.

Only a query that lets its reader pick no rows qualifies (``histogram_keys``): one table, no
``WHERE``/``QUALIFY``/join/``WITH``/``DISTINCT``/``LIMIT``, no ``HAVING`` but a floor on
``count(*)`` (``HAVING count(*) >= 5`` drops small groups and picks no row; the groups it keeps
are the ones counted); every ``GROUP BY`` key
reads the same single column and constants only, and is no bare column (a piece, not the
value: ``GROUP BY ssn`` is a list of values); a second key such as ``id % 60`` would let a
group be a chosen handful of people who then share their piece); every other output is a count
or a sum-like aggregate (``min(id)``, ``list(id)`` or ``arg_min`` would name a member).

Pure: sqlglot trees in, names out.

>>> import sqlglot
>>> sorted(histogram_keys(sqlglot.parse_one(
...     "SELECT left(ssn, 3) AS area, count(*) FROM customers GROUP BY 1")))
['area']
>>> histogram_keys(sqlglot.parse_one(
...     "SELECT left(ssn, 3) AS area, count(*) FROM customers WHERE id < 9 GROUP BY 1"))
frozenset()
"""
from __future__ import annotations

from sqlglot import exp

# aggregates whose value names no member of a group of min_group_size rows
_SAFE = (exp.Count, exp.Sum, exp.Avg, exp.Stddev, exp.StddevPop, exp.StddevSamp,
         exp.Variance, exp.ApproxDistinct)
_PICKS = ("where", "qualify", "joins", "with_", "distinct", "limit", "offset",
          "laterals", "pivots")


def _name(e: exp.Expr) -> str:
    return e.alias_or_name.lower() if isinstance(e, exp.Alias) else \
        (e.name.lower() if isinstance(e, exp.Column) else e.sql(dialect="duckdb").lower())


def _keys(sel: exp.Select) -> list[exp.Expr] | None:
    """The outputs ``sel`` groups by (ordinals, aliases and ``GROUP BY ALL`` resolved)."""
    group = sel.args.get("group")
    if group is None:
        return None
    outs = sel.expressions
    if group.args.get("all"):
        return [o for o in outs if not o.find(exp.AggFunc)]
    named = {o.alias.lower(): o for o in outs if isinstance(o, exp.Alias)}
    bare = {o.unalias().sql(dialect="duckdb"): o for o in outs}
    keys: list[exp.Expr] = []
    for g in group.expressions:
        if isinstance(g, exp.Literal) and g.is_int and 0 < int(g.this) <= len(outs):
            keys.append(outs[int(g.this) - 1])
        elif isinstance(g, exp.Column) and not g.table and g.name.lower() in named:
            keys.append(named[g.name.lower()])
        elif g.sql(dialect="duckdb") in bare:
            keys.append(bare[g.sql(dialect="duckdb")])
        else:
            return None   # a key not shown: groups the reader cannot see are chosen rows
    return keys


def _floor(having: exp.Expr | None) -> bool:
    """A ``HAVING`` that only bounds ``count(*)`` from below by a number (``count(*) >= 5``,
    ``AND`` of such): it drops small groups, the usual k-anonymity safeguard, and picks no row.

    >>> import sqlglot
    >>> _floor(sqlglot.parse_one("SELECT 1 HAVING count(*) >= 5").args["having"])
    True
    >>> _floor(sqlglot.parse_one("SELECT 1 HAVING count(*) = 1").args["having"])
    False
    """
    cond = having.this if isinstance(having, exp.Having) else having
    while isinstance(cond, exp.Paren):
        cond = cond.this
    if isinstance(cond, exp.And):
        return _floor(cond.this) and _floor(cond.expression)
    if isinstance(cond, (exp.GT, exp.GTE, exp.LT, exp.LTE)):
        count, bound = (cond.this, cond.expression) if isinstance(cond, (exp.GT, exp.GTE)) \
            else (cond.expression, cond.this)
        return isinstance(count, exp.Count) and isinstance(count.this, exp.Star) and \
            isinstance(bound, exp.Literal) and not bound.is_string
    return False


def histogram_keys(tree: exp.Expr) -> frozenset[str]:
    """The output names of ``tree``'s group keys when it is a table-wide histogram of one
    column's pieces, else empty."""
    if not isinstance(tree, exp.Select) or any(tree.args.get(k) for k in _PICKS) or (
            tree.args.get("having") is not None and not _floor(tree.args["having"])):
        return frozenset()
    src = tree.args.get("from_")
    if src is None or not isinstance(src.this, exp.Table) or isinstance(src.this.this, exp.Func):
        return frozenset()
    keys = _keys(tree)
    if not keys:
        return frozenset()
    read = {c.name.lower() for k in keys for c in k.find_all(exp.Column)}
    if len(read) != 1 or any(isinstance(k.unalias(), exp.Column) or k.find(
            exp.Select, exp.AggFunc, exp.Window, exp.Star) for k in keys):
        return frozenset()
    for o in tree.expressions:
        if any(o is k for k in keys):
            continue
        value = o.unalias()
        if not isinstance(value, (*_SAFE, exp.Literal)) or \
                value.find(exp.Window) or value.find(exp.Select):
            return frozenset()
    return frozenset(_name(k) for k in keys)


def smallest_group(tree: exp.Select) -> str:
    """The query that counts the rows of ``tree``'s smallest group (a histogram's).

    >>> import sqlglot
    >>> smallest_group(sqlglot.parse_one(
    ...     "SELECT left(ssn, 3) AS area, count(*) FROM customers GROUP BY 1"))
    'SELECT MIN(n) FROM (SELECT COUNT(*) AS n FROM customers GROUP BY LEFT(ssn, 3)) AS _jg_groups'
    """
    keys = [k.unalias().copy() for k in _keys(tree) or ()]
    inner = exp.select(exp.alias_(exp.Count(this=exp.Star()), "n")).from_(
        tree.args["from_"].this.copy()).group_by(*keys)
    if tree.args.get("having") is not None:   # the groups shown: those the floor keeps
        inner.set("having", tree.args["having"].copy())
    return exp.select("MIN(n)").from_(inner.subquery("_jg_groups")).sql(dialect="duckdb")


__all__ = ["histogram_keys", "smallest_group"]
