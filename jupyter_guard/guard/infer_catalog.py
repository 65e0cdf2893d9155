"""What a ``sql.predicate`` intent compares, by the catalog: a whole row (``customers.*``, from
``c::VARCHAR LIKE …``, ``to_json(c)``, ``COLUMNS(*)``) is every column of its table, or those a
``COLUMNS('re')`` pattern matches; a column of a view is what the view's definition computes it
from, however and wherever the view was made (another cell, another connection, another
process), views of views included. The ``inference`` rule then decides on each.

A table the catalog does not know keeps its ``*`` (no column of it is known to be sensitive).
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from jupyter_guard.analyze.sql_normal import normal, positional
from jupyter_guard.analyze.sql_sides import Sides
from jupyter_guard.analyze.sql_sources import _columns_of, _Derived, _naming
from jupyter_guard.guard.frames import frame_columns
from jupyter_guard.model import Intent
from jupyter_guard.policy.rules import bare_table

if TYPE_CHECKING:
    from jupyter_guard.guard.enrich import Catalog

_DEPTH = 8   # views of views followed


def predicates(i: Intent, cat: Catalog) -> tuple[Intent, ...]:
    """``i`` as the table columns it compares (itself first, then what its view reads); a
    comparison with table columns (detail ``against?:``/``rank?:``) with those columns checked
    against the catalog (``against:``/``rank:``, ``_checked``)."""
    names: list[str] = []
    for n in _rows(i.target, i.detail, cat):
        for m in _through_views(n, cat, _DEPTH):
            if m not in names:
                names.append(m)
    if i.detail.startswith("crowd"):   # a check with no guess: asked of a crowd?
        from jupyter_guard.guard.infer_crowd import measured

        return measured(i, names, cat)
    detail = i.detail if i.detail == "order" else ""
    if i.detail.startswith(("against?:", "rank?:")):
        kind, _, leaves = i.detail.partition("?:")
        if i.target.endswith(".*") and all(v.endswith(".*") for v in leaves.split(",")):
            return _rows_met(i, leaves.split(","), cat)
        detail = f"{kind}:{','.join(_checked(leaves.split(','), cat))}"
    elif names == [i.target]:
        return (i,)
    return tuple(i.with_(target=n, columns=(n,), detail=detail) for n in names)


def _rows_met(i: Intent, others: list[str], cat: Catalog) -> tuple[Intent, ...]:
    """Whole rows that meet (``NATURAL JOIN``, ``c = g``): each column of ``i``'s table with the
    same-named columns of the others; a DataFrame DuckDB scans by name is a guess for the
    columns it shares, and a source whose columns are unknown is a guess for every column."""
    mine = _rows(i.target, "", cat)
    out: list[Intent] = []
    for n in mine:
        col = n.rpartition(".")[2]
        leaves: list[str] = []
        for other in others:
            table = other[:-2]
            cols = cat.columns_anywhere(table)
            frame = cat.frames.get(table) if cat.frames is not None and cols is None and \
                table.isidentifier() else None
            if cols is None and frame is not None:
                cols = frame_columns(frame)
                if cols is not None and col in cols:
                    leaves.append(f"!frame:{table}")
                continue
            if cols is None or col == "*":
                leaves.append(f"!unknown:{table}")
            elif col in cols:
                leaves += _checked([f"{table}.{col}"], cat)
        if leaves:
            out.append(i.with_(target=n, columns=(n,), detail="against:" + ",".join(leaves)))
    return tuple(out)


def _checked(leaves: list[str], cat: Catalog, depth: int = _DEPTH) -> list[str]:
    """The leaves of a compared side as the catalog knows them: a column of a real table (a
    view's column: the leaves of what its definition computes it from), or a guess (``!``: a
    name the database holds no table column of, such as a DataFrame DuckDB scans by name)."""
    out: list[str] = []
    for leaf in leaves:
        if leaf.startswith("!") or not leaf:
            found = [leaf or "!unknown"]
        else:
            found = []
            for alt in leaf.split("|"):
                found = _one_leaf(alt, cat, depth)
                if found and not all(f.startswith("!") for f in found):
                    break
        out += [f for f in found if f not in out]
    return out or ["!unknown"]


def _one_leaf(leaf: str, cat: Catalog, depth: int) -> list[str]:
    table, _, col = positional(leaf, cat.columns_anywhere).rpartition(".")
    if not table:
        return [f"!unplaced:{leaf}"]
    defs = views(cat).get(table.lower()) or views(cat).get(bare_table(table))
    if defs:
        if depth <= 0:
            return ["!too-deep"]
        return _checked([v for create in defs for v in view_leaves(
            create, col, cat.conn.kind.dialect)], cat, depth - 1)
    cols = cat.columns_anywhere(table)
    if not cols:
        return [f"!not-a-table:{table}"]
    if col == "*":
        return [f"{bare_table(table)}.{c}" for c in cols]
    return [f"{bare_table(table)}.{col}" if col in cols else f"!no-column:{leaf}"]


def _rows(target: str, detail: str, cat: Catalog) -> list[str]:
    target = positional(target, cat.columns_anywhere)   # ``customers.#3``: its third column
    if not target.endswith(".*"):
        return [target]
    table = target[:-2]
    cols = cat.columns_anywhere(table)
    if not cols:
        return [target]
    if detail.startswith("columns:"):
        try:
            pattern = re.compile(detail[len("columns:"):], re.I)
        except re.error:   # a pattern Python reads otherwise than DuckDB: every column
            pattern = re.compile("")
        cols = tuple(c for c in cols if pattern.search(c))
    return [f"{bare_table(table)}.{c}" for c in cols]


def _through_views(name: str, cat: Catalog, depth: int) -> list[str]:
    table, _, col = name.rpartition(".")
    defs = views(cat).get(table.lower()) or views(cat).get(bare_table(table)) if table else None
    if not defs or depth <= 0:
        return [name]
    out = [name]
    for create in defs:
        for src in view_sources(create, col, cat.conn.kind.dialect):
            for n in _rows(src, "", cat):   # ``customers.*``, ``customers.#3``
                out += [m for m in _through_views(n, cat, depth - 1) if m not in out]
    return out


# PostgreSQL's views (and materialized views), each as the ``CREATE VIEW`` text it stands for
PG_VIEWS = ("SELECT current_database()::text, n.nspname::text, c.relname::text, "
            "'CREATE VIEW ' || pg_catalog.quote_ident(c.relname) || ' AS ' || "
            "pg_catalog.pg_get_viewdef(c.oid) FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('v', 'm') "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema')")


def views(cat: Catalog) -> dict[str, list[str]]:
    """The database's views (DuckDB's, PostgreSQL's), by name (bare and qualified): the texts
    that define them."""
    if cat._views is None:
        cat._views = {}
        dialect = cat.conn.kind.dialect
        if dialect in ("duckdb", "postgres"):
            try:
                rows = cat.conn.rows(PG_VIEWS if dialect == "postgres" else
                                     "SELECT database_name, schema_name, view_name, sql "
                                     "FROM duckdb_views() WHERE NOT internal")
            except Exception:  # noqa: BLE001 - no views known: columns are read as a table's
                rows = []
            for db, schema, view, sql in rows:
                keys = {str(view).lower(), f"{schema}.{view}".lower(),
                        f"{db}.{schema}.{view}".lower()}
                if str(schema).lower() in ("main", "public"):
                    keys.add(f"{db}.{view}".lower())
                for k in keys:
                    cat._views.setdefault(k, []).append(str(sql))
    return cat._views


def view_sources(create: str, column: str, dialect: str = "duckdb") -> list[str]:
    """The table columns output ``column`` of a view stands for, from the view's definition as
    the catalog keeps it (``*``: every output); [] when the text does not read as a view.

    >>> view_sources("CREATE VIEW v(k, m) AS SELECT c.id, c.email FROM customers c", "m")
    ['customers.email']
    >>> view_sources("CREATE VIEW w AS SELECT ssn AS n, 'x' AS z FROM customers", "*")
    ['customers.ssn']
    """
    read = _view_outputs(create, column, dialect)
    if read is None:   # a definition sqlglot cannot read: the view is read as a table
        return []
    query, pairs = read
    derived = _Derived(query)
    names = _naming(query, derived)
    found: list[str] = []
    for e, sel in pairs:
        derived.budget = 64
        cs = [exp.Column(this=exp.Star())] if isinstance(e, exp.Star) else \
            [e] if isinstance(e, exp.Column) else _columns_of(e)
        found += [n for c in cs for n in names(c, sel) if n not in found]
    return found


def view_leaves(create: str, column: str, dialect: str = "duckdb") -> list[str]:
    """The leaves (``analyze.sql_sides``) of output ``column`` of a view, from its definition;
    ``!unreadable`` when the text does not read as a view.

    >>> view_leaves("CREATE VIEW v AS SELECT lower(email) AS m FROM customers", "m")
    ['customers.email']
    >>> view_leaves("CREATE VIEW g AS SELECT range::VARCHAR AS s FROM range(9)", "s")
    ['!range']
    """
    read = _view_outputs(create, column.lower(), dialect)
    if read is None:   # a definition sqlglot cannot read: its values are unknown
        return ["!unreadable"]
    query, pairs = read
    sides = Sides(query)
    found: list[str] = []
    for e, sel in pairs:
        sides.budget = 256
        found += [n for n in sorted(sides.value(e, sel)) if n not in found]
    return found or ["!unknown"]


def _view_outputs(create: str, column: str,
                  dialect: str) -> tuple[exp.Query, list[tuple[Any, Any]]] | None:
    """A view definition's query and the (expression, select) pairs behind output ``column``
    (``*``: every output); None when the text does not read as a view."""
    from jupyter_guard.analyze.sql import _parse  # the analysis' own cache

    try:
        trees = _parse(create, dialect if dialect == "postgres" else "duckdb")
    except Exception:  # noqa: BLE001 - not readable: the callers decide what that means (None)
        return None
    tree = normal(trees[0]) if trees and trees[0] is not None else None   # ``t(a, b, c)``
    if not isinstance(tree, exp.Create) or not isinstance(tree.expression, exp.Query):
        return None
    target = tree.this
    cols = [c.name.lower() for c in target.expressions if isinstance(c, exp.Identifier)] \
        if isinstance(target, exp.Schema) else []
    query = tree.expression
    outs = _Derived._projections(query, cols)
    pairs = [p for ps in outs.values() for p in ps] if column == "*" else outs.get(
        column, [(exp.column(column), inner) for _e, inner in outs.get("*", [])])
    return query, pairs
