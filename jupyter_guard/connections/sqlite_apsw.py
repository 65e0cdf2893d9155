"""apsw (Another Python SQLite Wrapper), guarded like ``sqlite3``.

apsw has no ``connect()``: ``apsw.Connection`` and ``apsw.Cursor`` are replaced in the module by
subclasses (``isinstance`` keeps working). Every connection's ``cursor_factory``, which
``Connection.execute``/``executemany`` use too, is the guarded cursor, whose ``execute`` and
``executemany`` go through the SQLite kind's decision (``dbapi.Checker``) and have their changed
rows measured like sqlite3's (``sqlite_cell``, through ``Adapter``); values written into a file
are checked like sqlite3's (``hooks.sqlite_exits``). Setting another ``cursor_factory`` is
refused. ``backup`` is judged by the tables it replaces (as their ``DROP``) and the rows it
copies into a file; ``blob_open`` for writing counts one row. Connections opened before the
guard loaded get the guarded cursor when the guard finds them in the namespace.

One apsw text may hold several statements, which run as the rows are read: it is judged whole
and runs behind one savepoint, like ``executescript``. Statements after one that returns rows
would run only as those rows are read, past the measurement, so such a text is refused: the
statements are then run one ``execute()`` each.
"""
from __future__ import annotations

import itertools
import re
import sqlite3
from typing import Any

from jupyter_guard.errors import GuardBlocked
from jupyter_guard.hooks.sealed_events import weak_table
from jupyter_guard.hooks.state import Busy, busy

ORIGINAL: dict[str, Any] = {}   # "connection", "cursor": apsw's own classes
# each connection's judge: a sealed weak table given by the guard's cursors only
_CHECKS = weak_table("an apsw connection's judge", callers=2)
_ROWS_FIRST = re.compile(r"(?is)\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*"
                         r"(?:select|with|values|pragma|explain)\b|\breturning\b")
_TXN = re.compile(r"(?is)(?:\A|;)(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*"
                  r"(?:begin|commit|end|rollback|release|savepoint)\b")


class Adapter:
    """An apsw connection as ``sqlite_cell`` reads a sqlite3 one (the guard's own statements
    run on apsw's own cursor, unjudged)."""

    isolation_level = None   # apsw begins no transaction of its own
    autocommit = True

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Any = ()) -> Any:
        return _Rows(ORIGINAL["cursor"](self.conn).execute(sql, params or None))

    @property
    def total_changes(self) -> int:
        return int(self.conn.total_changes())

    @property
    def changes(self) -> int:
        """The rows the last statement changed itself (not its triggers)."""
        return int(self.conn.changes())

    @property
    def in_transaction(self) -> bool:
        return bool(self.conn.in_transaction)

    def rollback(self) -> None:
        self.execute("ROLLBACK")


class _Rows:
    """An apsw cursor read the DB-API way (apsw's has no ``fetchmany``)."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def __iter__(self) -> Any:
        return iter(self.cursor)

    def fetchone(self) -> Any:
        return next(iter(self.cursor), None)

    def fetchall(self) -> list[Any]:
        return list(self.cursor)

    def fetchmany(self, n: int) -> list[Any]:
        return list(itertools.islice(self.cursor, n))


def statements(text: str) -> list[str]:
    """The statements of an apsw text, as SQLite splits them.

    >>> statements("SELECT 1; DELETE FROM t WHERE x = ';'; ")
    ['SELECT 1;', " DELETE FROM t WHERE x = ';';"]
    """
    out, start = [], 0
    for m in re.finditer(";", text):
        piece = text[start:m.end()]
        if sqlite3.complete_statement(piece):
            out.append(piece)
            start = m.end()
    if text[start:].strip():
        out.append(text[start:])
    return out


def _checked(text: Any, many: bool) -> None:
    """Texts whose statements would run past the measurement are refused."""
    if not isinstance(text, str):
        raise GuardBlocked("sql-parse-error", f"the guard cannot read a query of type "
                           f"{type(text).__name__}: pass the SQL as a string", approval_hint=False)
    parts = statements(text)
    if any(_ROWS_FIRST.search(p) for p in parts[:-1]):
        raise GuardBlocked("sql-unknown", "apsw runs the statements after one that returns rows "
                           "only as its rows are read, where the guard cannot count what they "
                           "change: run each statement with its own execute()",
                           approval_hint=False)
    if many and _TXN.search(text):
        raise GuardBlocked("sql-unknown", "an executemany that controls transactions cannot be "
                           "undone over the cell's budget: run BEGIN/COMMIT with execute()",
                           approval_hint=False)


def _check(conn: Any, guard: Any, _table: tuple[Any, Any] = _CHECKS) -> Any:
    check = _table[0](conn)
    if check is None:
        from jupyter_guard.connections.dbapi import Checker  # late: dbapi imports the kinds

        check = _table[1](conn, Checker(guard, conn, "apsw"))
    return check


def patch(module: Any, guard: Any, patched: dict[tuple[Any, str], Any]) -> None:
    """``apsw.Connection`` and ``apsw.Cursor`` replaced by guarded subclasses."""
    if getattr(module.Connection, "_jg_guarded", False):
        return
    base_conn, base_cur = module.Connection, module.Cursor
    ORIGINAL.update(connection=base_conn, cursor=base_cur)
    factory = base_conn.cursor_factory

    def execute(self: Any, statements: Any, bindings: Any = None, **kw: Any) -> Any:
        if busy():
            return base_cur.execute(self, statements, bindings, **kw)
        return _run(self, statements, bindings, kw, guard)

    def executemany(self: Any, statements: Any, sequenceofbindings: Any, **kw: Any) -> Any:
        if busy():
            return base_cur.executemany(self, statements, sequenceofbindings, **kw)
        return _run_many(self, statements, sequenceofbindings, kw, guard)

    # named as apsw names them (the classes are made whole: the guard's code is not changed after)
    cursor = type("Cursor", (base_cur,), {"_jg_guarded": True, "execute": execute,
                                          "executemany": executemany, "__module__": "apsw",
                                          "__qualname__": "Cursor"})

    def backup(self: Any, databasename: str, source: Any, sourcename: str) -> Any:
        if not busy():   # every table of ``databasename`` replaced by ``source``'s
            _backup(self, databasename, source, sourcename, guard)
        return base_conn.backup(self, databasename, source, sourcename)

    def blob_open(self: Any, database: str, table: str, column: str, rowid: int,
                  writeable: bool) -> Any:
        if writeable and not busy():   # one row written: counted
            from jupyter_guard.connections import sqlite_cell  # late: only for blob writes

            with Busy():
                sqlite_cell.blob(_check(self, guard), table, column, rowid, database)
        return base_conn.blob_open(self, database, table, column, rowid, writeable)

    def init(self: Any, *args: Any, **kw: Any) -> None:
        base_conn.__init__(self, *args, **kw)
        factory.__set__(self, cursor)

    def set_factory(self: Any, value: Any) -> None:
        if not (isinstance(value, type) and issubclass(value, cursor)):
            raise GuardBlocked("self-protection", "another cursor_factory would run apsw "
                               "statements the guard does not see: subclass apsw.Cursor",
                               approval_hint=False)
        factory.__set__(self, value)

    connection = type("Connection", (base_conn,), {
        "_jg_guarded": True, "__init__": init, "__module__": "apsw", "__qualname__": "Connection",
        "backup": backup, "blob_open": blob_open,
        "cursor_factory": property(factory.__get__, set_factory)})
    for cls, name in ((cursor, "Cursor"), (connection, "Connection")):
        setattr(module, name, cls)
        patched[(module, name)] = cls


def guarded(obj: Any) -> bool:
    """An apsw connection whose cursors are the guarded ones, or such a cursor."""
    if "connection" not in ORIGINAL:
        return False
    if isinstance(obj, ORIGINAL["connection"]):
        return getattr(ORIGINAL["connection"].cursor_factory.__get__(obj), "_jg_guarded", False)
    return getattr(type(obj), "_jg_guarded", False)


def wrap_existing(conn: Any) -> Any:
    """A connection opened before the guard loaded: its cursors become the guarded ones."""
    if "cursor" in ORIGINAL and not getattr(conn, "_jg_guarded", False):
        cur = next(c for c in ORIGINAL["cursor"].__subclasses__()
                   if getattr(c, "_jg_guarded", False))
        ORIGINAL["connection"].cursor_factory.__set__(conn, cur)
    return conn


def _run(cursor: Any, text: Any, bindings: Any, kw: dict[str, Any], guard: Any) -> Any:
    from jupyter_guard.hooks import sqlite_exits  # late: the hooks import the connections

    _checked(text, False)
    check = _check(cursor.connection, guard)
    sqlite_exits.check(guard, cursor, text, None if bindings is None else [bindings])
    base = ORIGINAL["cursor"]
    return check(text, bindings, lambda pre="": base.execute(cursor, pre + text, bindings, **kw),
                 script=True)


def _run_many(cursor: Any, text: Any, seq: Any, kw: dict[str, Any], guard: Any) -> Any:
    from jupyter_guard.hooks import sqlite_exits  # late: the hooks import the connections

    _checked(text, True)
    rows = list(seq)
    check = _check(cursor.connection, guard)
    sqlite_exits.check(guard, cursor, text, rows)
    with Busy():   # the guard's own counts and catalog reads
        for p in rows[:1000]:   # each set of values judged (one can make a WHERE always true)
            check.decide(text, p, False)
    base = ORIGINAL["cursor"]
    return check(text, rows[0] if rows else None,
                 lambda: base.executemany(cursor, text, rows, **kw))


def _backup(dest: Any, name: str, source: Any, source_name: str, guard: Any) -> None:
    """``dest.backup(name, source, source_name)``: the tables it replaces (``destructive-ddl``)
    and the rows it copies into a file (``hooks.sqlite_exits``)."""
    from jupyter_guard.connections.sqlite_judge import backup_into
    from jupyter_guard.hooks import sqlite_exits  # late: the hooks import the connections

    backup_into(guard, dest, "apsw", name)
    with Busy():
        files = {str(r[1]): str(r[2]) for r in Adapter(dest).execute("PRAGMA database_list")}
    if files.get(name):
        sqlite_exits._check_tables(guard, Adapter(source), source_name, files[name])
