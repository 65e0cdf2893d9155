"""What a PostgreSQL function reads, from the catalog at the time of the call (red team 22b):
``CREATE FUNCTION f3(i int) RETURNS text LANGUAGE sql AS $$ SELECT replace(ssn, '-', '~') FROM
customers WHERE id = i $$`` then ``SELECT id, f3(id) FROM customers`` showed every SSN, as did a
function a DBA made outside the guard wrapped in ``replace(..., '@', ' at ')``.

A call to a function that is not PostgreSQL's own (``pg_proc`` outside ``pg_catalog`` and
``information_schema``, or in a language other than ``internal``/``sql`` there) whose body reads
a sensitive column, or a table holding one, makes the output that depends on it sensitive and
derived: its values are known values (masked whole when printed, refused at the exits), and an
export of it is refused. A body in a language whose text is no SQL (C, Python, ...) counts as
reading. Functions the body calls are followed (a few levels deep; deeper counts as reading).

The catalog is read on the user's own connection (``rows``), by bare name (every overload and
schema counts). Pure SQL text and rows: no driver imported here.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from jupyter_guard.analyze.sql_pg_functions import called, names_read, read_tables
from jupyter_guard.analyze.sql_postgres import SERVER_FUNCTIONS
from jupyter_guard.model import Intent
from jupyter_guard.policy.context import HELD

Rows = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
Columns = Callable[[str], "tuple[str, ...] | None"]
BUILTIN_SCHEMAS = frozenset({"pg_catalog", "information_schema"})
READABLE = frozenset({"sql", "plpgsql"})
_DEPTH = 4
_LOUD = re.compile(r"\b(raise|insert|update|merge|copy|pg_notify|set_config|notify|assert|"
                   r"delete)\b", re.I)
_SQL = ("SELECT p.proname::text, n.nspname::text, l.lanname::text, p.prosrc::text, "
        "p.proretset OR t.typcategory IN ('A', 'C', 'P', 'U') "
        "FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
        "JOIN pg_catalog.pg_language l ON l.oid = p.prolang "
        "JOIN pg_catalog.pg_type t ON t.oid = p.prorettype WHERE p.proname IN ({names})")


class Functions:
    """The catalog's functions for one decision: asked once per name, on ``rows``."""

    def __init__(self, rows: Rows, columns: Columns, sensitive: Callable[[str], bool]):
        self.rows, self.columns, self.sensitive = rows, columns, sensitive
        self._known: dict[str, list[tuple[str, str, str]]] = {}
        self.pieces: set[str] = set()   # what such a call reads
        self.loud: set[str] = set()   # what functions that raise or write read
        self.many: set[str] = set()   # functions giving arrays, sets or rows: their members
        # are pieces no known value covers
        self._reads: dict[str, frozenset[str]] = {}

    def _ask(self, names: Iterable[str]) -> None:
        want = sorted(n for n in names if n not in self._known)
        if not want:
            return
        for n in want:
            self._known[n] = []
        quoted = ", ".join("'" + n.replace("'", "''") + "'" for n in want)
        try:
            found = self.rows(_SQL.format(names=quoted), ())
        except Exception:  # noqa: BLE001 - no catalog now (asyncpg's, not asked first): only the functions sqlglot knows count as PostgreSQL's own
            from sqlglot.parser import Parser

            for n in want:
                if n.upper() not in Parser.FUNCTIONS:
                    self._known[n] = [("?", "unknown", "")]
            return
        for name, schema, lang, src, many in found:
            if many and str(schema) not in BUILTIN_SCHEMAS:
                self.many.add(str(name))
            self._known.setdefault(str(name), []).append((str(schema), str(lang), str(src or "")))

    def reads(self, text: str, depth: int = 0) -> frozenset[str]:
        """The sensitive columns the functions ``text`` calls read (``held:...`` for a body that
        cannot be read, or a chain too deep to follow); raises when the catalog cannot be read."""
        names = called(text)
        if "?" in names:
            return frozenset({f"{HELD}a statement the guard could not read"})
        self._ask(names)
        out: set[str] = set()
        for n in sorted(names):
            got = self._one(n, depth)
            out |= got
            if got and n in self.many:
                self.pieces |= got
        return frozenset(out)

    def _one(self, name: str, depth: int) -> frozenset[str]:
        if name in self._reads:
            return self._reads[name]
        self._reads[name] = frozenset()   # a recursive function: what the rest of it reads
        out: set[str] = set()
        if name in SERVER_FUNCTIONS:
            return self._reads[name]   # refused by their own rule (files, other databases)
        for schema, lang, src in self._known.get(name, []):
            if schema in BUILTIN_SCHEMAS and lang in ("internal", "sql"):
                continue   # PostgreSQL's own
            if lang not in READABLE or depth >= _DEPTH:
                out.add(f"{HELD}{name}() (a {lang} function whose body the guard cannot read)")
                continue
            mine = self.body(src) | self.reads(src, depth + 1)
            if mine and _LOUD.search(src):
                self.loud |= mine   # its values leave by notices or writes, which no mask sees
            out |= mine
        self._reads[name] = frozenset(out)
        return self._reads[name]

    def body(self, src: str) -> frozenset[str]:
        """The sensitive columns a SQL or plpgsql body reads by name, or through a table it
        reads that holds one."""
        out = {n for n in names_read(src) if self.sensitive(n)}
        for t in read_tables(src):
            cols = self.columns(t) or ()
            out |= {f"{t}.{c}" for c in cols if self.sensitive(c)}
        return frozenset(out)


def taint_outputs(outputs: Sequence[str], whole: str, funcs: Functions,
                  views: Iterable[str] = ()) -> list[frozenset[str]]:
    """Per output expression (its SQL): the sensitive columns the user functions it calls read.
    A call elsewhere in the statement (``whole``: a derived table, a CTE, a view's definition in
    ``views``) taints every output."""
    per = [funcs.reads(o) for o in outputs]
    rest = funcs.reads(whole) | frozenset().union(*(funcs.reads(v) for v in views))
    every = rest - frozenset().union(*per)
    return [p | every for p in per]


def export_columns(source: str, rows: Rows, policy: Any, cols: tuple[str, ...]
                   ) -> tuple[str, ...]:
    """An export's columns (``COPY (SELECT id, f3(id) FROM customers) TO STDOUT``) with what the
    user functions it calls read; the catalog unreadable: the statement's own columns stay."""
    funcs = Functions(rows, lambda t: _columns(rows, t), policy.is_sensitive_column)
    extra = funcs.reads(source or "")
    return tuple(dict.fromkeys((*cols, *sorted(extra)))) if extra else cols


def pieces(source: str, rows: Rows, policy: Any) -> tuple[Intent, ...]:
    """``sql.fragment`` intents (the ``inference`` rule) for the sensitive columns read by a
    user function the statement calls that gives an array, a set or a row
    (``SELECT id, e(id)`` where ``e`` returns an e-mail's character codes): their members are
    too short to be known values, so they cannot be masked."""
    if not source:
        return ()
    funcs = Functions(rows, lambda t: _columns(rows, t), policy.is_sensitive_column)
    funcs.reads(source)
    loud = (Intent("sql.export", "variable", "the notices and rows a function it calls raises "
                   "or writes (no mask follows them)", tuple(sorted(funcs.loud)), source=source,
                   detail="server-side code: a function"),) if funcs.loud else ()
    return loud + tuple(Intent("sql.fragment", "column", c, (c,), source=source,
                               detail="as an array, set or row a function gives") for c in
                        sorted(funcs.pieces))


def _columns(rows: Rows, table: str) -> tuple[str, ...] | None:
    try:
        got = rows("SELECT a.attname::text FROM pg_catalog.pg_attribute a WHERE a.attrelid"
                        " = pg_catalog.to_regclass('" + table.replace("'", "''") + "') AND "
                        "a.attnum > 0 AND NOT a.attisdropped", ())
    except Exception:  # noqa: BLE001 - not a table (a name in the body): no columns
        return None
    return tuple(str(r[0]).lower() for r in got) or None
