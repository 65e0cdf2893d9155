"""No-guess checks on a column, asked of a crowd or of chosen rows (issue 15, item 3; red team 18).

A predicate that compares a column only with something that cannot single out a value (a domain
pattern ``email LIKE '%@example.com'``, a format ``regexp_matches(ssn, '^\\d{9}$')``, a length
``length(ssn) = 9``, ``split_part(email, '@', 2) = …``, ``IS NULL`` of a cast or a piece of the
column, ``try_cast(left(ssn, 3) AS UTINYINT) IS NULL``) is no guess (``sql_guessfn``), but it
still answers for each row it is asked of: ``WHERE id = 12 AND email LIKE '%@gmail.com'`` tells
one person's domain. Such a check is honest only as an aggregate over
a crowd. ``crowd_checks`` finds each one and decides, from the tree alone, whether the answer can
be about chosen rows whatever the data:

- the check must be in the statement's outermost ``SELECT`` (not in a subquery, a CTE or a
  branch whose rows another query picks from), and that ``SELECT`` must aggregate: every output
  a ``GROUP BY`` key or made of ``count``/``count_if``/``bool_or``/``bool_and`` and of
  ``sum``/``avg``/statistics of a bare column (a computed sum such as ``sum(pow(2, id))`` would
  spell out which rows passed), with no window; a row listing (``SELECT id FROM customers WHERE
  email LIKE …``, ``SELECT id, email LIKE … FROM customers``) answers for each row shown;
- the check may stand in ``WHERE``, in such an aggregate (its argument, its ``FILTER``) or in a
  key; not in ``HAVING``, ``QUALIFY``, ``ORDER BY`` or a join condition.

Each such check then comes with a probe (detail ``crowd?:<SQL>``) the guard runs before the query
(``guard.infer_crowd``): per group of the query's keys, how many rows the check's answer depends
on (the rows where its value, ``TRUE`` or ``FALSE``, changes whether the row is kept by
``WHERE``, what an aggregate adds, or its key, for some value of the query's other such checks);
the smallest must reach ``sensitive.min_group_size``. The probe reads no value of the checked
columns: only the other predicates, the keys and the joins. A check refused from the tree alone
has detail ``crowd:<why>``. The ``inference`` rule decides on sensitive columns only.

A check that reads only an e-mail's domain, and names a host (``email LIKE '%@example.com'``,
``ends_with(email, '@corp.com')``, ``split_part(email, '@', 2) = 'x.org'``), carries the prefix
``crowd@`` before its detail (``domain_check``): where the policy's masking shows that domain
anyway (strategy ``partial`` keeps ``█████@example.com``), it answers nothing a listing of the
column would not show, in a row listing or a ``CREATE TABLE … AS`` too (``guard.infer_crowd``
decides, by the policy).

Pure: sqlglot trees in, (column, SELECT, detail) out.

>>> import sqlglot
>>> t = sqlglot.parse_one("SELECT count(*) FROM customers WHERE id = 12 AND length(ssn) = 9")
>>> [(c.name, d[:7]) for c, _s, d in crowd_checks(t)]
[('ssn', 'crowd?:')]
>>> t = sqlglot.parse_one("SELECT id, email LIKE '%@x.org', length(ssn) = 9 FROM customers")
>>> [(c.name, d) for c, _s, d in crowd_checks(t)]
[('email', 'crowd@crowd:shown row by row'), ('ssn', 'crowd:shown row by row')]
"""
from __future__ import annotations

from itertools import product
from typing import Any

from sqlglot import exp

from jupyter_guard.analyze.sql_compare import is_comparison, operands
from jupyter_guard.analyze.sql_crowd_rows import count_floor, names_rows, person, picked
from jupyter_guard.analyze.sql_guessfn import (
    bare_column,
    domain_part,
    domain_pattern,
    guess_literal,
    no_content,
    text_type,
)
from jupyter_guard.analyze.sql_sources import _constant, _scoped

PROBE = "crowd?:"
STATIC = "crowd:"
DOMAIN = "crowd@"   # before PROBE or STATIC: the check reads only an e-mail's domain
_MAX = 4   # checks in one query whose combinations the probe spells out (2**(n-1) each)
_COUNTS = (exp.Count, exp.CountIf, exp.LogicalOr, exp.LogicalAnd)
_SUMS = (exp.Sum, exp.Avg, exp.Stddev, exp.StddevPop, exp.StddevSamp, exp.Variance,
         exp.VariancePop, exp.ApproxDistinct)

Check = tuple[exp.Column, exp.Expr, str]


def _no_guess_columns(node: exp.Expr) -> list[exp.Column]:
    """The columns ``node`` checks without a guess (a format, a domain, a length, a null),
    or [] when it is no such check (no column, two columns, a guess: ``sql_infer``'s)."""
    if isinstance(node, exp.Is):
        # whether a value is there: every listing shows that (a masked value beside a NULL), so
        # it is asked of anyone; whether a cast or a piece of it is (``try_cast(left(ssn, 3) AS
        # UTINYINT) IS NULL``) is a check of the content, honest only over a crowd
        if _null_kept(node.this) or node.find(exp.Query):
            return []
        return [c for c in node.this.find_all(exp.Column) if not isinstance(c.this, exp.Star)]
    if is_comparison(node):
        ops = operands(node)
    else:
        return []
    var = [o for o in ops if not _constant(o)]
    if len(var) != 1 or len(var) == len(ops) or var[0].find(exp.Query):
        return []
    cols = [c for c in var[0].find_all(exp.Column) if not isinstance(c.this, exp.Star)]
    if not cols:
        return []
    if not all(no_content(c, var[0]) for c in cols) and any(
            guess_literal(o, node, k) for k, o in enumerate(ops) if _constant(o)):
        return []   # a guess: the comparison rule refuses it
    return cols


def _null_kept(e: exp.Expr) -> bool:
    """``e`` is NULL exactly when the column it reads is: the column, its case, blanks, length
    or text (``ssn IS NULL``, ``lower(email) IS NOT NULL``, ``ssn::VARCHAR IS NULL``)."""
    while isinstance(e, (exp.Paren, exp.Lower, exp.Upper, exp.Trim, exp.Length, exp.Cast)):
        if isinstance(e, exp.Cast) and not text_type(e):
            return False
        e = e.this
    return isinstance(e, (exp.Column, exp.Literal, exp.Null, exp.Boolean))


def domain_check(node: exp.Expr) -> bool:
    """``node`` reads its one column only for the part of an e-mail after its last ``@``, and
    every constant it holds names a host (a ``.`` in it): what ``partial`` masking shows.

    >>> import sqlglot
    >>> def check(sql):
    ...     return domain_check(sqlglot.parse_one(f"SELECT 1 WHERE {sql}", read="duckdb").find(
    ...         exp.Where).this)
    >>> check("email LIKE '%@example.com'"), check("ends_with(email, '@corp.com')")
    (True, True)
    >>> check("split_part(email, '@', 2) = 'x.org'"), check("email LIKE '%@localhost'")
    (True, False)
    >>> check("length(email) = 9"), check("lower(email) LIKE 'a%@x.org'"), check(
    ...     "email LIKE '%@b@x.org'")   # two: a local part's end
    (False, False, False)
    """
    if not is_comparison(node):
        return False
    ops = operands(node)
    var = [o for o in ops if not _constant(o)]
    texts = [str(o.this) if isinstance(o, exp.Literal) and o.is_string else None
             for o in ops if _constant(o)]
    if len(var) != 1 or not texts or None in texts:
        return False
    cols = list(var[0].find_all(exp.Column))
    if len(cols) != 1:
        return False
    path: list[exp.Expr] = []
    up = cols[0].parent
    while up is not None and up is not var[0].parent:
        path.append(up)
        up = up.parent
    if domain_part(path):   # ``split_part(email, '@', 2) = 'x.org'``
        return isinstance(node, (exp.EQ, exp.Like, exp.ILike, exp.EndsWith)) and all(
            "." in t and "@" not in t for t in texts if t is not None)
    return bare_column(var[0].unalias()) is cols[0] and domain_pattern(node) and all(
        t is not None and "." in t.partition("@")[2] for t in texts)


def _within(node: exp.Expr, outer: exp.Expr) -> bool:
    p = node.parent
    while p is not None:
        if p is outer:
            return True
        p = p.parent
    return False


def _top(tree: exp.Expr) -> exp.Select | None:
    """The statement's outermost SELECT: the query itself, or what ``CREATE … AS`` and
    ``INSERT … SELECT`` store (a row stored is a row someone reads later)."""
    if isinstance(tree, exp.Select):
        return tree
    inner = tree.args.get("expression")
    return inner if isinstance(inner, exp.Select) else None


def crowd_checks(tree: exp.Expr, dialect: str = "duckdb") -> list[Check]:
    """(column, its SELECT, detail) for each column a no-guess check reads."""
    found: list[tuple[exp.Expr, exp.Expr, list[exp.Column]]] = []
    for node, sel in _scoped(tree, None):
        if sel is None or sel is node:
            continue
        cols = _no_guess_columns(node)
        if cols:
            found.append((node, sel, cols))
    if not found:
        return []
    checks = [n for n, _s, _c in found]
    found = [f for f in found if not any(p is not f[0] and _within(f[0], p) for p in checks)]
    top = _top(tree)
    preds = [n for n, s, _c in found if s is top]
    out: list[Check] = []
    for node, sel, cols in found:
        if top is None or sel is not top:
            detail = STATIC + "inside a subquery, a CTE or a set operation whose rows another " \
                              "query picks from"
        else:
            detail = _decide(top, node, preds, dialect)
        if domain_check(node):
            detail = DOMAIN + detail
        out += [(c, sel, detail) for c in cols]
    return out


def _keys(sel: exp.Select) -> list[exp.Expr] | None:
    """The expressions ``sel`` groups by (ordinals, aliases, ``GROUP BY ALL`` resolved); None
    for grouping sets, rollups and cubes."""
    group = sel.args.get("group")
    if group is None:
        return []
    if any(group.args.get(k) for k in ("rollup", "cube", "grouping_sets")):
        return None
    outs = sel.expressions
    if group.args.get("all"):
        return [o.unalias() for o in outs if not o.find(exp.AggFunc)]
    named = {o.alias.lower(): o.unalias() for o in outs if isinstance(o, exp.Alias)}
    keys: list[exp.Expr] = []
    for g in group.expressions:
        if isinstance(g, exp.Literal) and g.is_int and 0 < int(g.this) <= len(outs):
            keys.append(outs[int(g.this) - 1].unalias())
        elif isinstance(g, exp.Column) and not g.table and g.name.lower() in named:
            keys.append(named[g.name.lower()])
        else:
            keys.append(g)
    return keys


def _output(o: exp.Expr, keys: list[exp.Expr], preds: list[exp.Expr],
            sel: exp.Select | None = None) -> str:
    """Why output ``o`` answers for single rows ('' when it is a key or a crowd aggregate)."""
    value = o.unalias()
    if any(value == k for k in keys):
        return ""
    if value.find(exp.Window):
        return "shown through a window function, row by row"
    for agg in value.find_all(exp.AggFunc):
        if not isinstance(agg, (*_COUNTS, *_SUMS)):
            return f"aggregated with {agg.key}, which can name a row"
        arg = agg.this
        if isinstance(agg, _SUMS) and not isinstance(arg, exp.Column) and any(
                not any(_within(c, p) for p in preds) for c in arg.find_all(exp.Column)):
            return f"aggregated with {agg.key} of a computed value, which can spell out rows"
        if isinstance(agg, _SUMS) and isinstance(arg, exp.Column) and sel is not None and \
                names_rows(sel, arg):
            return f"aggregated with {agg.key} of a value that names rows (an identifier, or " \
                   "computed in a CTE or a derived table)"
    for n in value.walk():
        if isinstance(n, (exp.Column, exp.Star)) and not (
                isinstance(n, exp.Star) and isinstance(n.parent, exp.Count)):
            up = n.parent
            # an aggregate's ``FILTER (WHERE …)`` is the aggregate's (``count(*) FILTER``)
            while up is not None and up is not o and not isinstance(up, (exp.AggFunc, exp.Filter)):
                up = up.parent
            if not isinstance(up, (exp.AggFunc, exp.Filter)):
                return "shown row by row"
    return ""


def _decide(sel: exp.Select, node: exp.Expr, preds: list[exp.Expr], dialect: str) -> str:
    if len(preds) > _MAX:
        return STATIC + f"one of more than {_MAX} such checks in one query"
    keys = _keys(sel)
    if keys is None:
        return STATIC + "grouped by grouping sets"
    for o in sel.expressions:
        why = _output(o, keys, preds, sel)
        if why:
            return STATIC + why
    having = sel.args.get("having")
    if having is not None and not count_floor(having.this):
        return STATIC + "with a HAVING condition other than a floor on count(*), which can " \
                        "pick the rows answered"
    col = next(iter(c for c in node.find_all(exp.Column) if not isinstance(c.this, exp.Star)))
    who = person(sel, col, dialect)
    if isinstance(who, str):
        return STATIC + who
    child, up = node, node.parent
    while up is not None and up is not sel:
        if isinstance(up, exp.Window):
            return STATIC + "inside a window"
        child, up = up, up.parent
    if child is not sel.args.get("where") and child is not sel.args.get("group") and \
            not any(child is o for o in sel.expressions):
        return STATIC + f"in {child.key.upper()}, where the guard does not count its rows"
    return PROBE + probe(sel, node, preds, keys, dialect, who)


def _subst(e: exp.Expr, values: list[tuple[exp.Expr, bool | None]]) -> exp.Expr:
    """A copy of ``e`` with each checked node replaced by TRUE, FALSE or NULL."""
    nodes = list(e.walk())
    at = [(k, v) for k, n in enumerate(nodes) for p, v in values if n is p]
    copy = e.copy()
    holder = exp.Paren(this=copy)
    mine = list(copy.walk())
    for k, v in at:
        mine[k].replace(exp.null() if v is None else exp.true() if v else exp.false())
    out: exp.Expr = holder.this
    return out


def _varchar(e: exp.Expr) -> exp.Expr:
    return exp.Cast(this=e, to=exp.DataType.build("VARCHAR"))


def _added(kept, filt: exp.Expr | None, arg: exp.Expr | None):  # type: ignore[no-untyped-def]
    """What a row adds to an aggregate: its argument, when ``WHERE`` and ``FILTER`` keep it."""
    def term(v: list[tuple[exp.Expr, bool | None]]) -> exp.Expr:
        cond = kept(v) if filt is None else exp.and_(   # ``filt``: the FILTER's WHERE
            kept(v), exp.func("COALESCE", _subst(filt, v).this, exp.false()))
        value = exp.Literal.string("1") if arg is None else exp.func(
            "COALESCE", _varchar(_subst(arg, v)), exp.Literal.string("~"))
        return exp.Case(ifs=[exp.If(this=cond, true=value)])
    return term


def _keyed(kept, key: exp.Expr):  # type: ignore[no-untyped-def]
    """A key's value for a row ``WHERE`` keeps (a check in it splits the groups)."""
    return lambda v: exp.Case(ifs=[exp.If(this=kept(v), true=_varchar(_subst(key, v)))])


def probe(sel: exp.Select, node: exp.Expr, preds: list[exp.Expr], keys: list[exp.Expr],
          dialect: str = "duckdb", who: exp.Expr | None = None) -> str:
    """The query counting, per group of ``sel``'s keys, the people (``who``: distinct rows of
    the checked table, ``sql_crowd_rows.person``) whose outcome ``node``'s value changes, once
    for ``WHERE``, once for each aggregate's own rows (its ``FILTER``, a ``count_if``'s
    condition, a ``sum``'s non-NULL argument) and once for each key; the smallest non-zero
    count."""
    where = sel.args.get("where")
    Values = list[tuple[exp.Expr, bool | None]]

    def kept(v: Values) -> exp.Expr:   # built from copies: the parsed tree is shared
        return exp.func("COALESCE", _subst(where.this, v), exp.false()) if where is not None \
            else exp.true()

    def differs(t: Any) -> Any:
        return lambda v, f: exp.NullSafeNEQ(this=t([(node, True), *f]),
                                            expression=t([(node, False), *f]))

    in_where = where is not None and any(_within(p, where) for p in preds)
    terms: list[Any] = [differs(kept)] if in_where else []
    for agg in (a for o in sel.expressions for a in o.find_all(exp.AggFunc)):
        filt = agg.parent.expression if isinstance(agg.parent, exp.Filter) else None
        if any(_within(p, agg) or (filt is not None and _within(p, filt)) for p in preds):
            arg = agg.this
            if isinstance(arg, exp.Distinct):
                arg = arg.expressions[0] if arg.expressions else None
            terms.append(differs(_added(kept, filt, None if isinstance(arg, exp.Star) else arg)))
            continue
        own = picked(agg)
        if own is not None and in_where:   # the aggregate's own rows, of those WHERE decides
            def mine(v: Values, f: Values, own: exp.Expr = own) -> exp.Expr:
                # no check stands in the aggregate (else the branch above): ``own`` as it is
                return exp.and_(differs(kept)(v, f), exp.func("COALESCE", own, exp.false()))
            terms.append(mine)
    terms += [differs(_keyed(kept, k)) for k in keys if any(_within(p, k) or p is k
                                                             for p in preds)]
    others = [p for p in preds if p is not node]
    fixes: list[Values] = [list(zip(others, values))
                           for values in product((True, False), repeat=len(others))]
    counted: list[exp.Expr] = []
    for k, t in enumerate(terms or [lambda v, f: exp.false()]):
        matters = exp.or_(*(t([], f) for f in fixes))
        n = exp.Count(this=exp.Distinct(expressions=[who.copy()]) if who is not None
                      else exp.Star())
        counted.append(exp.alias_(exp.Filter(this=n, expression=exp.Where(this=matters)), f"n{k}"))
    inner = sel.copy()
    for key in ("where", "having", "qualify", "order", "limit", "offset", "distinct", "windows"):
        inner.set(key, None)
    inner.set("expressions", counted)
    inner.set("group", exp.Group(expressions=[k.copy() for k in keys]) if keys else None)
    top = 9223372036854775807   # no group counted: NULL (LEAST skips nothing on SQLite)
    least = [exp.func("COALESCE", exp.Min(this=exp.Case(ifs=[exp.If(
        this=exp.column(f"n{k}") > 0, true=exp.column(f"n{k}"))])), exp.Literal.number(top))
        for k in range(len(counted))]
    smallest = least[0] if len(least) == 1 else exp.Least(this=least[0], expressions=least[1:])
    outer = exp.select(exp.Nullif(this=smallest, expression=exp.Literal.number(top))).from_(
        inner.subquery("_jg_crowd"))
    return outer.sql(dialect=dialect)


__all__ = ["DOMAIN", "PROBE", "STATIC", "crowd_checks", "domain_check", "probe"]
