"""The SQL taint of a ``sqlite3`` statement's output columns, as ``pg_lineage`` gives PostgreSQL's.

Per output column: the sensitive source columns it reveals, from the statement's lineage
(``analyze.sql_taint`` over sqlglot's SQLite reading), tables' columns read with
``pragma_table_info``, views followed through their definitions in ``sqlite_master`` and tables
this session filled with ``CREATE … AS`` (``sql_exports.REMEMBERED``). Any function, operator or
concatenation keeps the taint of what it reads (``'a@b.c' || ssn``, ``replace(ssn, '-', '') * 3``,
``unicode(substr(ssn, 1, 1))``).

Functions the user registered on the connection (``create_function``, ``create_aggregate``,
``create_window_function``; ``create_collation``) run Python whose body the guard cannot read,
like PostgreSQL's C functions: a call of one keeps the taint of its arguments whatever its name,
even one that replaces SQLite's own (``length``, ``count``, the ``like``/``glob``/``regexp``
behind those operators), and an aggregate of them is no count or sum. ``hot`` gives, per such
function, the argument positions a statement fills from sensitive columns (the values the
function then sees are remembered as known, ``sqlite_udf``).

When the lineage cannot be told (a table-valued function such as ``json_each``, SQL sqlglot
cannot read), every output takes the sensitive columns of the tables the statement names that
its text mentions (or reads with ``*``): fail closed, not by output names alone.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlglot import exp

from jupyter_guard.analyze.sql_taint import Output, Unknown, taint
from jupyter_guard.policy.context import bare_table

Taint = list[frozenset[str]]
_OPERATORS: dict[type[exp.Expr], str] = {exp.Like: "like", exp.Glob: "glob",
                                        exp.RegexpLike: "regexp"}


def _tree(sql: str) -> exp.Expr | None:
    from jupyter_guard.hooks.sql_exports import _tree as parse  # late: hooks import connections

    return parse(sql, "sqlite")


class Catalog:
    """The tables' columns and views' definitions of one sqlite3 connection, for one decision."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self._cols: dict[str, tuple[str, ...] | None] = {}
        self._views: dict[str, str | None] = {}

    def columns(self, name: str) -> tuple[str, ...] | None:
        if name not in self._cols:
            schema, _, table = name.rpartition(".")
            try:
                rows = self.raw.execute("SELECT name FROM pragma_table_info(?, ?)" if schema else
                                        "SELECT name FROM pragma_table_info(?)",
                                        (table, schema) if schema else (table,)).fetchall()
            except Exception:  # noqa: BLE001 - no such schema: the taint is unknown
                rows = []
            self._cols[name] = tuple(str(r[0]).lower() for r in rows) or None
        return self._cols[name]

    def view(self, name: str) -> str | None:
        """A view's ``CREATE VIEW`` text, or None."""
        if name not in self._views:
            schema, _, table = name.rpartition(".")
            master = f'"{schema.replace(chr(34), chr(34) * 2)}".sqlite_master' if schema \
                else "sqlite_master"
            found = None
            for m in ((master,) if schema else ("sqlite_temp_master", master)):
                try:
                    row = self.raw.execute(f"SELECT sql FROM {m} WHERE type = 'view' AND "
                                           "lower(name) = ?", (table,)).fetchone()
                except Exception:  # noqa: BLE001 - no such schema: not a view
                    row = None
                if row is not None:
                    found = str(row[0])
                    break
            self._views[name] = found
        return self._views[name]

    def tables(self, tree: exp.Expr) -> list[str]:
        """The names of the tables ``tree`` reads that the catalog knows."""
        out = []
        for t in tree.find_all(exp.Table):
            name = ".".join(p.name for p in t.parts).lower()
            if isinstance(t.this, exp.Identifier) and self.columns(name):
                out.append(name)
        return list(dict.fromkeys(out))


def outputs(tree: exp.Expr, cat: Catalog, policy: Any, depth: int = 0
            ) -> tuple[Output, ...] | None:
    """The outputs of ``tree`` (a query, or a ``CREATE VIEW``'s body); None when unknown."""
    from jupyter_guard.hooks.sql_exports import REMEMBERED  # late: hooks import connections

    def lookup(name: str) -> tuple[Output, ...] | None:
        got = REMEMBERED.get(bare_table(name))
        if got is not None:
            return got
        text = cat.view(name) if depth < 8 else None
        if text is None:
            return None
        view = _tree(text)
        if not isinstance(view, exp.Create):
            raise Unknown(name)
        outs = outputs(view, cat, policy, depth + 1)
        if outs is None:
            raise Unknown(name)
        schema = view.this
        names = [c.name for c in schema.expressions] if isinstance(schema, exp.Schema) else []
        return tuple(Output(names[i] if i < len(names) else o.name, o.origins, o.grouped)
                     for i, o in enumerate(outs))

    try:
        return taint(tree, cat.columns, policy.is_sensitive_column,
                     hashed_ok=policy.hashed_ids == "allow", lookup=lookup)
    except Unknown:
        return None
    except Exception:  # noqa: BLE001 - an unexpected tree: the caller fails closed
        return None


def name_of(node: exp.Expr) -> frozenset[str]:
    """The names a call or operator node runs under (a user function registered under one of
    them replaces SQLite's own)."""
    if isinstance(node, exp.Anonymous):
        return frozenset({str(node.this).lower()})
    for kind, name in _OPERATORS.items():
        if isinstance(node, kind):
            return frozenset({name})
    if isinstance(node, exp.Collate):
        return frozenset({str(node.expression.name).lower()})
    if isinstance(node, exp.Func):
        return frozenset(n.lower() for n in node.sql_names())
    return frozenset()


def calls(tree: exp.Expr, names: Iterable[str]) -> list[tuple[str, exp.Expr]]:
    """(name, node) of each call in ``tree`` of a function (or collation) named in ``names``."""
    wanted = frozenset(n.lower() for n in names)
    if not wanted:
        return []
    return [(n, node) for node in tree.walk() if isinstance(node, exp.Expr)
            for n in sorted(name_of(node) & wanted)]


def arguments(node: exp.Expr) -> list[exp.Expr]:
    if isinstance(node, exp.Collate):
        return [node.this]
    if isinstance(node, exp.Anonymous):
        return list(node.expressions)
    return [a for a in node.iter_expressions() if not isinstance(a, exp.Window)]


def arg_taint(node: exp.Expr, cat: Catalog, policy: Any) -> Taint | None:
    """The taint of each argument of a call, read in the ``SELECT`` around it (its sources and
    filter; None when it cannot be told)."""
    args = arguments(node)
    select = node.find_ancestor(exp.Select)
    if select is None or not args:
        return None if args else []
    probe = select.copy()
    probe.set("expressions", [exp.alias_(a.copy(), f"_jg_a{i}") for i, a in enumerate(args)])
    for k in ("order", "limit", "offset", "distinct", "group", "having"):
        probe.set(k, None)
    outs = outputs(probe, cat, policy)
    if outs is None or len(outs) != len(args):
        return None
    return [o.origins | o.grouped for o in outs]


# (id(connection), text, names, functions, policy) -> (the connection, its schema key, taint)
_SEEN: dict[tuple[Any, ...], tuple[Any, tuple[Any, ...], Taint]] = {}


def _schema_key(raw: Any) -> tuple[Any, ...]:
    """Every database's ``schema_version`` (SQLite counts each schema change there), and the
    tables this session remembered the lineage of."""
    from jupyter_guard.hooks.sql_exports import REMEMBERED  # late: hooks import connections

    dbs = [str(r[1]) for r in raw.execute("PRAGMA database_list").fetchall()]
    return tuple(raw.execute(f'PRAGMA "{d.replace(chr(34), chr(34) * 2)}".schema_version'
                             ).fetchone()[0] for d in dbs) + (tuple(dbs), frozenset(REMEMBERED))


def taint_of(sql: str, raw: Any, names: list[str], policy: Any,
             functions: Iterable[str] = ()) -> Taint:
    """Per output column of ``sql`` (``names``: the cursor's description): the sensitive source
    columns it reveals. ``functions``: the names the user registered on the connection. Kept per
    text while no database of the connection changed its schema."""
    key = (id(raw), sql, tuple(names), frozenset(functions), id(policy))
    schema = _schema_key(raw)
    hit = _SEEN.get(key)
    if hit is not None and hit[0] is raw and hit[1] == schema:
        return list(hit[2])
    taint = _taint_of(sql, raw, names, policy, functions)
    if len(_SEEN) >= 512:
        _SEEN.clear()
    _SEEN[key] = (raw, schema, list(taint))
    return taint


def _taint_of(sql: str, raw: Any, names: list[str], policy: Any,
              functions: Iterable[str]) -> Taint:
    cat = Catalog(raw)
    tree = _tree(sql)
    got = outputs(tree, cat, policy) if tree is not None else None
    if got is None or len(got) != len(names):
        return _unknown(sql, tree, cat, names, policy)
    from jupyter_guard.hooks.sql_exports import revealed  # late: hooks import connections

    out = revealed(got, tree, _Probe(raw), policy) if tree is not None else \
        [o.origins for o in got]
    user = calls(tree, functions) if tree is not None else []
    if not user:
        return out
    selects = list(getattr(tree, "selects", None) or [])
    for _, node in user:
        t = arg_taint(node, cat, policy)
        every = frozenset().union(*t) if t is not None else _read(sql, tree, cat, policy)
        if not every:
            continue
        top = next((i for i, e in enumerate(selects) if node is e or
                    any(node is d for d in e.walk())), None) if len(selects) == len(out) \
            else None
        if top is None:   # in a filter or order only: it changes no output's value
            continue
        out[top] = out[top] | every
    return out


def derived(sql: str, n: int) -> list[bool]:
    """Per output of ``sql`` (``n`` of them): whether it is computed (not a bare column), its
    values then spelt otherwise than the column's (masked whole, as ``exits.spelt``)."""
    tree = _tree(sql)
    selects = list(getattr(tree, "selects", None) or [])
    if len(selects) != n or any(isinstance(e, exp.Star) or (isinstance(e.unalias(), exp.Column)
                                and isinstance(e.unalias().this, exp.Star)) for e in selects):
        return [False] * n
    return [not isinstance(e.unalias(), exp.Column) for e in selects]


def _read(sql: str, tree: exp.Expr | None, cat: Catalog, policy: Any) -> frozenset[str]:
    """The sensitive columns of the tables ``sql`` names that its text mentions (every one of
    a table it reads with ``*``)."""
    if tree is None:
        return frozenset({"?"})
    words = set(re.findall(r"[a-z_][a-z0-9_$]*", sql.lower()))
    star = "*" in sql
    return frozenset(f"{bare_table(t)}.{c}" for t in cat.tables(tree) for c in cat.columns(t) or ()
                     if policy.is_sensitive_column(c) and (star or c in words))


def _unknown(sql: str, tree: exp.Expr | None, cat: Catalog, names: list[str],
             policy: Any) -> Taint:
    every = _read(sql, tree, cat, policy)
    return [every | (frozenset({n.lower()}) if policy.is_sensitive_column(n) else frozenset())
            for n in names]


class _Probe:
    """The connection ``sql_exports.revealed`` counts groups on (the guard's own read)."""

    dialect = "sqlite"

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def scalar(self, sql: str) -> Any:
        row = self.raw.execute(sql).fetchone()
        return row[0] if row else None
