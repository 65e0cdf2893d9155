"""pg8000 (pure-Python PostgreSQL driver), guarded where every one of its APIs sends SQL.

``pg8000.connect`` (legacy), ``pg8000.dbapi.connect`` and ``pg8000.native.Connection`` all
run their statements through three methods of ``pg8000.core.CoreConnection``:
``execute_simple`` (text), ``execute_unnamed`` (text with ``$n`` parameters, what the DB-API
cursors send after converting ``%s``/``:name``) and ``execute_named`` (a prepared statement,
which carries its text). Those three are patched on the class, so connections opened before
the guard loaded, cursors, ``native.Connection.run``, prepared statements and calls to the core
methods themselves are all judged by the same ``dbapi.Checker`` as psycopg, in PostgreSQL's
dialect, with the effect check (``pg_effect``) on what can change rows or schema. Parameters
are bound by the server, so the text judged is the text that runs.
"""
from __future__ import annotations

import sys
from types import MappingProxyType
from typing import Any

from jupyter_guard.connections import pg_results
from jupyter_guard.connections.dbapi import Checker
from jupyter_guard.hooks.sealed_events import weak_table
from jupyter_guard.hooks.state import busy

# as psycopg's TransactionStatus: idle, in, failed (read-only: it tells the effect check whether
# a statement runs inside the user's transaction)
_STATUS = MappingProxyType({b"I": 0, b"T": 2, b"E": 3})
# each connection's judge: a sealed weak table given by the guard's patched core methods only
_CHECKERS = weak_table("a pg8000 connection's judge", callers=2)


class _Info:
    """What psycopg's ``info`` tells of a pg8000 connection: its transaction status, and the
    parameters the guard's own connection to the same database is opened with (``pg_fresh``
    reads the views' fingerprint there, never on the user's connection): user and password as
    pg8000 keeps them, host and port from its socket, the database asked once
    (``current_database()``, through the unpatched core method: a read that holds no lock;
    when it cannot be asked, an aborted transaction, ``dbname`` is missing and the views count
    as changed)."""

    def __init__(self, con: Any, orig: dict[str, Any]) -> None:
        self.con, self.orig = con, orig
        self._dbname: str | None = None

    @property
    def transaction_status(self) -> int:
        return _STATUS.get(getattr(self.con, "_transaction_status", b"I"), 0)

    @property
    def user(self) -> str:
        return _text(self.con.user)

    @property
    def password(self) -> str | None:
        got = getattr(self.con, "password", None)
        return None if got is None else _text(got)

    @property
    def host(self) -> str:
        return _peer(self.con)[0]

    @property
    def port(self) -> int:
        return int(_peer(self.con)[1])

    @property
    def dbname(self) -> str:
        if self._dbname is None:
            try:
                ctx = self.orig["execute_simple"](self.con, "SELECT current_database()")
                self._dbname = str(ctx.rows[0][0])
            except Exception as e:  # noqa: BLE001 - no answer (an aborted transaction): missing, so the views count as changed
                raise AttributeError(f"dbname: {e}") from None
        return self._dbname


def _text(v: Any) -> str:
    return v.decode("utf-8") if isinstance(v, (bytes, bytearray)) else str(v)


def _peer(con: Any) -> tuple[str, Any]:
    """(host, port) of a pg8000 connection's socket; a Unix socket's directory and port."""
    try:
        peer = con._usock.getpeername()
    except (AttributeError, OSError) as e:
        raise AttributeError(f"no peer: {e}") from None
    if isinstance(peer, str):   # ``/dir/.s.PGSQL.5432``
        where, _, name = peer.rpartition("/")
        return where, name.rpartition(".")[2]
    return str(peer[0]), peer[1]


class _Cursor:
    """The guard's own queries on a pg8000 connection, through the unpatched core methods."""

    def __init__(self, raw: Raw) -> None:
        self.raw = raw
        self.rows: list[Any] = []
        self.description: list[tuple[str]] | None = None
        self.rowcount = -1

    def execute(self, sql: str, params: Any = ()) -> None:
        con, orig = self.raw.con, self.raw.orig
        if params:
            from pg8000.dbapi import convert_paramstyle

            statement, vals = convert_paramstyle("format", sql, params)
            ctx = orig["execute_unnamed"](con, statement, vals=vals)
        else:
            ctx = orig["execute_simple"](con, sql)
        self.rows = list(ctx.rows or [])
        self.description = [(c["name"],) for c in ctx.columns] if ctx.columns else None
        self.rowcount = ctx.row_count if ctx.row_count is not None else -1

    def fetchall(self) -> list[Any]:
        rows, self.rows = self.rows, []
        return rows

    def fetchone(self) -> Any:
        return self.rows.pop(0) if self.rows else None

    def close(self) -> None:
        self.rows = []


class Raw:
    """A pg8000 connection as the guard's own queries and the effect check use one: a cursor,
    the transaction status, and "autocommit" when no transaction is open (each statement then
    commits on its own, as in psycopg's autocommit mode)."""

    def __init__(self, con: Any, orig: dict[str, Any]) -> None:
        self.con, self.orig = con, orig
        self.info = _Info(con, orig)

    @property
    def autocommit(self) -> bool:
        return self.info.transaction_status == 0

    def cursor(self) -> _Cursor:
        return _Cursor(self)

    def rollback(self) -> None:
        if self.info.transaction_status:
            self.orig["execute_simple"](self.con, "ROLLBACK")


def checker(con: Any, guard: Any, orig: dict[str, Any],
            _table: tuple[Any, Any] = _CHECKERS) -> Checker:
    check: Checker | None = _table[0](con)
    if check is None:
        check = _table[1](con, Checker(guard, Raw(con, orig), "pg8000"))
    return check


def patch(module: Any, guard: Any, patched: dict[tuple[Any, str], Any]) -> None:
    """The three core methods of ``pg8000.core.CoreConnection`` judge what they send."""
    from pg8000 import core

    cls = core.CoreConnection
    if getattr(cls, "_jupyter_guard_pg8000", False):
        return
    orig = {name: cls.__dict__[name] for name in ("execute_simple", "execute_unnamed",
                                                   "execute_named")}

    def execute_simple(self: Any, statement: str) -> Any:
        if busy():
            return orig["execute_simple"](self, statement)
        check = checker(self, guard, orig)
        ctx = check(statement, None, lambda: orig["execute_simple"](self, statement))
        return pg_results.executed(ctx, check.raw, guard)   # its rows keep their taint

    def execute_unnamed(self: Any, statement: str, vals: Any = (), oids: Any = (),
                        stream: Any = None) -> Any:
        def call() -> Any:
            return orig["execute_unnamed"](self, statement, vals, oids, stream)

        if busy():
            return call()
        check = checker(self, guard, orig)
        return pg_results.executed(check(statement, None, call), check.raw, guard)

    def execute_named(self: Any, statement_name_bin: Any, params: Any, columns: Any,
                      input_funcs: Any, statement: str) -> Any:
        def call() -> Any:
            return orig["execute_named"](self, statement_name_bin, params, columns,
                                         input_funcs, statement)

        if busy():
            return call()
        check = checker(self, guard, orig)
        return pg_results.executed(check(statement, None, call), check.raw, guard)

    for fn in (execute_simple, execute_unnamed, execute_named):
        fn.__doc__ = orig[fn.__name__].__doc__
        setattr(cls, fn.__name__, fn)
        patched[(cls, fn.__name__)] = fn
    from pg8000 import dbapi, legacy

    for cur_cls in (dbapi.Cursor, legacy.Cursor):
        _patch_executemany(cur_cls, guard, orig, patched)
    cls._jupyter_guard_pg8000 = True


def _patch_executemany(cur_cls: Any, guard: Any, orig: dict[str, Any],
                       patched: dict[tuple[Any, str], Any]) -> None:
    """A cursor's ``executemany`` runs one statement per row: judged and measured as a whole
    (the rows it changes are summed), as psycopg's is, not row by row."""
    orig_many = cur_cls.__dict__["executemany"]

    def executemany(self: Any, operation: str, param_sets: Any) -> Any:
        con = self._c
        if busy() or con is None:
            return orig_many(self, operation, param_sets)
        rows = list(param_sets)
        if not con.autocommit and not con._in_transaction:   # as pg8000 itself begins one
            orig["execute_simple"](con, "begin transaction")
        first = rows[0] if rows else None
        return checker(con, guard, orig)(operation, first,
                                         lambda: orig_many(self, operation, rows), many=True)

    executemany.__doc__ = orig_many.__doc__
    cur_cls.executemany = executemany
    patched[(cur_cls, "executemany")] = executemany


def guarded(obj: Any) -> bool:
    """A pg8000 connection or cursor (its statements are judged by the patched class)."""
    core = sys.modules.get("pg8000.core")
    return type(obj).__module__.startswith("pg8000.") and bool(
        getattr(getattr(core, "CoreConnection", None), "_jupyter_guard_pg8000", False))
