"""Proxies for DB-API connections and cursors, and the patches of each driver's ``connect``.

A proxy reports the driver's own class (``isinstance`` and pandas' driver checks keep working);
every statement goes through ``dbapi.Checker`` before it reaches the driver. ``unwrap`` (in
``connections``) finds the real object behind a proxy for the guard's own queries.
"""
from __future__ import annotations

import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

from jupyter_guard.connections import pg_results
from jupyter_guard.connections.base import drivers, kinds
from jupyter_guard.connections.dbapi import Checker, driver_of, sqlite_native
from jupyter_guard.hooks import sealed_events
from jupyter_guard.hooks.sealed_events import sealed

if TYPE_CHECKING:
    from jupyter_guard.guard.service import Guard

# (module or class, attribute) -> the guard's replacement; self-protection puts them back
PATCHED: dict[tuple[Any, str], Any] = {}


# each proxy's driver object and judge: a sealed weak table (slots were set by
# ``object.__setattr__`` from a cell, with no audit event), given by the guard's code making the
# proxy (one a cell builds with its own judge is refused), read by the guard's code only (a cell
# that held the driver's object or the judge's ``raw`` ran its statements past the proxy)
_GET, _GIVE = sealed_events.weak_table("a proxy's connection and judge", callers=2)
_READ_CON = sealed_events.guard_read(_GET, 0, "the driver's object behind a guarded connection")
_READ_CHECK = sealed_events.guard_read(_GET, 1, "the judge behind a guarded connection")


class _Proxy:
    __slots__ = ("__weakref__",)
    _jg_con = property(_READ_CON, doc="The driver's object behind the proxy (the guard's only).")
    _jg_check = property(_READ_CHECK, doc="The guard's judge of its statements (the guard's only).")

    def __init__(self, raw: Any, check: Any, _give: Any = _GIVE) -> None:   # a Checker
        _give(self, (raw, check))   # (dbapi_async: AsyncChecker)

    @property  # type: ignore[misc]  # a property named __class__ (isinstance keeps working)
    def __class__(self, _of: Any = _READ_CON) -> type:   # isinstance(con, psycopg.Connection)
        return type(_of(self))

    _JG_CONNECTION: Any = None   # a cursor's: the proxy class of its connection

    def __getattr__(self, name: str) -> Any:
        raw = self._jg_con
        value = getattr(raw, name)
        if value is not None and self._JG_CONNECTION is not None:
            check = self._jg_check   # a cursor's raw connection (``cur.connection``): guarded
            if value is getattr(check, "raw", None) or value is getattr(check, "aconn", None):
                return self._JG_CONNECTION(value, check)
        return sealed_events.unbound(value, raw)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._jg_con, name, value)

    def __iter__(self) -> Any:
        return iter(self._jg_con)

    def __repr__(self) -> str:
        return f"<guarded {self._jg_con!r}>"


class GuardedCursor(_Proxy):
    __slots__ = ()

    def _same(self, result: Any) -> Any:
        return self if result is self._jg_con else result

    def execute(self, query: Any, params: Any = None, *args: Any, **kw: Any) -> Any:
        raw = self._jg_con
        call = (lambda: raw.execute(query, *args, **kw)) if params is None else (
            lambda: raw.execute(query, params, *args, **kw))
        _sqlite_file(self._jg_check, raw, query, None if params is None else [params])
        out = self._same(self._jg_check(query, params, call, server_binds=_binds(raw, kw)))
        if self._jg_check.dialect == "postgres":   # its fetches (``pg_fetch``) keep its taint;
            pg_results.note(raw, query, self._jg_check.raw)   # (a measured one ran as Busy)
            pg_results.held(raw, self._jg_check.guard)
        return out

    def executemany(self, query: Any, seq: Any, *args: Any, **kw: Any) -> Any:
        rows = list(seq)
        raw = self._jg_con
        check = self._jg_check
        _sqlite_file(check, raw, query, rows)
        # the effect check sums all rows at once; sqlite3 measures them (``sqlite_cell``) and
        # its values are read only where one could make a WHERE always true (``sqlite_judge``)
        measured = check.kind.measures_effect or (
            check.driver == "sqlite3" and sqlite_native(check.raw) and
            _sqlite_once(query))
        for p in rows[:1000]:   # else each bound statement is judged (the first 1000)
            if not measured:
                check(query, p, lambda: None)
        first = rows[0] if rows else None
        return self._same(check(query, first, lambda: raw.executemany(query, rows, *args, **kw),
                                many=measured))

    def executescript(self, script: Any) -> Any:   # sqlite3
        raw = self._jg_con
        _sqlite_file(self._jg_check, raw, script, None)
        return self._same(self._jg_check(script, None,
                                          lambda pre="": raw.executescript(pre + script),
                                          script=True))

    def copy(self, statement: Any, params: Any = None, **kw: Any) -> Any:   # psycopg 3
        raw = self._jg_con   # the rows are written inside the ``with``: measured at its end
        return self._jg_check.copy(statement, params, lambda: raw.copy(statement, params, **kw))

    def copy_expert(self, sql: Any, file: Any, *args: Any) -> Any:   # psycopg2
        raw = self._jg_con
        return self._jg_check(sql, None, lambda: raw.copy_expert(sql, file, *args))

    def copy_to(self, file: Any, table: str, sep: str = "\t", null: str = "\\N",
                columns: Any = None) -> Any:
        cols = f" ({', '.join(columns)})" if columns else ""
        raw = self._jg_con
        return self._jg_check(f"COPY {table}{cols} TO STDOUT", None,
                              lambda: raw.copy_to(file, table, sep, null, columns))

    def copy_from(self, file: Any, table: str, *args: Any, **kw: Any) -> Any:
        raw = self._jg_con
        return self._jg_check(f"COPY {table} FROM STDIN", None,
                              lambda: raw.copy_from(file, table, *args, **kw))

    def callproc(self, name: str, params: Any = None, *args: Any) -> Any:
        raw = self._jg_con
        n = len(params or ())
        text = f"SELECT * FROM {name}({', '.join(['NULL'] * n)})"
        return self._jg_check(text, None, lambda: raw.callproc(name, params, *args))

    def __enter__(self) -> GuardedCursor:
        self._jg_con.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._jg_con.__exit__(*exc)


def _sqlite_file(check: Any, raw: Any, query: Any, params: list[Any] | None) -> None:
    """sqlite3 writes into a database file: the values they write (``hooks.sqlite_exits``)."""
    if getattr(check, "driver", "") == "sqlite3":
        from jupyter_guard.hooks import sqlite_exits

        sqlite_exits.check(check.guard, raw, query, params)


def _sqlite_once(query: Any) -> bool:
    from jupyter_guard.connections.sqlite_judge import judged_once  # late: only for sqlite3

    return judged_once(query)


def _binds(raw: Any, kw: dict[str, Any]) -> bool:
    """psycopg 3's own ``Cursor`` (not ``ClientCursor``, nor a subclass) sends parameters apart
    from the SQL text, unless told to prepare nothing of them."""
    mod = sys.modules.get("psycopg")
    return mod is not None and type(raw) is getattr(mod, "Cursor", None) and not kw


class GuardedDbapi(_Proxy):
    __slots__ = ()

    def cursor(self, *args: Any, **kw: Any) -> GuardedCursor:
        return GuardedCursor(self._jg_con.cursor(*args, **kw), self._jg_check)

    def execute(self, query: Any, params: Any = None, *args: Any, **kw: Any) -> Any:
        return self.cursor().execute(query, params, *args, **kw)

    def executemany(self, query: Any, seq: Any, *args: Any, **kw: Any) -> Any:
        return self.cursor().executemany(query, seq, *args, **kw)

    def executescript(self, script: Any) -> Any:
        return self.cursor().executescript(script)

    def blobopen(self, table: str, column: str, row: int, *args: Any, **kw: Any) -> Any:
        if self._jg_check.driver == "sqlite3" and not kw.get("readonly", False):   # a write
            from jupyter_guard.connections import sqlite_cell  # late: only for sqlite3 blobs
            from jupyter_guard.hooks.state import Busy

            with Busy():
                sqlite_cell.blob(self._jg_check, table, column, row, kw.get("name", "main"))
        return self._jg_con.blobopen(table, column, row, *args, **kw)

    def backup(self, target: Any, *args: Any, **kw: Any) -> Any:   # sqlite3
        real = object.__getattribute__(target, "_jg_con") if isinstance(target, _Proxy) else target
        if getattr(self._jg_check, "driver", "") == "sqlite3":
            from jupyter_guard.connections.sqlite_judge import backup_into
            from jupyter_guard.hooks import sqlite_exits

            sqlite_exits.check_backup(self._jg_check.guard, self._jg_con, real)
            backup_into(self._jg_check.guard, real, "sqlite3", kw.get("name", "main"))
        return self._jg_con.backup(real, *args, **kw)

    def __enter__(self) -> GuardedDbapi:
        self._jg_con.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._jg_con.__exit__(*exc)


GuardedCursor._JG_CONNECTION = GuardedDbapi


def guard_connection(raw: Any, guard: Guard) -> Any:
    if isinstance(raw, _Proxy) or not driver_of(raw) or hasattr(raw, "_jg_check") or \
            _guarded_pg2(raw):
        return raw
    if _async(raw):
        # late: dbapi_async imports this module at load
        from jupyter_guard.connections import dbapi_async

        return dbapi_async.guard_async(raw, guard)
    if driver_of(raw) == "pyodbc":   # PostgreSQL behind it is judged as psycopg's (``odbc``)
        from jupyter_guard.connections import odbc  # late: it imports this module

        return odbc.guard_connection(raw, guard)
    return _classes(raw)[0](raw, Checker(guard, raw, driver_of(raw)))


def wrap_existing(value: Any, guard: Guard) -> Any:
    """A connection or cursor the user opened before the guard loaded, as a proxy."""
    try:
        if isinstance(value, _Proxy) or not driver_of(value) or _guarded_pg2(value):
            return value
    except Exception:  # noqa: BLE001 - an object whose type cannot be inspected is not a driver's: left alone
        return value
    if driver_of(value) == "apsw":
        from jupyter_guard.connections import sqlite_apsw  # late: only for apsw

        return sqlite_apsw.wrap_existing(value) if hasattr(value, "cursor_factory") else value
    if driver_of(value) == "asyncpg":
        # late: dbapi_asyncpg imports this module at load
        from jupyter_guard.connections import dbapi_asyncpg

        return dbapi_asyncpg.wrap_existing(value, guard)
    if _async(value):
        # late: dbapi_async imports this module at load
        from jupyter_guard.connections import dbapi_async

        return dbapi_async.wrap_existing(value, guard)
    if hasattr(value, "cursor") and not hasattr(value, "fetchone"):
        return guard_connection(value, guard)
    owner = getattr(value, "connection", None)
    if owner is not None and hasattr(value, "fetchone") and driver_of(owner) == "pyodbc":
        from jupyter_guard.connections import odbc  # late: it imports this module

        return odbc.guard_cursor(value, guard)
    if owner is not None and hasattr(value, "fetchone"):
        return _classes(owner)[1](value, Checker(guard, owner, driver_of(owner)))
    return value


def _classes(raw: Any) -> tuple[type[GuardedDbapi], type[GuardedCursor]]:
    if driver_of(raw) != "sqlite3":   # sqlite3's keep their results' taint (sqlite_results)
        return GuardedDbapi, GuardedCursor
    from jupyter_guard.connections import sqlite_results as r  # late: it imports this module
    return r.GuardedSqlite, r.GuardedSqliteCursor


def _async(obj: Any) -> bool:
    """A psycopg asyncio connection or cursor (``dbapi_async``)."""
    import inspect

    return inspect.iscoroutinefunction(getattr(type(obj), "execute", None))


def _guarded_pg2(obj: Any) -> bool:
    """A psycopg2 connection or cursor built by ``dbapi_pg2``, a pg8000 one, or an asyncpg pool or
    pooled connection (each guarded by its class)."""
    if type(obj).__module__.startswith("pg8000."):
        from jupyter_guard.connections.dbapi_pg8000 import guarded  # late: only for pg8000

        return guarded(obj)
    if type(obj).__module__ == "apsw":   # a connection whose cursors are the guarded ones
        from jupyter_guard.connections.sqlite_apsw import guarded  # late: only for apsw

        return guarded(obj)
    if type(obj).__module__ == "asyncpg.pool":
        from jupyter_guard.connections.dbapi_asyncpg_pool import covers  # late: only for asyncpg

        return covers(obj)
    if driver_of(obj) != "psycopg2":
        return False
    return hasattr(obj, "_jg_check") or hasattr(getattr(obj, "connection", None), "_jg_check")


def runtime_judged(i: Any, ns: dict[str, Any], sa_hooked: bool = False) -> bool:
    """Whether SQL handed to ``i.via`` (``cur``, ``con.cursor()``, ``psycopg.connect(...)``) is
    judged when it runs, in the connection's own dialect: a guarded DB-API connection or cursor,
    or a driver whose connections are guarded when they open. SQLAlchemy's ``text()`` counts too
    (its listener judges every statement) for what the cell's text alone cannot judge: SQL that
    does not parse in DuckDB's dialect, and parameters.

    >>> from jupyter_guard.model import Intent
    >>> runtime_judged(Intent("sql.drop", via="psycopg2.connect(dsn).cursor()"), {})
    True
    """
    if i.via == "%sql":  # jupysql: through its current connection's driver
        return _jupysql_guarded() and (
            i.action == "sql.unparsed" or i.where in ("param", "unknown")
        )
    root = i.via.split(".", 1)[0].split("(", 1)[0].split("[", 1)[0]
    obj = ns.get(root)
    if isinstance(obj, _Proxy) or _guarded_pg2(obj) or (
            type(obj).__module__.startswith("psycopg_pool.") and "psycopg" in drivers()):
        return True   # psycopg_pool opens its connections with psycopg's guarded connect
    driver = "psycopg" if root == "psycopg_pool" else root
    if driver in _dialect_drivers() and (obj is None or isinstance(obj, ModuleType)):
        return obj is None or getattr(obj, "__name__", "") == root
    if sa_hooked and isinstance(obj, ModuleType) and obj.__name__ == "sqlalchemy":
        return i.action == "sql.unparsed" or i.where in ("param", "unknown")
    return False


def _jupysql_guarded() -> bool:
    """Whether jupysql's current connection reaches PostgreSQL or SQLite through a driver the
    guard wraps (its statements are then judged at run time in their own dialect)."""
    mod = sys.modules.get("sql.connection")
    current = getattr(getattr(mod, "ConnectionManager", None), "current", None)
    try:
        dialect, driver = str(current.dialect), str(current.driver)  # type: ignore[union-attr]  # checked to be SQLAlchemy's above
    except Exception:  # noqa: BLE001 - no connection, or not one jupysql describes: judged by the cell's text
        return False
    # late: only when a SQLAlchemy engine is met
    from jupyter_guard.connections.sqlalchemy import guarded_driver

    return guarded_driver(dialect, driver)


def _dialect_drivers() -> tuple[str, ...]:
    """Driver modules of kinds with a known dialect (statements judged in that dialect)."""
    return tuple(d for k in kinds() if k.dialect for d in k.drivers)


def patch(module: ModuleType, name: str, guard: Guard) -> None:
    """``module.connect`` (and psycopg's ``Connection.connect``) return guarded connections."""
    if getattr(module, "_jupyter_guard_dbapi", False):
        return
    if name == "asyncpg":   # asyncio only, and no libpq: its own module
        from jupyter_guard.connections import dbapi_asyncpg  # late: it imports this module

        dbapi_asyncpg.patch(module, guard, PATCHED)
        module._jupyter_guard_dbapi = True  # type: ignore[attr-defined]  # an attribute the guard sets on a module
        return
    if name == "apsw":   # no connect(): its classes are replaced by guarded subclasses
        from jupyter_guard.connections import sqlite_apsw  # late: only for apsw

        sqlite_apsw.patch(module, guard, PATCHED)
        module._jupyter_guard_dbapi = True  # type: ignore[attr-defined]  # an attribute the guard sets on a module
        return
    if name == "pg8000":   # pure Python, three APIs over one core: the core class is patched
        from jupyter_guard.connections import dbapi_pg8000  # late: it imports dbapi

        dbapi_pg8000.patch(module, guard, PATCHED)
        module._jupyter_guard_dbapi = True  # type: ignore[attr-defined]  # an attribute the guard sets on a module
        return
    if name == "psycopg2":   # C functions take only real connections: subclasses, not proxies
        from jupyter_guard.connections import dbapi_pg2  # late: it imports PATCHED from here

        dbapi_pg2.patch(module, guard)
        return
    orig = module.connect

    def connect(*args: Any, **kw: Any) -> Any:
        return guard_connection(orig(*args, **kw), guard)

    # sealed: its closure holds the guard, which a cell could otherwise swap (no audit event)
    connect = sealed(connect, orig)
    module.connect = connect  # type: ignore[attr-defined]  # an attribute the guard sets on a module
    PATCHED[(module, "connect")] = connect
    if name == "psycopg":
        cls = module.Connection
        orig_cls = cls.__dict__["connect"].__func__

        def cls_connect(klass: Any, *args: Any, **kw: Any) -> Any:
            return guard_connection(orig_cls(klass, *args, **kw), guard)

        cls.connect = classmethod(sealed(cls_connect, orig_cls))
        module.connect = cls.connect  # type: ignore[attr-defined]  # an attribute the guard sets on a module
        PATCHED[(cls, "connect")] = cls.__dict__["connect"]
        PATCHED[(module, "connect")] = module.connect
        # late: dbapi_async imports this module at load
        from jupyter_guard.connections import dbapi_async

        dbapi_async.patch(module, guard, PATCHED)
        # psycopg's statement methods judge their own statements however they are
        # reached (``driver_methods``); libpq below them sends only what was judged
        from jupyter_guard.connections import dbapi_loaders, dbapi_psycopg, pg_libpq

        dbapi_psycopg.patch(module, guard, PATCHED)
        pg_libpq.patch(module, PATCHED)
        dbapi_loaders.patch_psycopg(module, PATCHED)   # no user loader sees raw values
    module._jupyter_guard_dbapi = True  # type: ignore[attr-defined]  # an attribute the guard sets on a module
