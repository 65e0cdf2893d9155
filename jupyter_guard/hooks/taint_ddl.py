"""Taint that statements move between tables: after them, later reads and exports of the changed
table (or macro) see where its columns' values came from.

- ``ALTER TABLE t RENAME COLUMN ssn TO k``: ``k`` keeps ``ssn``'s origins; ``RENAME TO u``: ``u``
  keeps ``t``'s lineage.
- ``INSERT INTO t [(cols)] SELECT ...`` (unions too): each target column gains the origins of the
  value inserted into it, by name when listed, else by position.
- ``UPDATE t SET c = expr [FROM ...]``: ``c`` gains the origins of ``expr``.
- ``CREATE MACRO m(...) AS expr`` / ``AS TABLE query``: calls of ``m`` reveal what its body reads
  (``analyze.sql_taint`` asks for ``m()``).
Lineage only grows here (a statement refused later is remembered as if it ran: conservative).
Kept in ``sql_exports.REMEMBERED``, per process, like ``CREATE ... AS`` tables.
"""
from __future__ import annotations

import logging
import re
from typing import Any

import sqlglot
from sqlglot import exp

from jupyter_guard.analyze.sql_taint import Output
from jupyter_guard.hooks import sql_exports
from jupyter_guard.model import Intent
from jupyter_guard.policy.model import Policy
from jupyter_guard.policy.rules import bare_table

log = logging.getLogger("jupyter_guard")
_MACRO = re.compile(r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP(?:ORARY)?\s+)?(?:MACRO|FUNCTION)\s+"
                    r"([\w.\"]+)\s*\(([^)]*)\)\s+AS\s+(TABLE\s+)?(.+?);?\s*$", re.I | re.S)


def follow(i: Intent, cat: Any, policy: Policy) -> None:
    """Update remembered lineage for a statement that moves values between tables or macros."""
    try:
        if i.action == "sql.other" and i.source and _MACRO.match(i.source):
            _macro(i.source, cat, policy)
            return
        tree = sql_exports._tree(i.source or "")
        if isinstance(tree, exp.Alter):
            _alter(tree, cat, policy)
        elif isinstance(tree, exp.Insert):
            _insert(tree, cat, policy)
        elif isinstance(tree, exp.Update):
            _update(tree, cat, policy)
    except Exception as e:  # noqa: BLE001 - an unexpected tree: lineage stays as it was; exports of tables whose
        log.debug("jupyter_guard: lineage not followed for %s: %s", i.source, e)  # columns are
        # unknown are refused, and names and value checks still decide at the exits


def _current(name: str, cat: Any, policy: Policy) -> tuple[Output, ...] | None:
    """A table's columns with the origins they hold now (remembered, else from the catalog)."""
    key = bare_table(name)
    if key in sql_exports.REMEMBERED:
        return sql_exports.REMEMBERED[key]
    cols = cat.columns().get(name.lower()) or cat.columns().get(key)
    if cols is None:
        return None
    tail = key.split(".")[-1]
    return tuple(Output(c, frozenset({f"{tail}.{c}"}) if policy.is_sensitive_column(c)
                        else frozenset()) for c in cols)


def _store(name: str, outs: tuple[Output, ...]) -> None:
    """Remember tainted lineage (a statement may be judged twice: a second, plain look at a
    table already renamed or changed must not erase what the first one learnt)."""
    if any(o.tainted for o in outs):
        sql_exports.REMEMBERED[bare_table(name)] = outs


def _table_name(t: exp.Expression) -> str:
    return ".".join(p.name for p in t.parts) if isinstance(t, exp.Table) else ""


def _alter(tree: exp.Alter, cat: Any, policy: Policy) -> None:
    name = _table_name(tree.this)
    outs = _current(name, cat, policy)
    if not name or outs is None:
        return
    for action in tree.args.get("actions") or []:
        if isinstance(action, exp.RenameColumn):
            old, new = action.this.name.lower(), action.args["to"].name.lower()
            outs = tuple(Output(new, o.origins, o.grouped) if o.name.lower() == old else o
                         for o in outs)
            _store(name, outs)
        elif isinstance(action, exp.AlterRename) and any(o.tainted for o in outs):
            _store(_table_name(action.this), outs)


def _merged(outs: tuple[Output, ...], new: dict[str, Output]) -> tuple[Output, ...]:
    return tuple(Output(o.name, o.origins | new[o.name.lower()].origins,
                        o.grouped | new[o.name.lower()].grouped) if o.name.lower() in new else o
                 for o in outs)


def _constant(node: exp.Expr) -> bool:
    """No column or query inside: literals, bound parameters and functions of them.

    >>> import sqlglot
    >>> _constant(sqlglot.parse_one("INSERT INTO t VALUES (?, upper('a'))").expression)
    True
    >>> _constant(sqlglot.parse_one("INSERT INTO t VALUES ((SELECT max(x) FROM u))").expression)
    False
    """
    return next(node.find_all(exp.Column, exp.Select, exp.Table), None) is None


def _inserted(tree: exp.Expr, cat: Any, policy: Policy) -> tuple[Output, ...] | None:
    cols = cat.columns()
    got = sql_exports.outputs(tree, lambda t: cols.get(t) or cols.get(bare_table(t)), policy,
                              sql_exports._views(cat).get)
    return None if got is None else got[0]


def _insert(tree: exp.Insert, cat: Any, policy: Policy) -> None:
    target = tree.this
    listed = []
    if isinstance(target, exp.Schema):
        listed = [e.name.lower() for e in target.expressions]
        target = target.this
    name = _table_name(target)
    src = tree.args.get("expression")
    if src is None or (isinstance(src, exp.Values) and _constant(src)):
        return   # literal or bound values: no column's values go anywhere
    values = _inserted(tree.copy(), cat, policy)
    if not name or not values or not any(v.tainted for v in values):
        return
    outs = _current(name, cat, policy)
    if outs is None:   # a table this decision cannot see yet: remember what went in, as named
        _store(name, tuple(Output(listed[n] if n < len(listed) else v.name, v.origins, v.grouped)
                           for n, v in enumerate(values)))
        return
    names = listed or [o.name.lower() for o in outs]
    _store(name, _merged(outs, dict(zip(names, values))))


def _update(tree: exp.Update, cat: Any, policy: Policy) -> None:
    name = _table_name(tree.this)
    sets = [e for e in tree.expressions if isinstance(e, exp.EQ) and isinstance(e.this, exp.Column)]
    if not name or not sets or all(_constant(e.expression) for e in sets):
        return
    q = exp.select(*[exp.alias_(e.expression.copy(), e.this.name) for e in sets]).from_(
        tree.this.copy())
    src = tree.args.get("from_") or tree.args.get("from")
    if src is not None:
        q = q.join(src.this.copy())
    values = _inserted(q, cat, policy)
    outs = _current(name, cat, policy)
    if values is None or outs is None or not any(v.tainted for v in values):
        return
    _store(name, _merged(outs, {v.name.lower(): v for v in values}))


def _macro(sql: str, cat: Any, policy: Policy) -> None:
    m = _MACRO.match(sql)
    if m is None:
        return
    name, table, body = m.group(1).strip('"'), bool(m.group(3)), m.group(4)
    query = body if table else f"SELECT ({body}) AS {name.split('.')[-1]}"
    values = _inserted(sqlglot.parse_one(query, read="duckdb"), cat, policy)
    key = bare_table(name) + "()"
    if values is not None and any(v.tainted for v in values):
        sql_exports.REMEMBERED[key] = values
    else:
        sql_exports.REMEMBERED.pop(key, None)
