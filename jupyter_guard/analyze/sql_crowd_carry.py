"""The person a crowd probe counts, carried up from the stored table (issue 15, red team 21).

A crowd probe (``analyze.sql_crowd``) counts, on DuckDB, ``HASH(c)`` of the source ``c`` the
checked column is read from. Where ``c`` is a derived table, a CTE or a view, that is the hash of
*its* row: ``WITH c AS (SELECT id, email, 'x' AS pad FROM customers)`` hashes rows that no
query on ``customers`` itself ever hashes, so two answers differing by one person look disjoint.
``carry`` rewrites the probe so that the person is always the stored table's row, whatever the
levels between: each derived level (a subquery, a CTE, a view by its definition) becomes a
subquery that passes a ``_jg_p<n>`` column up, computed once at the bottom from the stored
table. A level that merges rows (``GROUP BY``, ``DISTINCT``, an aggregate, ``HAVING``) or can
repeat one (a join, a set operation, ``UNNEST``, a table function) has no single stored row per
output row: it is refused.

The person at the bottom is the whole row's hash (``HASH(t)``: the same for an exact copy of the
table, so a copy is compared with its original), or, where the caller knows every row of the
table is a distinct person (a primary key), the cheaper ``HASH(t.<key>, t.<checked columns>)``,
which reads no other column (the key's values, not ``rowid``: a row keeps its person when
DuckDB compacts its storage, and a keyed copy of the table is compared with it). ``carry`` also
says whether every row counted is then a distinct person (that one, and no join repeating it),
so that the sketch need not make them distinct.

Pure: sqlglot trees in.

>>> import sqlglot
>>> t = sqlglot.parse_one("WITH c AS (SELECT id, email, 'x' AS pad FROM customers) "
...                       "SELECT COUNT(DISTINCT HASH(c)) FROM c", read="duckdb")
>>> who, fast = carry(t, "c", {}, lambda name: [], ["email"])
>>> who.sql("duckdb"), fast
('c._jg_p0', False)
>>> t.find(exp.From).sql("duckdb")
"FROM (SELECT id, email, 'x' AS pad, HASH(customers) AS _jg_p0 FROM customers) AS c"
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import sqlglot
from sqlglot import exp

from jupyter_guard.analyze.sql_crowd_rows import sources

_DEPTH = 8
_REPEATS = (exp.Join, exp.SetOperation, exp.Unnest, exp.Explode, exp.GenerateSeries,
            exp.Lateral, exp.Pivot)


def _cte(node: exp.Table) -> exp.CTE | None:
    """The CTE ``node`` names, the nearest first."""
    at: exp.Expr | None = node
    while at is not None:
        w = at.args.get("with_") or at.args.get("with")
        for cte in (w.expressions if w is not None else []):
            if isinstance(cte, exp.CTE) and cte.alias_or_name.lower() == node.name.lower():
                return cte
        at = at.parent
    return None


def _merges(body: exp.Select) -> str:
    """Why ``body`` has no single stored row per row it gives ('' when it has)."""
    if body.find(*_REPEATS):
        return "a join, a set operation or an UNNEST"
    if body.args.get("group") or body.args.get("having") or body.args.get("distinct"):
        return "GROUP BY, DISTINCT or HAVING"
    if any(a.find_ancestor(exp.Window) is None for o in body.expressions
           for a in o.find_all(exp.AggFunc)):
        return "an aggregate"
    return ""


def _definition(table: exp.Table, views: Mapping[str, Sequence[str]]) -> exp.Expr | None:
    """The query a view named like ``table`` stands for (None: a stored table); a name that
    stands for several views or a view and a table (``views`` holds '' for a table), or a view
    that cannot be read, is ``NULL``: refused by the caller."""
    name = ".".join(p.name for p in table.parts).lower()
    texts = views.get(name) or []
    if not any(texts):   # a stored table (its entry is empty) or no view of that name
        return None
    if len(texts) != 1:
        return exp.Null() if texts else None
    try:
        made = sqlglot.parse_one(texts[0], read="duckdb")
    except sqlglot.errors.ParseError:
        return exp.Null()
    body = made.args.get("expression") if isinstance(made, exp.Create) else None
    return body if isinstance(body, exp.Query) else exp.Null()


def carry(inner: exp.Select, alias: str, views: Mapping[str, Sequence[str]],
          keyed: Callable[[exp.Table], Sequence[str]],
          names: Sequence[str]) -> tuple[exp.Expr, bool] | str:
    """Rewrite ``inner`` (the probe's counting ``SELECT``, changed in place) so that the source
    named ``alias`` passes its stored table's person up; (the person expression for ``inner``,
    whether each row counted is a distinct person), or why no stored row stands behind each
    row."""
    src = next((s for s in sources(inner) if s.alias_or_name.lower() == alias.lower()), None)
    if src is None:
        return "read from a table the guard cannot tell"
    levels: list[exp.Select] = []   # derived levels, outermost first
    at: exp.Expr = src
    for _ in range(_DEPTH):
        body: exp.Expr | None = None
        if isinstance(at, exp.Subquery):
            body = at.this
            if not at.alias:   # ``FROM (SELECT …)``: named, so its person can be read
                at.set("alias", exp.TableAlias(this=exp.to_identifier(f"_jg_d{len(levels)}")))
        elif isinstance(at, exp.Table) and isinstance(at.this, exp.Identifier):
            cte = _cte(at) if not at.db else None
            body = cte.this if cte is not None else _definition(at, views)
            if isinstance(body, exp.Null):
                return ("drawn from a name that stands for several views or for a view and a "
                        "table (qualify it: main.customers), or a view the guard cannot read")
            if body is not None:   # a CTE's column names stay its own: ``WITH c(i, m) AS``
                named = cte.args.get("alias") if cte is not None else None
                cols = [c.copy() for c in named.columns] if named is not None else []
                body = body.copy()
                at = at.replace(exp.Subquery(this=body, alias=exp.TableAlias(
                    this=exp.to_identifier(at.alias_or_name), columns=cols)))
        else:
            return "read from a table function"
        if body is None:
            break   # a stored table
        if not isinstance(body, exp.Select):
            return "drawn from a view or derived table that can repeat a row (a set operation)"
        why = _merges(body)
        if why:
            return f"drawn from a view or derived table with {why}: no one stored row per row"
        nxt = sources(body)
        if len(nxt) != 1:
            return "drawn from a derived table without one table in FROM"
        levels.append(body)
        at = nxt[0]
    else:
        return "drawn through too many derived tables"
    base = at
    if not isinstance(base, exp.Table) or not isinstance(base.this, exp.Identifier):
        return "read from a table function"
    row = exp.column(base.alias_or_name)
    key = list(keyed(base)) if names else []
    per_row = bool(key)
    if per_row:   # the same person whether or not a join repeats it (then made distinct)
        # read under the table's own column names, whatever the query renames (``keyed t(a, b)``)
        own = base.copy()
        own.set("alias", None)
        person: exp.Expr = exp.func("HASH", *(exp.column(n, table=own.name)
                                              for n in [*key, *names]))
        wrap = exp.select(exp.Star(), exp.alias_(person, "_jg_b")).from_(own)
        named = base.args.get("alias")
        base.replace(exp.Subquery(this=wrap, alias=exp.TableAlias(
            this=exp.to_identifier(base.alias_or_name),
            columns=[c.copy() for c in named.columns] if named is not None else [])))
        person = exp.column("_jg_b", table=base.alias_or_name)
    else:
        person = exp.func("HASH", row)
    for n, body in enumerate(reversed(levels)):
        body.set("expressions", [*body.expressions, exp.alias_(person, f"_jg_p{n}")])
        up = body.parent
        person = exp.column(f"_jg_p{n}", table=up.alias_or_name if up is not None else alias)
    return person, per_row and len(sources(inner)) == 1


__all__ = ["carry"]
