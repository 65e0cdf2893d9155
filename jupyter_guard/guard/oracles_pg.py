"""PostgreSQL's judging constraints of one table, for ``guard.oracles`` (issue 15; red team 19 on
PostgreSQL): ``CREATE TEMP TABLE c (x text CHECK (x <> '123456789'))`` then ``INSERT INTO c
SELECT ssn FROM customers`` fails exactly when a customer's SSN is the guess.

What judges a written value, read from the catalog on the user's own connection (one query):

- ``pg_constraint``: ``CHECK``, ``PRIMARY KEY``, ``UNIQUE``, ``FOREIGN KEY`` and ``EXCLUDE`` (not
  ``NOT NULL``); a constraint over no column (``CHECK (false)``) covers every column;
- ``pg_index``: unique indexes (an expression or partial index covers every column, and is no
  key ``guard.oracle_keys.pure_fill`` may pass: what it keys is the user's expression);
- ``pg_type``: columns typed by an enum or a domain (a domain's ``CHECK`` judges ``VALUE``), or an
  array of one;
- every column when a user's trigger or rule fires on the table, a generated column computes
  from it, or the table is partitioned or a partition (its bounds judge the key).

The relation is found as the write finds it (``to_regclass``: ``search_path``, ``pg_temp``), by
its name as written and as PostgreSQL folds it. Pure SQL text and rows: no driver imported here.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Rows = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]

_CONSTRAINT = {"c": "CHECK", "p": "PRIMARY KEY", "u": "UNIQUE", "f": "FOREIGN KEY",
               "x": "EXCLUDE"}

SQL = """
WITH r AS (SELECT DISTINCT o FROM unnest(ARRAY[to_regclass(%s), to_regclass(%s)]) AS o
           WHERE o IS NOT NULL),
names AS (SELECT a.attrelid, a.attnum, a.attname::text AS n FROM pg_attribute a
          WHERE a.attrelid IN (SELECT o FROM r) AND a.attnum > 0 AND NOT a.attisdropped)
SELECT c.contype::text, ARRAY(SELECT n FROM names WHERE attrelid = c.conrelid
                              AND attnum = ANY (c.conkey))
  FROM pg_constraint c WHERE c.conrelid IN (SELECT o FROM r) AND c.contype IN ('c','p','u','f','x')
UNION ALL
SELECT CASE WHEN 0 = ANY (i.indkey::int2[]) OR i.indexprs IS NOT NULL OR i.indpred IS NOT NULL
            THEN 'unique index (expression or partial)' ELSE 'UNIQUE INDEX' END,
       CASE WHEN 0 = ANY (i.indkey::int2[]) OR i.indexprs IS NOT NULL
            OR i.indpred IS NOT NULL THEN ARRAY['*']
       ELSE ARRAY(SELECT n FROM names WHERE attrelid = i.indrelid AND attnum = ANY (i.indkey)) END
  FROM pg_index i WHERE i.indrelid IN (SELECT o FROM r) AND i.indisunique
UNION ALL
SELECT 'type ' || format_type(t.oid, NULL), ARRAY[n.n]
  FROM names n JOIN pg_attribute a ON a.attrelid = n.attrelid AND a.attnum = n.attnum
  JOIN pg_type t ON t.oid = a.atttypid
 WHERE t.typtype IN ('d', 'e') OR EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = t.typelem
                                          AND t.typcategory = 'A' AND e.typtype IN ('d', 'e'))
UNION ALL
SELECT 'trigger', ARRAY['*'] FROM pg_trigger g
 WHERE g.tgrelid IN (SELECT o FROM r) AND NOT g.tgisinternal
UNION ALL
SELECT 'rule', ARRAY['*'] FROM pg_rewrite w
 WHERE w.ev_class IN (SELECT o FROM r) AND w.rulename <> '_RETURN'
UNION ALL
SELECT 'generated column', ARRAY['*'] FROM pg_attribute a
 WHERE a.attrelid IN (SELECT o FROM r) AND a.attgenerated <> ''
UNION ALL
SELECT 'partition', ARRAY['*'] FROM pg_class k
 WHERE k.oid IN (SELECT o FROM r) AND (k.relkind = 'p' OR k.relispartition)
"""


def regclass_names(table: str) -> tuple[str, str]:
    """The two spellings ``to_regclass`` is asked for: as written (quoted, case kept) and as
    PostgreSQL folds an unquoted name.

    >>> regclass_names("pg_temp.C1")
    ('"pg_temp"."C1"', 'pg_temp.C1')
    """
    quoted = ".".join('"' + p.replace('"', '""') + '"' for p in table.split("."))
    return quoted, table


def _inlined(names: tuple[str, str]) -> str:
    """``SQL`` with the two names as string literals: no placeholder, so every driver's
    paramstyle reads it (``%s``, asyncpg's ``$n``, ODBC's ``?``).

    >>> _inlined(("a'b", "c")).count("'a''b'"), "%s" in _inlined(("x", "y"))
    (1, False)
    """
    head, mid, tail = SQL.split("%s")
    quoted = ["'" + n.replace("'", "''") + "'" for n in names]
    return head + quoted[0] + mid + quoted[1] + tail


def constraints(table: str, rows: Rows) -> list[tuple[str, frozenset[str]]]:
    """The judging constraints of ``table`` (``*``: every column); raises when the catalog
    cannot be read (the caller refuses)."""
    found: list[tuple[str, frozenset[str]]] = []
    for kind, cols in rows(_inlined(regclass_names(table)), ()):
        label = _CONSTRAINT.get(str(kind), str(kind))[:40]
        if isinstance(cols, str):   # an array a driver left as text: ``{a,b}``
            cols = [c.strip('"') for c in cols.strip("{}").split(",") if c]
        names = frozenset(str(c).lower() for c in (cols or ()) if c is not None)
        found.append((label, names or frozenset({"*"})))
    return found


def _literal(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def pure_source(table: str, rows: Rows) -> bool:
    """``table`` (as a write names it: ``search_path`` and ``pg_temp`` find it) is an ordinary,
    permanent table that never had a child (``SELECT`` from a parent reads its children's rows:
    a guess written into ``CREATE TABLE kid () INHERITS (customers)`` would be read as a
    customer's), not a view, a temporary or a foreign table: its rows are the stored values.
    False when unsure."""
    names = regclass_names(table)
    try:
        got = rows("SELECT c.relkind::text = 'r' AND c.relpersistence::text <> 't' AND NOT "
                   "c.relhassubclass AND NOT c.relispartition FROM pg_class c WHERE c.oid = "
                   f"coalesce(to_regclass({_literal(names[0])}), to_regclass("
                   f"{_literal(names[1])}))", ())
        return bool(got) and got[0][0] is True
    except Exception:  # noqa: BLE001 - unreadable: not pure (the key stays judged)
        return False


def empty_alone(table: str, rows: Rows) -> bool:
    """``table`` holds no row this transaction sees and no other session holds a lock on it
    (an uncommitted row of another session's would still collide with a written value).
    False when unsure."""
    names = regclass_names(table)
    oid = f"coalesce(to_regclass({_literal(names[0])}), to_regclass({_literal(names[1])}))"
    try:
        got = rows(f"SELECT NOT EXISTS (SELECT 1 FROM pg_locks WHERE relation = {oid} AND "
                   f"pid <> pg_backend_pid()), (SELECT count(*) FROM {_quoted(table)})", ())
        return bool(got) and got[0][0] is True and int(got[0][1]) == 0
    except Exception:  # noqa: BLE001 - unreadable: not empty (the key stays judged)
        return False


def _quoted(table: str) -> str:
    """``table`` as an identifier chain, as written (its parts quoted only when they need it)."""
    return ".".join(p if p.isidentifier() and p == p.lower() else
                    '"' + p.replace('"', '""') + '"' for p in table.split("."))


ABORTED = ("the database transaction is aborted (a statement in it failed; the server runs "
           "nothing but a rollback): roll it back (conn.rollback()) and run it again; nothing ran")


def aborted(e: BaseException) -> bool:
    """``e`` says the user's transaction is aborted (SQLSTATE ``25P02``, an earlier statement
    failed): the server runs nothing but a rollback, so the catalog could not be read and the
    write would fail the same way. The caller lets that error through (the statement unrun)
    rather than name a rule (red team 21: "catalog unreadable" misled).

    >>> aborted(RuntimeError("current transaction is aborted, commands ignored until end of "
    ...                      "transaction block")), aborted(RuntimeError("syntax error"))
    (True, False)
    """
    code = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
    if code is None and e.args and isinstance(e.args[0], dict):   # pg8000: the server's fields
        code = e.args[0].get("C")
    return code == "25P02" or "current transaction is aborted" in str(e)


__all__ = ["ABORTED", "SQL", "aborted", "constraints", "empty_alone", "pure_source",
           "regclass_names"]
