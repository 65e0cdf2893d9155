"""Taint through SQL expressions: which sensitive source columns each output column of a query
can reveal, and which predicates compare a sensitive column with a constant (inference).

Pure (sqlglot trees in, frozen values out). An output column is tainted when any column it is
computed from is sensitive, whatever the function (``substr``, ``replace``, ``reverse``, casts,
concatenation, ``to_json``, structs), unless the value passes through an aggregate that reveals
no single value: ``count`` always, ``sum``/``avg``/statistics only over groups of at least
``sensitive.min_group_size`` rows (``Output.grouped``: the caller checks the group sizes).
Properties of a value that are not its content (``length`` and its spellings, ``typeof``,
``IS NULL``) carry no taint. Hashes (``md5``, ``sha256``, ``hash``) keep the taint unless the
policy lets hashed identifiers out. A whole-row reference (``SELECT c FROM customers c``,
``to_json(c)``), ``*`` and ``COLUMNS(...)`` reach every column of their source. Views and CTAS
tables are followed through ``lookup`` (remembered lineage or a view's definition).

>>> cols = {"customers": ("id", "email")}.get
>>> [o.origins for o in taint(sqlglot.parse_one("SELECT id, reverse(email) AS x FROM customers"),
...                             cols, lambda c: c == "email")]
[frozenset(), frozenset({'customers.email'})]
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

Columns = Callable[[str], "tuple[str, ...] | None"]          # table -> its columns, None: unknown
Lookup = Callable[[str], "tuple[Output, ...] | str | None"]  # view/CTAS -> lineage or its SQL
_NONE: frozenset[str] = frozenset()

# aggregates that reveal no single value whatever the group
_COUNTS = (exp.Count, exp.ApproxDistinct, exp.Hll, exp.RegrCount)
# aggregates that reveal no single value over groups of min_group_size rows
_GROUPED = (exp.Sum, exp.Avg, exp.Stddev, exp.StddevPop, exp.StddevSamp, exp.Variance,
            exp.Corr, exp.CovarPop, exp.CovarSamp, exp.Kurtosis, exp.Skewness)
_HASHES = (exp.MD5, exp.SHA, exp.SHA2, exp.MD5Digest)
# a value's properties, not its content
_PROPERTIES = (exp.Length, exp.BitLength, exp.Typeof)
_PROPERTY_NAMES = frozenset({"strlen", "octet_length", "length_grapheme"})
_HASH_NAMES = frozenset({"hash", "md5_number", "md5_number_lower", "md5_number_upper", "sha1",
                         "sha256", "sha512", "xxhash", "murmur3", "farm_fingerprint"})


class Unknown(Exception):
    """A source the analysis cannot see into (unknown table, table function): decide otherwise."""


@dataclass(frozen=True)
class Output:
    name: str
    origins: frozenset[str] = _NONE    # sensitive source columns whose values it can reveal
    grouped: frozenset[str] = _NONE    # reached only through sum/avg-like aggregates

    @property
    def tainted(self) -> bool:
        return bool(self.origins or self.grouped)


@dataclass(frozen=True)
class Ctx:
    columns: Columns
    sensitive: Callable[[str], bool]
    hashed_ok: bool
    lookup: Lookup | None
    depth: int = 0


Scope = dict[str, tuple[Output, ...]]       # source alias -> its columns


def taint(tree: exp.Expr, columns: Columns, sensitive: Callable[[str], bool], *,
          hashed_ok: bool = False, lookup: Lookup | None = None) -> tuple[Output, ...]:
    """The outputs of a query (or ``COPY``/``CREATE ... AS``/``INSERT ... SELECT`` body);
    raises ``Unknown`` when a source cannot be resolved."""
    return _query(tree, Ctx(columns, sensitive, hashed_ok, lookup), {})


def _query(q: exp.Expr, c: Ctx, ctes: dict[str, tuple[Output, ...]],
           outer: Scope | None = None) -> tuple[Output, ...]:
    if c.depth > 40:
        raise Unknown("nesting too deep")
    if isinstance(q, (exp.Copy, exp.Create, exp.Insert)):
        body = q.this if isinstance(q, exp.Copy) else q.args.get("expression")
        if body is None:
            raise Unknown("no query")
        if isinstance(body, exp.Schema) and isinstance(body.this, exp.Table):
            # COPY t (a, b) TO ...: the listed columns of t
            body = exp.select(*[exp.column(col.name) for col in body.expressions]).from_(body.this)
        return _query(body, c, ctes) if not isinstance(body, exp.Table) else _table(body, c, ctes)
    if isinstance(q, exp.Subquery):
        return _query(q.this, c, ctes, outer)
    with_ = q.args.get("with_") or q.args.get("with")
    if with_ is not None:
        ctes = dict(ctes)
        for cte in with_.expressions:
            ctes[cte.alias_or_name.lower()] = _renamed(_query(cte.this, c, ctes), cte)
    if isinstance(q, exp.SetOperation):
        left, right = _query(q.left, c, ctes), _query(q.right, c, ctes)
        return tuple(Output(a.name, a.origins | b.origins, a.grouped | b.grouped)
                     for a, b in zip(left, right))
    if isinstance(q, exp.Table):
        return _table(q, c, ctes)
    if not isinstance(q, exp.Select):
        raise Unknown(type(q).__name__)
    scope = {**(outer or {}), **_scope(q, c, ctes)}   # correlated subqueries see the outer row
    out: list[Output] = []
    for e in q.expressions:
        out.extend(_projection(e, scope, c, ctes))
    return tuple(out)


def _renamed(outs: tuple[Output, ...], node: exp.Expr) -> tuple[Output, ...]:
    alias = node.args.get("alias")
    names = [i.name for i in alias.columns] if isinstance(alias, exp.TableAlias) else []
    return tuple(Output(names[n] if n < len(names) else o.name, o.origins, o.grouped)
                 for n, o in enumerate(outs))


def _table(t: exp.Table, c: Ctx, ctes: dict[str, tuple[Output, ...]]) -> tuple[Output, ...]:
    if not isinstance(t.this, exp.Identifier):
        macro = _macro(t.this, c)
        if macro is None:
            raise Unknown(t.sql())   # a table function (read_csv, range, ...)
        return _renamed(macro, t)
    name = ".".join(p.name for p in t.parts).lower()
    if name in ctes:
        return _renamed(ctes[name], t)
    if c.lookup is not None:
        found = c.lookup(name)
        if isinstance(found, str):
            found = _query(sqlglot.parse_one(found, read="duckdb"),
                           Ctx(c.columns, c.sensitive, c.hashed_ok, c.lookup, c.depth + 1), {})
        if found is not None:
            return _renamed(found, t)
    cols = c.columns(name)
    if cols is None:
        raise Unknown(name)
    bare = t.name.lower()
    return _renamed(tuple(Output(col, frozenset({f"{bare}.{col}"}) if c.sensitive(col) else _NONE)
                          for col in cols), t)


def _macro(f: exp.Expression, c: Ctx) -> tuple[Output, ...] | None:
    """What a macro made in this session reveals (``lookup`` knows it as ``name()``)."""
    if not isinstance(f, exp.Anonymous) or c.lookup is None:
        return None
    found = c.lookup(f"{str(f.this).lower()}()")
    return found if isinstance(found, tuple) else None


def _scope(q: exp.Select, c: Ctx, ctes: dict[str, tuple[Output, ...]]) -> Scope:
    scope: Scope = {}
    sources = []
    if q.args.get("from_") is not None:
        sources.append(q.args["from_"].this)
    sources += [j.this for j in q.args.get("joins") or []]
    for s in sources:
        if isinstance(s, exp.Table):
            scope[(s.alias or s.name).lower()] = _table(s, c, ctes)
        elif isinstance(s, exp.Subquery):
            scope[s.alias_or_name.lower()] = _renamed(_query(s.this, c, ctes), s)
        else:
            raise Unknown(s.sql())
    return scope


def _projection(e: exp.Expr, scope: Scope, c: Ctx,
                ctes: dict[str, tuple[Output, ...]]) -> list[Output]:
    star = e if isinstance(e, exp.Star) else e.this if (
        isinstance(e, exp.Column) and isinstance(e.this, exp.Star)) else None
    if star is not None:
        owner = e.table.lower() if isinstance(e, exp.Column) and e.table else ""
        if owner and owner not in scope:
            raise Unknown(owner)
        excluded = star.args.get("except_") or star.args.get("except") or []
        dropped = {x.name.lower() for x in excluded}
        return [o for k, outs in scope.items() if not owner or k == owner
                for o in outs if o.name.lower() not in dropped]
    if isinstance(e, exp.Columns) or (isinstance(e, exp.Alias) and isinstance(e.this, exp.Columns)):
        return [o for outs in scope.values() for o in outs]
    origins, grouped = _expr(e, scope, c, ctes)
    return [Output(e.alias_or_name, origins, grouped)]


def _expr(e: exp.Expr, scope: Scope, c: Ctx, ctes: dict[str, tuple[Output, ...]]
          ) -> tuple[frozenset[str], frozenset[str]]:
    """(origins, grouped) of one expression."""
    if isinstance(e, exp.Column):
        return _column(e, scope), _NONE
    if isinstance(e, (exp.Subquery, exp.Select)):
        inner = _query(e, c, ctes, scope)
        return (frozenset().union(*(o.origins for o in inner)),
                frozenset().union(*(o.grouped for o in inner)))
    if isinstance(e, exp.Columns):
        return frozenset().union(*(o.origins | o.grouped for v in scope.values() for o in v)), _NONE
    if isinstance(e, _COUNTS) and not isinstance(e.parent, exp.Window):
        return _NONE, _NONE
    if isinstance(e, exp.Window) and isinstance(e.this, _COUNTS):
        return _NONE, _NONE
    if isinstance(e, exp.Filter) and isinstance(e.this, (*_COUNTS, *_GROUPED)):
        # ``count(*) FILTER (WHERE email LIKE '%@x.org')``: a count (its condition's guesses
        # are ``inference``'s); ``sum(…) FILTER (…)`` as the sum over those rows
        o, g = _expr(e.this, scope, c, ctes)
        w, v = _expr(e.expression, scope, c, ctes)
        return (_NONE, _NONE) if isinstance(e.this, _COUNTS) else (_NONE, o | g | w | v)
    if _property(e):
        return _NONE, _NONE
    origins: set[str] = set()
    grouped: set[str] = set()
    for child in e.iter_expressions():
        o, g = _expr(child, scope, c, ctes)
        origins |= o
        grouped |= g
    macro = _macro(e, c) if isinstance(e, exp.Anonymous) else None
    for out in macro or ():
        origins |= out.origins
        grouped |= out.grouped
    if isinstance(e, _GROUPED):
        return _NONE, frozenset(origins | grouped)
    if c.hashed_ok and (isinstance(e, _HASHES) or (
            isinstance(e, exp.Anonymous) and str(e.this).lower() in _HASH_NAMES)):
        return _NONE, _NONE
    return frozenset(origins), frozenset(grouped)


def _property(e: exp.Expr) -> bool:
    """A value's length, type or nullness: reveals nothing of what it holds."""
    if isinstance(e, _PROPERTIES):
        return True
    if isinstance(e, exp.Anonymous):
        return str(e.this).lower() in _PROPERTY_NAMES
    return isinstance(e, exp.Is) and isinstance(e.expression, exp.Null)


def _column(col: exp.Column, scope: Scope) -> frozenset[str]:
    name, owner = col.name.lower(), col.table.lower()
    if owner:
        outs = scope.get(owner)
        if outs is None:
            return _NONE   # an outer query's column or a struct field: its own scope decides
        hit = [o for o in outs if o.name.lower() == name]
        return frozenset().union(*(o.origins | o.grouped for o in (hit or outs)))
    for outs in scope.values():
        for o in outs:
            if o.name.lower() == name:
                return o.origins | o.grouped
    if name in scope:   # a whole row: SELECT c FROM customers c, to_json(c), struct_pack(c)
        return frozenset().union(*(o.origins | o.grouped for o in scope[name]))
    return _NONE


def reveals_nothing(e: exp.Expr) -> bool:
    """``e`` is a value's length, type or nullness (``length(email)``): not its content."""
    return _property(e)


__all__ = ["Output", "Unknown", "reveals_nothing", "taint"]
