"""What a query compares: the nodes that compare values (predicates, functions that measure,
locate or test membership, any function used as a condition), their operands, and the
comparisons a set operation or a ``JOIN … USING`` makes without a predicate. ``sql_infer``
decides with ``sql_sides`` where each side's values come from.

Pure: sqlglot trees in, nodes out.

>>> import sqlglot
>>> w = sqlglot.parse_one("SELECT 1 FROM t WHERE my_udf(ssn, '1')").find(exp.Where)
>>> is_comparison(w.this)
True
"""
from __future__ import annotations

from sqlglot import exp

from jupyter_guard.analyze.sql_lists import keyed, map_keys
from jupyter_guard.analyze.sql_saved import _source_key
from jupyter_guard.analyze.sql_sides import Leaves, Sides
from jupyter_guard.analyze.sql_sources import _columns_of, _Derived

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
                         "strcmp", "array_has_any", "list_has_any", "array_has_all",
                         "list_has_all", "list_intersect", "array_intersect", "map_contains",
                         "json_contains", "editdist3", "list_where", "list_select"})
# the places whose expression is a condition (a function there answers yes or no)
_CONDITION = (exp.Where, exp.Having, exp.Qualify, exp.If, exp.CountIf, exp.LogicalAnd,
              exp.LogicalOr)
_LOGIC = (exp.And, exp.Or, exp.Not, exp.Xor, exp.Paren)
RANGES = (exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between)


def _condition(node: exp.Expr) -> bool:
    """``node`` stands where a condition does: ``WHERE f(ssn, '1')``, ``JOIN … ON f(…)``,
    ``CASE WHEN f(…)``, ``count_if(f(…))``, under ``AND``/``OR``/``NOT``."""
    child, parent = node, node.parent
    while isinstance(parent, _LOGIC):
        child, parent = parent, parent.parent
    if isinstance(parent, exp.Join):
        return parent.args.get("on") is child
    if isinstance(parent, exp.If):
        return parent.this is child
    return isinstance(parent, _CONDITION)


def is_comparison(node: exp.Expr) -> bool:
    if isinstance(node, exp.Predicate):
        return not isinstance(node, _SKIP)
    if isinstance(node, exp.Case):   # ``CASE ssn WHEN '123' THEN ...`` compares ssn with '123'
        return node.args.get("this") is not None
    if isinstance(node, _BOOL_FUNCS) or (
            isinstance(node, exp.Anonymous) and str(node.this).lower() in _BOOL_NAMES):
        return True
    if keyed(node):   # ``map(list(ssn), list(id))['1']``: the key meets the map's keys
        return True
    # any other function in a condition (a UDF, a function not listed): its arguments meet
    return isinstance(node, exp.Func) and not isinstance(
        node, (exp.AggFunc, exp.Case, exp.If, exp.Connector, *_LOGIC)) and _condition(node)


def operands(node: exp.Expr) -> list[exp.Expr]:
    if isinstance(node, exp.Case):
        return [node.this, *(i.this for i in node.args.get("ifs") or ())]
    if keyed(node):
        ops = list(node.expressions) if isinstance(node, exp.Anonymous) else \
            [node.this, *node.expressions]
        return [map_keys(ops[0]), *ops[1:]] if ops else []
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


Compared = tuple[exp.Column, exp.Expr, Leaves, str]   # column, its SELECT, other side, text


def set_compared(tree: exp.Expr, sides: Sides) -> list[Compared]:
    """``SELECT ssn FROM customers INTERSECT SELECT s FROM g`` (and ``EXCEPT``, and ``UNION``
    without ``ALL``, whose count drops by one when a value is in both) compares each branch's
    columns with the other branch's, position by position (``BY NAME``: with every column).
    ``UNION ALL`` only when sorted (``_listed``)."""
    out: list[Compared] = []
    for op in tree.find_all(exp.SetOperation):
        if isinstance(op, exp.Union) and op.args.get("distinct") is False and _listed(op):
            continue   # every row kept, nothing compared (what reads them: ``sql_mixed``)
        sides_of = [_Derived._projections(b, []) for b in (op.this, op.expression)]
        by_name = bool(op.args.get("by_name"))
        text = op.sql(dialect="duckdb")[:200]
        for me, other in ((0, 1), (1, 0)):
            mine, theirs = list(sides_of[me].values()), list(sides_of[other].values())
            for n, found in enumerate(mine):
                pairs = theirs[n] if n < len(theirs) and "*" not in sides_of[other] and \
                    not by_name else \
                    [p for ps in theirs for p in ps]
                sides.budget = 256
                leaves = frozenset().union(*(sides.value(e, s) for e, s in pairs)) \
                    if pairs else frozenset({"!unknown"})
                out += [(c, inner, leaves, text) for e, inner in found for c in _columns_of(e)]
    return out


def _listed(op: exp.SetOperation) -> bool:
    """A ``UNION ALL`` (alone or in a chain of them) that is not sorted: its rows are put
    together, not compared. What reads them (``GROUP BY``, ``DISTINCT``…) compares them there
    (``sql_mixed``).

    >>> import sqlglot
    >>> _listed(sqlglot.parse_one("SELECT a FROM t UNION ALL SELECT 'x'"))
    True
    >>> _listed(sqlglot.parse_one("SELECT a FROM t UNION ALL SELECT 'x' UNION ALL SELECT b "
    ...                           "FROM u ORDER BY 1").find(exp.Union).this)
    False
    """
    node: exp.Expr | None = op
    while isinstance(node, exp.Union) and node.args.get("distinct") is False:
        if node.args.get("order") is not None:
            return False
        node = node.parent
    return True


def joined_compared(sel: exp.Select, derived: _Derived, sides: Sides) -> list[Compared]:
    """``JOIN … USING (ssn)`` and ``NATURAL JOIN`` compare the same-named columns of their
    sources: each such column with what the other sources hold under that name. ``NATURAL``
    names the columns a derived source or a named ``VALUES`` list shows (a table's are the
    catalog's: not read here)."""
    joins = sel.args.get("joins") or []
    matched = [j for j in joins if j.args.get("using")
               or str(j.args.get("method") or "").upper() == "NATURAL"]
    if not matched:
        return []
    sources = ([sel.args["from_"].this] if sel.args.get("from_") is not None else [])
    sources += [j.this for j in joins]
    keys = [_source_key(t) or t.alias_or_name.lower() for t in sources]
    using = {u.name.lower() for j in matched for u in j.args.get("using") or []}
    names = set(using)
    if not using:
        for key, src in zip(keys, sources):
            alias = src.args.get("alias")
            if key in derived.outputs:
                names |= {n for n in derived.outputs[key] if n not in ("*", "?")}
            elif isinstance(alias, exp.TableAlias):
                names |= {c.name.lower() for c in alias.columns}
    text = " ".join(j.sql(dialect="duckdb") for j in matched)[:200]
    out: list[Compared] = []
    if not using:   # a table's or a scanned frame's columns: the catalog pairs them by name
        tables = [k for k, src in zip(keys, sources) if isinstance(src, exp.Table)
                  and k not in derived.outputs and k not in derived.constant_sources]
        for key in tables:
            sides.budget = 256
            leaves = frozenset().union(*(sides.value(exp.Column(this=exp.Star(), table=(
                exp.to_identifier(other))), sel) for other in keys if other != key))
            out.append((exp.Column(this=exp.Star(), table=exp.to_identifier(key)), sel,
                        leaves, text))
    for name in sorted(names):
        for key in keys:
            sides.budget = 256
            leaves = frozenset().union(*(sides.value(exp.column(name, table=other), sel)
                                         for other in keys if other != key))
            out.append((exp.column(name, table=key), sel, leaves, text))
    return out
