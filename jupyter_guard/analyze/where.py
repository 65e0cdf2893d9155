"""WHERE clause analysis: no filter, always-true filters, and the count(*) that estimates rows.

A filter is "always" when constant folding proves it true for every row: ``1=1``, ``TRUE``,
``x = x``, ``'a' = 'a'``, ``... OR 1=1``, ``NOT FALSE``, ``2 > 1``, ``x IS NULL OR x IS NOT NULL``,
or a bound parameter that makes one of these so.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlglot import exp
from sqlglot.optimizer.simplify import simplify

from jupyter_guard.model import WhereKind

_UNKNOWN = object()


def bind(tree: exp.Expr, params: Sequence[Any] | Mapping[str, Any] | None) -> exp.Expr:
    """A copy of ``tree`` with its placeholders replaced by values.

    Placeholders: ``?``, ``$1``, ``:name``, ``$name``.
    """
    if params is None:
        return tree
    counter = iter(range(10_000))

    def value(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Placeholder):
            key = node.name
            try:
                if isinstance(params, Mapping):
                    v = params[key]
                elif key and key.isdigit():
                    v = params[int(key) - 1]
                else:
                    v = params[next(counter)]
            except (KeyError, IndexError, TypeError):
                return node
            return exp.convert(v)
        if isinstance(node, exp.Parameter):
            key = node.name
            try:
                v = params[key] if isinstance(params, Mapping) else params[int(key) - 1]
            except (KeyError, IndexError, TypeError, ValueError):
                return node
            return exp.convert(v)
        return node

    return tree.copy().transform(value)


def classify_where(where: exp.Expr | None) -> WhereKind:
    """
    >>> import sqlglot
    >>> w = lambda s: classify_where(sqlglot.parse_one(s).args.get("where"))
    >>> w("DELETE FROM t"), w("DELETE FROM t WHERE 1=1"), w("DELETE FROM t WHERE id = 3 OR 'a'='a'")
    ('none', 'always', 'always')
    >>> w("DELETE FROM t WHERE id = 3")
    'filtered'
    >>> w("DELETE FROM t WHERE 1 + 1 = 2"), w("DELETE FROM t WHERE id = 3 OR 'a' || 'b' = 'ab'")
    ('always', 'always')
    """
    if where is None:
        return "none"
    cond = where.this if isinstance(where, exp.Where) else where
    if _truth(cond) is True or _folds_true(cond):
        return "always"
    if cond.find(exp.Placeholder) is not None or cond.find(exp.Parameter) is not None:
        return "param"
    return "filtered"


def _truth(e: exp.Expr) -> Any:
    """True/False when provable for every row; _UNKNOWN otherwise."""
    if isinstance(e, exp.Paren):
        return _truth(e.this)
    if isinstance(e, exp.Boolean):
        return bool(e.this)
    if isinstance(e, exp.Literal):
        if e.is_number:
            return float(e.this) != 0
        return _UNKNOWN
    if isinstance(e, exp.Not):
        inner = _truth(e.this)
        return _UNKNOWN if inner is _UNKNOWN else not inner
    if isinstance(e, exp.Or):
        left, right = _truth(e.left), _truth(e.right)
        if left is True or right is True:
            return True
        if _null_pair(e.left, e.right):
            return True
        return False if (left is False and right is False) else _UNKNOWN
    if isinstance(e, exp.And):
        left, right = _truth(e.left), _truth(e.right)
        if left is False or right is False:
            return False
        return True if (left is True and right is True) else _UNKNOWN
    if isinstance(e, (exp.EQ, exp.GTE, exp.LTE, exp.NullSafeEQ)):
        if _same(e.left, e.right) and not isinstance(e.left, exp.Null):
            return True
        return _compare(e)
    if isinstance(e, (exp.NEQ, exp.GT, exp.LT)):
        if _same(e.left, e.right):
            return False
        return _compare(e)
    if isinstance(e, exp.In):
        vals = e.expressions
        if any(_same(e.this, v) for v in vals):
            return True
    if (
        isinstance(e, exp.Is)
        and isinstance(e.expression, exp.Null)
        and _const(e.this) is not _UNKNOWN
    ):
        return _const(e.this) is None
    if (
        isinstance(e, exp.Like)
        and isinstance(e.expression, exp.Literal)
        and e.expression.this == "%"
    ):
        return _UNKNOWN  # true except for NULLs: the row count decides
    return _UNKNOWN


_FOLD_LIMIT = 200   # nodes; a longer branch is left to the measured effect (simplify is not free)


def _folds_true(cond: exp.Expr) -> bool:
    """sqlglot's own constant folding (arithmetic, ``||``, ``BETWEEN``, casts of literals) proves
    one ``OR`` branch without columns true. A second opinion after ``_truth``, which knows
    ``x = x`` and ``IS NULL OR IS NOT NULL`` (sqlglot does not, because of NULLs). Only branches
    without columns are folded, so an ordinary filter such as ``id = 3`` costs nothing here."""
    branches = list(cond.flatten()) if isinstance(cond, exp.Or) else [cond]
    for branch in branches:
        if branch.find(exp.Column, exp.Placeholder, exp.Parameter) is not None:
            continue
        if sum(1 for _ in branch.walk()) > _FOLD_LIMIT:
            continue
        try:
            folded = simplify(branch.unnest().copy())
        except Exception:  # noqa: BLE001 — sqlglot could not fold it: no proof for this branch;
            continue       # the effect check still measures the rows the statement touches
        if isinstance(folded, exp.Boolean) and folded.this:
            return True
    return False


def _same(a: exp.Expr, b: exp.Expr) -> bool:
    return a == b and not isinstance(a, (exp.Placeholder, exp.Parameter))


def _const(e: exp.Expr) -> Any:
    if isinstance(e, exp.Paren):
        return _const(e.this)
    if isinstance(e, exp.Literal):
        if e.is_number:
            return float(e.this)
        return e.this
    if isinstance(e, exp.Boolean):
        return bool(e.this)
    if isinstance(e, exp.Null):
        return None
    if isinstance(e, exp.Neg):
        v = _const(e.this)
        return -v if isinstance(v, float) else _UNKNOWN
    return _UNKNOWN


def _compare(e: exp.Binary) -> Any:
    a, b = _const(e.left), _const(e.right)
    if a is _UNKNOWN or b is _UNKNOWN or a is None or b is None or type(a) is not type(b):
        return _UNKNOWN
    ops: dict[type[exp.Binary], Any] = {
        exp.EQ: a == b, exp.NullSafeEQ: a == b, exp.NEQ: a != b, exp.GT: a > b,
        exp.LT: a < b, exp.GTE: a >= b, exp.LTE: a <= b}
    return ops.get(type(e), _UNKNOWN)


def _null_pair(a: exp.Expr, b: exp.Expr) -> bool:
    """``x IS NULL OR x IS NOT NULL``."""
    def parts(e: exp.Expr) -> tuple[exp.Expr, bool] | None:
        if isinstance(e, exp.Is) and isinstance(e.expression, exp.Null):
            return e.this, True
        if (
            isinstance(e, exp.Not)
            and isinstance(e.this, exp.Is)
            and isinstance(e.this.expression, exp.Null)
        ):
            return e.this.this, False
        return None
    pa, pb = parts(a), parts(b)
    return bool(pa and pb and pa[0] == pb[0] and pa[1] != pb[1])


def count_sql_for(tree: exp.Expr, dialect: str) -> str:
    """``SELECT count(*)`` over the rows a DELETE/UPDATE would touch (same FROM/USING/WHERE).

    >>> import sqlglot
    >>> count_sql_for(sqlglot.parse_one("DELETE FROM t WHERE a > 1"), "duckdb")
    'SELECT COUNT(*) FROM t WHERE a > 1'
    """
    target = tree.this
    q = exp.select(exp.Count(this=exp.Star())).from_(target.copy())
    extra = list(tree.args.get("using") or [])
    frm = tree.args.get("from_") or tree.args.get("from")
    if frm is not None:
        extra.append(frm.this)
    for t in extra:
        q = q.join(t.copy(), join_type="cross")
    where = tree.args.get("where")
    if where is not None:
        q = q.where(where.this.copy())
    return q.sql(dialect=dialect or None)
