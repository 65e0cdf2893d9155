"""Constraints that judge written values by the user's own constants (issue 15, item 3; red team
19): ``CREATE TEMP TABLE c (x VARCHAR CHECK (x <> '123456789'))`` then ``INSERT INTO c SELECT
ssn FROM customers`` fails exactly when a customer's SSN is the guess; ``CHECK (x < G)`` with
one customer's row recovers the SSN by bisection in about 30 statements. A ``PRIMARY KEY``,
``UNIQUE`` key or unique index over a column that holds guesses (a collision), a ``FOREIGN
KEY`` into a table of guesses, and an ``ENUM`` (or user-typed) column do the same, and so do
their quiet forms (``ON CONFLICT DO NOTHING``, ``INSERT OR IGNORE``, then a count).

Decided by effect, on the catalog: a write (``INSERT``, ``UPDATE``, ``MERGE``) into a column a
judging constraint covers, when that constraint's columns hold values of a sensitive column
after the write (the lineage ``hooks.taint_ddl`` follows: the values written now or earlier;
guesses written into a key over SSNs collide as SSNs written into a key over guesses do), is
reported as a comparison of that sensitive column with a guess (``sql.predicate``), which the
``inference`` rule refuses for roles that may not unmask. ``NOT NULL`` judges no value. A table
made earlier in the same text is read from its ``CREATE`` statement (``remember_created``).

DuckDB's catalog is read here (``duckdb_constraints()``, ``duckdb_indexes()``,
``duckdb_columns()``); PostgreSQL's in ``guard.oracles_pg``, SQLite's in ``guard.oracles_sqlite``
(``engine_catalog``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from jupyter_guard.analyze.sql_oracles import user_type
from jupyter_guard.guard import oracle_keys, oracles_ddl
from jupyter_guard.model import Intent
from jupyter_guard.policy.rules import bare_table

if TYPE_CHECKING:
    from jupyter_guard.guard.enrich import Catalog

# table (bare, lower-case) -> groups of columns judged together, from CREATE statements read here
_CREATED: dict[str, list[tuple[str, frozenset[str]]]] = {}
_COLUMNS: dict[str, list[str]] = {}   # the same tables' columns, in order
_KEYS = (exp.PrimaryKeyColumnConstraint, exp.UniqueColumnConstraint, exp.CheckColumnConstraint,
         exp.Reference)


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def remember_created(tree: exp.Expr) -> None:
    """``CREATE TABLE t (x … CHECK/PRIMARY KEY/UNIQUE/REFERENCES …, y ENUM(…))``: what judges
    ``t``'s written values, for a write later in the same text (the catalog has no ``t`` yet).

    >>> import sqlglot
    >>> remember_created(sqlglot.parse_one(
    ...     "CREATE TABLE t (id INT PRIMARY KEY, x VARCHAR CHECK (x <> 'a'), y VARCHAR)"))
    >>> sorted(_CREATED['t'])
    [('CHECK', frozenset({'x'})), ('PRIMARY KEY', frozenset({'id'}))]
    """
    if not isinstance(tree, exp.Create) or not isinstance(tree.this, exp.Schema):
        return
    name = bare_table(".".join(p.name for p in tree.this.this.parts)) \
        if isinstance(tree.this.this, exp.Table) else ""
    if not name:
        return
    found: list[tuple[str, frozenset[str]]] = []
    _COLUMNS[name] = [e.name.lower() for e in tree.this.expressions if isinstance(e, exp.ColumnDef)]
    for e in tree.this.expressions:
        if isinstance(e, exp.ColumnDef):
            col = e.name.lower()
            found += oracles_ddl.created_generated(e)   # computed with a guess: like a CHECK
            if user_type(e.args.get("kind")):
                found.append(("ENUM", frozenset({col})))
            for c in e.args.get("constraints") or []:
                kind = c.args.get("kind")
                if isinstance(kind, _KEYS):
                    more = {x.name.lower() for x in kind.find_all(exp.Column)}
                    label = "CHECK" if isinstance(kind, exp.CheckColumnConstraint) else \
                        "FOREIGN KEY" if isinstance(kind, exp.Reference) else \
                        "PRIMARY KEY" if isinstance(kind, exp.PrimaryKeyColumnConstraint) \
                        else "UNIQUE"
                    found.append((label, frozenset({col} | (more if label == "CHECK" else set()))))
        elif isinstance(e, (exp.PrimaryKey, exp.UniqueColumnConstraint, exp.ForeignKey,
                            exp.Constraint, exp.CheckColumnConstraint)):
            cols = frozenset(x.name.lower() for x in e.find_all(exp.Column, exp.Identifier)
                             if not isinstance(x.parent, exp.Table))
            found.append((type(e).__name__.upper(), cols or frozenset({"*"})))
    if found:
        _CREATED[name] = found
    else:
        _CREATED.pop(name, None)


def _catalog(table: str, cat: Catalog) -> list[tuple[str, frozenset[str]]]:
    """The judging constraints of ``table`` the database holds (``*``: every column)."""
    key = bare_table(table)
    name = key.rsplit(".", 1)[-1]
    where = f"table_name = {_q(name)}"
    found: list[tuple[str, frozenset[str]]] = []
    try:
        for kind, cols in cat.conn.rows(
                "SELECT constraint_type, constraint_column_names FROM duckdb_constraints() "
                f"WHERE {where} AND constraint_type <> 'NOT NULL'"):
            found.append((str(kind), frozenset(str(c).lower() for c in cols or ()) or
                          frozenset({"*"})))
        for (exprs,) in cat.conn.rows(
                f"SELECT expressions FROM duckdb_indexes() WHERE {where} AND is_unique"):
            cols = frozenset(p.strip(" []\"'").lower() for p in str(exprs).split(","))
            found.append(("UNIQUE INDEX", cols if all(c.isidentifier() for c in cols)
                          else frozenset({"*"})))
        for col, typ in cat.conn.rows(
                f"SELECT column_name, data_type FROM duckdb_columns() WHERE {where} AND ("
                "data_type LIKE 'ENUM%' OR data_type IN (SELECT type_name FROM duckdb_types() "
                "WHERE NOT internal))"):
            found.append((f"type {typ}"[:40], frozenset({str(col).lower()})))
    except Exception:  # noqa: BLE001 - the catalog could not be read: only the CREATEs seen here count
        pass
    found += oracles_ddl.generated(table, cat)   # generated columns computed with a guess
    return found + _CREATED.get(key, []) + (_CREATED.get(name, []) if name != key else [])


def _written(tree: exp.Expr | None) -> tuple[str, frozenset[str]] | None:
    """The table a write changes and the columns it writes (``*``: every column)."""
    if isinstance(tree, exp.Insert):
        target = tree.this
        if isinstance(target, exp.Schema):
            return _name(target.this), frozenset(e.name.lower() for e in target.expressions)
        return _name(target), frozenset({"*"})
    if isinstance(tree, exp.Update):
        return _name(tree.this), frozenset(
            e.this.name.lower() for e in tree.expressions if isinstance(e, exp.EQ))
    if isinstance(tree, exp.Merge):
        return _name(tree.this), frozenset({"*"})
    return None


def _name(t: exp.Expr) -> str:
    return ".".join(p.name for p in t.parts) if isinstance(t, exp.Table) else ""


def judged(i: Intent, cat: Catalog) -> tuple[Intent, ...]:
    """Comparisons (``sql.predicate``) of each sensitive column whose values a judging
    constraint of the written table meets after write ``i``; () when none."""
    from jupyter_guard.hooks.sql_exports import _tree
    from jupyter_guard.hooks.taint_ddl import _current

    if cat.conn.kind.dialect == "duckdb":
        oracle_keys.note_type(i, cat)   # a user type that names a built-in one judges nothing
    if i.action not in ("sql.insert", "sql.update", "sql.merge") or cat.policy is None or \
            cat.conn.kind.dialect not in _ENGINES:
        return ()
    tree = _tree(i.source or "")
    w = _written(tree)
    if w is None or not w[0]:
        return ()
    table, cols = w
    oracle_keys.note_fill(table, i.source or "")
    outs = _current(table, cat, cat.policy) or ()
    holds = {o.name.lower(): o.origins for o in outs}
    refs = oracle_keys.referenced(table, cols, i.source or "", cat)
    if refs:   # a foreign key into a key over sensitive values: a written guess is judged
        return refs
    for col, origins in _new(tree, table, cols, cat).items():   # what this write puts there
        holds[col] = holds.get(col, frozenset()) | origins
    if not any(holds.values()):
        return ()   # no sensitive value there after the write: nothing for a constraint to judge
    constraints = engine_catalog(table, cat)
    if not constraints:
        return ()
    real = set(cat.columns_anywhere(table) or _COLUMNS.get(bare_table(table)) or ())
    stray = [o for n, o in holds.items() if real and n != "*" and n not in real and o]
    if stray:   # lineage remembered under names the table has not: held somewhere in it
        holds["*"] = frozenset().union(holds.get("*", frozenset()), *stray)
    out: dict[str, Intent] = {}
    keys = [c for k, c in constraints if k in oracle_keys.KEY_KINDS]
    pure = bool(keys) and oracle_keys.pure_fill(tree, table, keys, i.source or "", cat,
                                                _CREATED, _COLUMNS)
    for kind, covered in constraints:
        if "*" not in cols and "*" not in covered and not covered & cols:
            continue   # this write puts no value under this constraint
        if pure and kind in oracle_keys.KEY_KINDS:
            continue   # an empty key filled with sensitive values only: no guess to collide
        names = holds if "*" in covered or "*" in holds else \
            {c: holds.get(c, frozenset()) for c in covered}
        for col, origins in names.items():
            for origin in sorted(origins):
                if origin not in out:
                    out[origin] = Intent(
                        "sql.predicate", "column", origin, (origin,), detail="",
                        source=f"{kind} of {table}.{col}: {(i.source or '')[:120]}")
    return tuple(out.values())


def _new(tree: exp.Expr | None, table: str, cols: frozenset[str],
         cat: Catalog) -> dict[str, frozenset[str]]:
    """The sensitive origins an ``INSERT … SELECT`` writes into each column of ``table`` (by the
    listed columns, else the table's own order); every column's when the order is unknown."""
    from jupyter_guard.hooks.taint_ddl import _inserted

    if not isinstance(tree, exp.Insert) or tree.args.get("expression") is None:
        return {}
    src = tree.args["expression"]
    rows = [r for r in src.expressions if isinstance(r, exp.Tuple)] \
        if isinstance(src, exp.Values) else []
    if rows:   # ``VALUES ((SELECT ssn FROM customers WHERE id = 12))``: each row as a query
        query: exp.Expr = exp.select(*[e.copy() for e in rows[0].expressions])
        for r in rows[1:]:
            query = exp.union(query, exp.select(*[e.copy() for e in r.expressions]),
                              distinct=False)
        values = _inserted(query, cat, cat.policy) or ()
    else:
        values = _inserted(tree.copy(), cat, cat.policy) or ()
    if not any(v.origins for v in values):
        return {}
    target = tree.this
    listed = [e.name.lower() for e in target.expressions] if isinstance(target, exp.Schema) \
        else []
    key = bare_table(table)
    order = listed or _COLUMNS.get(key) or list(cat.columns_anywhere(table) or ())
    if len(order) < len(values):
        every = frozenset().union(*(v.origins for v in values))
        return {"*": every}
    return {c: v.origins for c, v in zip(order, values)}


# --- PostgreSQL and SQLite (pgcon20): the same decision on their own catalogs -----------------
_ENGINES = ("duckdb", "postgres", "sqlite")


def engine_catalog(table: str, cat: Catalog) -> list[tuple[str, frozenset[str]]]:
    """The judging constraints of ``table`` on the connection's engine (``guard.oracles_pg``,
    ``guard.oracles_sqlite``), with those of a ``CREATE`` read earlier in the same text. A
    PostgreSQL or SQLite catalog that cannot be read counts as a constraint over every column:
    the write already holds a sensitive column's values, so it is refused, never let through."""
    dialect = cat.conn.kind.dialect
    if dialect == "duckdb":
        return _catalog(table, cat)
    from jupyter_guard.guard import oracles_pg, oracles_sqlite

    read = oracles_pg.constraints if dialect == "postgres" else oracles_sqlite.constraints
    try:
        found = read(table, cat.conn.rows)
    except Exception as e:
        if dialect == "postgres" and oracles_pg.aborted(e):
            raise   # the driver's own "transaction is aborted": the statement is not run
        found = [("catalog unreadable", frozenset({"*"}))]   # judged as constrained: refused
    key = bare_table(table)
    name = key.rsplit(".", 1)[-1]
    return found + _CREATED.get(key, []) + (_CREATED.get(name, []) if name != key else [])


def note_created(i: Intent) -> None:
    """Read a ``CREATE TABLE`` intent's statement for its judging constraints."""
    if i.action not in ("sql.create", "sql.replace") or "(" not in (i.source or ""):
        return
    from jupyter_guard.hooks.sql_exports import _tree

    tree = _tree(i.source) or oracles_ddl.reparsed(i.source)   # ``… AS (…) VIRTUAL``
    if tree is not None:
        remember_created(tree)
        oracle_keys.remember_refs(tree)


__all__ = ["judged", "note_created", "remember_created"]
