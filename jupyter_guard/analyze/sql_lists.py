"""Comparisons made by list and map functions rather than by a predicate (issue 15, item 3):

- a lambda's parameter stands for the elements of the list it is applied to, so
  ``list_filter(list(ssn), lambda x: x = '1')`` compares ``list(ssn)`` with ``'1'``
  (``unlambda``; list comprehensions ``[x FOR x IN list(ssn) IF x = '1']`` too);
- a map's keys are compared with the key it is read with (``map(list(ssn), list(id))['1']``,
  ``element_at``, ``map_extract``): ``map_keys``;
- a function that removes duplicates or keys a map compares every value it is given with every
  other: ``list_distinct(list(ssn) || ['1'])`` tells by its length whether ``'1'`` is an SSN,
  ``map(list(ssn) || ['1'], …)`` by its error. ``merged_compared`` pairs each part of such a
  merge (``||``, ``list_concat``, ``list_append``, a list literal) with the others.

Pure: sqlglot trees in, nodes out.

>>> import sqlglot
>>> t = unlambda(sqlglot.parse_one("SELECT list_filter(list(ssn), lambda x: x = '1') FROM c",
...                                read="duckdb"))
>>> t.find(exp.EQ).sql(dialect="duckdb")
"(ARRAY_AGG(ssn)) = '1'"
"""
from __future__ import annotations

from sqlglot import exp

from jupyter_guard.analyze.sql_sides import Sides
from jupyter_guard.analyze.sql_sources import _columns_of, _scoped

# functions that read a map by key (the key is compared with the map's keys)
KEYED = frozenset({"element_at", "map_extract", "map_extract_value", "map_contains_key",
                   "array_extract", "list_extract"})
# functions whose result depends on which of the values they are given are equal
_DEDUP = (exp.ArrayDistinct, exp.Map, exp.VarMap, exp.MapFromEntries)
_DEDUP_NAMES = frozenset({"list_distinct", "array_distinct", "list_unique", "array_unique",
                          "list_aggregate", "list_aggr", "array_aggregate", "aggregate",
                          "array_aggr", "map", "map_from_entries", "list_histogram",
                          "histogram", "list_intersect", "array_intersect"})
# concatenations of lists: each argument is a part of the merged list
_MERGE = (exp.DPipe, exp.ArrayConcat, exp.Array, exp.Concat, exp.ArrayAppend, exp.ArrayPrepend)
_MERGE_NAMES = frozenset({"list_concat", "list_cat", "array_cat", "array_concat", "concat",
                          "list_append", "array_append", "array_push_back", "list_prepend",
                          "array_prepend", "array_push_front"})

Compared = tuple[exp.Column, exp.Expr, frozenset[str], str]


def _args(node: exp.Expr) -> list[exp.Expr]:
    return list(node.expressions) if isinstance(node, exp.Anonymous) else \
        list(node.iter_expressions())


def unlambda(tree: exp.Expr) -> exp.Expr:
    """``tree`` (a copy when it changes) with each lambda parameter and comprehension variable
    replaced by the list it ranges over (the function's first argument)."""
    if tree.find(exp.Lambda, exp.Comprehension) is None:
        return tree
    tree = tree.copy()   # the parse is shared: never changed in place
    for lam in list(tree.find_all(exp.Lambda)):
        owner = lam.parent
        args = [a for a in _args(owner) if a is not lam] if owner is not None else []
        params = {p.name.lower() for p in lam.expressions}
        if args and params:
            _put(lam.this, params, args[0])
    for comp in list(tree.find_all(exp.Comprehension)):
        var, over = comp.args.get("expression"), comp.args.get("iterator")
        if isinstance(var, (exp.Identifier, exp.Column)) and over is not None:
            for part in ("this", "condition"):
                if comp.args.get(part) is not None:
                    _put(comp.args[part], {var.name.lower()}, over)
    return tree


def _put(body: exp.Expr, params: set[str], over: exp.Expr) -> None:
    for n in list(body.find_all(exp.Identifier, exp.Column)):
        bare = (isinstance(n, exp.Identifier) and not isinstance(n.parent, exp.Column)) or (
            isinstance(n, exp.Column) and not n.table)
        if bare and n.name.lower() in params and n is not body:
            n.replace(exp.paren(over.copy()))
        elif bare and n.name.lower() in params:   # the whole body is the parameter
            body.replace(exp.paren(over.copy()))


def keyed(node: exp.Expr) -> bool:
    """A map read by key: ``m['1']``, ``element_at(m, '1')``, ``map(…)[123]``, ``m[?]``. An
    integer index into anything but a map built in place (``ssn[4]``, ``list(ssn)[1]``) reads an
    element; a map held in a column and read by an integer is not told from it (still open).

    >>> import sqlglot
    >>> keyed(sqlglot.parse_one("SELECT m['1']").find(exp.Bracket))
    True
    >>> keyed(sqlglot.parse_one("SELECT list(x)[1]").find(exp.Bracket))
    False
    """
    if isinstance(node, exp.Bracket):
        this, keys = node.this, list(node.expressions)
    elif isinstance(node, exp.Anonymous) and str(node.this).lower() in KEYED:
        this, keys = (node.expressions or [None])[0], list(node.expressions[1:])
    else:
        return False
    if isinstance(this, (exp.Map, exp.VarMap, exp.MapFromEntries)):
        return True
    return any(not (isinstance(k, exp.Literal) and not k.is_string) for k in keys)


def map_keys(operand: exp.Expr) -> exp.Expr:
    """A map built in the query as its keys (its values are not compared with the key)."""
    keys = operand.args.get("keys") if isinstance(operand, (exp.Map, exp.VarMap)) else None
    return keys if isinstance(keys, exp.Expr) else operand


def _parts(e: exp.Expr) -> list[exp.Expr]:
    """The lists merged into ``e``, through nested concatenations."""
    if isinstance(e, exp.Paren):
        return _parts(e.this)
    if isinstance(e, _MERGE) or (isinstance(e, exp.Anonymous) and
                                  str(e.this).lower() in _MERGE_NAMES):
        return [p for a in _args(e) for p in _parts(a)]
    return [e]


def merged_compared(tree: exp.Expr, sides: Sides) -> list[Compared]:
    """Each column in one part of a merged list handed to a function that removes duplicates
    (``list_distinct``, ``map`` keys, ``histogram``…), with the leaves of the other parts."""
    out: list[Compared] = []
    for node, sel in _scoped(tree, None):
        if sel is None or not (isinstance(node, _DEDUP) or (
                isinstance(node, exp.Anonymous) and str(node.this).lower() in _DEDUP_NAMES)):
            continue
        args = [map_keys(node)] if isinstance(node, (exp.Map, exp.VarMap)) else _args(node)
        if not args:
            continue
        parts = _parts(args[0])
        if len(parts) < 2:
            continue
        text = node.sql(dialect="duckdb")[:200]
        values = []
        for p in parts:
            sides.budget = 256
            values.append(sides.value(p, sel))
        for k, part in enumerate(parts):
            other = frozenset().union(*(v for j, v in enumerate(values) if j != k))
            out += [(c, sel, other, text) for c in _columns_of(part)
                    if isinstance(c, exp.Column)]
    return out
