"""SQLite's judging constraints of one table, for ``guard.oracles`` (issue 15; red team 19 on
SQLite): ``CREATE TEMP TABLE c (x TEXT CHECK (x <> '123456789'))`` then ``INSERT INTO c SELECT
ssn FROM customers`` fails exactly when a customer's SSN is the guess.

What judges a written value, read on the user's own connection:

- ``PRAGMA index_list``/``index_info``: ``PRIMARY KEY``, ``UNIQUE`` and unique indexes (an
  expression or partial index covers every column); ``PRAGMA table_info``'s ``pk`` (an
  ``INTEGER PRIMARY KEY`` has no index);
- ``PRAGMA foreign_key_list``: the columns a ``FOREIGN KEY`` checks (with foreign keys on);
- the table's ``CREATE TABLE`` text in ``sqlite_master``, read with sqlglot: each ``CHECK`` and the
  columns it names (text sqlglot cannot read, with a ``CHECK`` in it: every column);
- every column when a trigger fires on the table (``RAISE`` judges ``NEW``) or a generated column
  computes from it (``PRAGMA table_xinfo``).

The table is found as the write finds it (a bare name: ``temp``, then ``main``, then attached
databases; each is read). Pure SQL text and rows: no driver imported here.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlglot
from sqlglot import exp

Rows = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
Found = list[tuple[str, frozenset[str]]]


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def checks(create_sql: str) -> Found:
    """The ``CHECK`` constraints of a ``CREATE TABLE`` text and the columns each covers.

    >>> sorted(checks("CREATE TABLE t (a INT, x TEXT CHECK (x <> 'g'), CHECK (a > 0 OR a < 2))"),
    ...        key=lambda c: sorted(c[1]))
    [('CHECK', frozenset({'a'})), ('CHECK', frozenset({'x'}))]
    >>> checks("CREATE TABLE t (a INT CHECK (1))")
    [('CHECK', frozenset({'a'}))]
    """
    try:
        tree = sqlglot.parse_one(create_sql, read="sqlite")
    except Exception:  # noqa: BLE001 - unreadable text: a CHECK in it covers every column
        return [("CHECK", frozenset({"*"}))] if "check" in create_sql.lower() else []
    found: Found = []
    for node in tree.find_all(exp.CheckColumnConstraint):
        cols = {c.name.lower() for c in node.find_all(exp.Column)}
        owner = node.find_ancestor(exp.ColumnDef)
        if owner is not None:
            cols.add(owner.name.lower())
        found.append(("CHECK", frozenset(cols) or frozenset({"*"})))
    if not found and "check" in create_sql.lower() and tree.find(exp.Check) is not None:
        found.append(("CHECK", frozenset({"*"})))
    return found


def constraints(table: str, rows: Rows) -> Found:
    """The judging constraints of ``table`` (``*``: every column) in each database a bare name
    may find it in; raises when the catalog cannot be read (the caller refuses)."""
    schema, _, name = table.rpartition(".")
    schemas = [schema] if schema else ["temp", "main"] + [
        str(r[1]) for r in rows("PRAGMA database_list", ()) if str(r[1]) not in ("temp", "main")]
    found: Found = []
    for s in schemas:
        found += _one(_ident(s), name, rows)
    return found


def _one(s: str, name: str, rows: Rows) -> Found:
    t = _ident(name)
    master = "sqlite_temp_master" if s.lower() == '"temp"' else f"{s}.sqlite_master"
    found: Found = []
    for kind, sql in rows(f"SELECT type, sql FROM {master} WHERE tbl_name = ? COLLATE NOCASE "
                          "AND type IN ('table', 'trigger')", (name,)):
        if kind == "trigger":
            found.append(("TRIGGER", frozenset({"*"})))
        elif sql:
            found += checks(str(sql))
    info = rows(f"PRAGMA {s}.table_xinfo({t})", ())
    cols = {int(r[0]): str(r[1]).lower() for r in info}
    pk = frozenset(str(r[1]).lower() for r in info if r[5])
    if pk:
        found.append(("PRIMARY KEY", pk))
    if any(len(r) > 6 and r[6] in (2, 3) for r in info):
        found.append(("GENERATED COLUMN", frozenset({"*"})))
    for r in rows(f"PRAGMA {s}.index_list({t})", ()):
        if not r[2]:
            continue   # not unique
        keys = [int(k[1]) for k in rows(f"PRAGMA {s}.index_info({_ident(str(r[1]))})", ())]
        partial = len(r) > 4 and r[4]
        covered = frozenset({"*"}) if partial or any(k < 0 for k in keys) else \
            frozenset(cols.get(k, "*") for k in keys)
        found.append(("UNIQUE INDEX", covered or frozenset({"*"})))
    for r in rows(f"PRAGMA {s}.foreign_key_list({t})", ()):
        found.append(("FOREIGN KEY", frozenset({str(r[3]).lower()})))
    return found


__all__ = ["checks", "constraints"]
