"""Oracles that judge a column's values by the user's own constants without a predicate in the
query (issue 15, item 3; red team 19): a cast to a type the user made (``CREATE TYPE g AS ENUM
('123456789')``, then ``try_cast(ssn AS g) IS NOT NULL`` keeps only the guess) and a Python
function the user registered (``con.create_function('h', lambda s: s == '123456789')``, then
``WHERE h(ssn)``; ``sum(h(ssn))`` with ``lambda s: s > G`` ranks). The guess sits in the type or
in the function, where the query cannot show it; the effect decides:

- a cast of a column's content to an ``ENUM`` or to a user-defined type, wherever it stands
  (a value not in the list fails or is NULL: both answer);
- a call of a registered Python function (``USER_FUNCTIONS``) on a column's content whose result
  is aggregated, tested, grouped on, ordered by, compared or read by another query. Shown row by
  row it is a derived value, which masking decides on.

Each is reported like a comparison with a guess (``sql_infer``); the ``inference`` rule refuses
it for a sensitive column. Constraints that judge written values (``CHECK``, keys, ``ENUM``
columns) need the catalog: ``guard.oracles``.

Pure: sqlglot trees in, nodes out (``USER_FUNCTIONS`` is filled by the hook that registers the
functions).

>>> import sqlglot
>>> from jupyter_guard.analyze.sql_sides import Sides
>>> t = sqlglot.parse_one("SELECT count(*) FROM customers WHERE try_cast(ssn AS g) IS NOT NULL")
>>> [(c.name, sorted(o)) for c, _s, o, _n, _r in oracle_calls(t)]
[('ssn', ['!user-type'])]
>>> oracle_calls(sqlglot.parse_one("SELECT ssn::VARCHAR, city::g FROM customers"))[0][0].name
'city'
"""
from __future__ import annotations

from sqlglot import exp

from jupyter_guard.analyze.sql_guessfn import _reached
from jupyter_guard.analyze.sql_order import _content_columns
from jupyter_guard.analyze.sql_sources import _scoped

USER_FUNCTIONS: set[str] = set()
"""Lower-case names of Python functions registered as SQL functions in this process."""
_USER_TYPES = (exp.DataType.Type.USERDEFINED, exp.DataType.Type.ENUM)
# built-in types sqlglot reads as a user's (DuckDB's, PostgreSQL's): no list of guesses
_BUILTIN = frozenset({"varint", "bignum", "oid", "regclass", "regtype", "regproc",
                      "regnamespace", "regrole", "name", "xid", "cid", "tid", "citext"})

Oracle = tuple[exp.Column, exp.Expr, frozenset[str], exp.Expr, bool]
ALIASES: set[str] = set()
"""Lower-case names of user types that only name a built-in one (``CREATE TYPE t AS VARCHAR``,
seen by the guard and checked against the catalog): a cast to one judges no value."""


VERSION = [0]   # grows with USER_FUNCTIONS: cached readings of a text knew fewer functions


def register(name: str) -> None:
    """A Python function registered as SQL function ``name``: queries are read anew."""
    if name.lower() not in USER_FUNCTIONS:
        USER_FUNCTIONS.add(name.lower())
        VERSION[0] += 1


def alias_type(name: str, alias: bool) -> None:
    """User type ``name`` only names a built-in type (``alias``), or may judge (an ``ENUM``, a
    type dropped): queries are read anew."""
    key = name.lower().rsplit(".", 1)[-1]
    if alias != (key in ALIASES):
        (ALIASES.add if alias else ALIASES.discard)(key)
        VERSION[0] += 1


def user_type(to: exp.Expr | None) -> bool:
    """An ``ENUM`` or a type the user named (a list of guesses the value must be one of).

    >>> import sqlglot
    >>> user_type(sqlglot.parse_one("x::g19").to), user_type(sqlglot.parse_one("x::INT").to)
    (True, False)
    >>> user_type(sqlglot.parse_one("x::VARINT", read="duckdb").to)
    False
    """
    if not isinstance(to, exp.DataType):
        return False
    if to.this == exp.DataType.Type.USERDEFINED and (
            str(to.args.get("kind") or "").lower().strip('"') in _BUILTIN or
            str(to.args.get("kind") or "").lower().strip('"').rsplit(".", 1)[-1] in ALIASES):
        return False
    return to.this in _USER_TYPES or any(user_type(e) for e in to.expressions)


def _function(node: exp.Expr) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    return ""


def oracle_calls(tree: exp.Expr) -> list[Oracle]:
    """(column, its SELECT, the guess it meets, the node, False) for each cast of a column's
    content to a user type and each reached call of a registered function on one."""
    out: list[Oracle] = []
    for node, sel in _scoped(tree, None):
        if sel is None:
            continue
        if isinstance(node, (exp.Cast, exp.TryCast)) and user_type(node.args.get("to")):
            out += [(c, sel, frozenset({"!user-type"}), node, False)
                    for c in _content_columns(node.this)]
        elif USER_FUNCTIONS and _function(node) in USER_FUNCTIONS and _reached(node, sel):
            name = _function(node)
            out += [(c, sel, frozenset({f"!function:{name}"}), node, False)
                    for a in node.expressions for c in _content_columns(a)]
    return out


def merged_as_query(tree: exp.Expr | None) -> exp.Expr | None:
    """``MERGE INTO g USING customers c ON g.x = c.ssn WHEN MATCHED [AND …] THEN UPDATE …``
    matches rows as a join does (which rows changed answers whether a guess is a member): the
    same comparisons as a ``SELECT`` that joins on ``ON`` and tests the ``WHEN`` conditions.

    >>> import sqlglot
    >>> merged_as_query(sqlglot.parse_one(
    ...     "MERGE INTO g USING customers c ON g.x = c.ssn WHEN MATCHED THEN UPDATE SET n = 1"
    ... )).sql()
    'SELECT 1 FROM g JOIN customers AS c ON g.x = c.ssn'
    """
    if not isinstance(tree, exp.Merge) or tree.args.get("using") is None:
        return None
    using = tree.args["using"].copy()
    q = exp.select("1").from_(tree.this.copy()).join(using, on=(
        tree.args.get("on") or exp.true()).copy())
    tests = [w.args["condition"].copy() for w in tree.find_all(exp.When)
             if w.args.get("condition") is not None]
    if tests:
        q = q.where(exp.or_(*tests))
    return q


__all__ = ["ALIASES", "USER_FUNCTIONS", "alias_type", "merged_as_query", "oracle_calls", "register",
           "user_type"]
