"""psycopg2 connections guarded as subclasses, psycopg2's own way (``connection_factory``).

psycopg2's C functions (``register_type``, ``extras.register_uuid``, ... which SQLAlchemy calls on
every new connection) accept only real ``connection`` and ``cursor`` objects, so a proxy cannot
stand in for them. ``psycopg2.connect`` therefore builds the connection from a subclass of the
requested factory, whose cursors are subclasses of the requested cursor factory that judge
every statement with ``dbapi.Checker``. A connection opened before the guard loaded is still
wrapped in a proxy (``dbapi_proxy``).

The C base class's own methods (``psycopg2.extensions.cursor.execute(cur, ...)``, which skips
the subclass, and cursors of connections built from the C class directly) are replaced in the
C type's dictionary (``hooks.c_types``): each judges its statement unless the subclass or a
proxy already did (``dbapi.judged_on``) or the guard runs its own query (``Busy``).
"""
from __future__ import annotations

from functools import lru_cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

from jupyter_guard.connections import pg_results
from jupyter_guard.connections.dbapi import Checker, is_judged
from jupyter_guard.hooks.sealed_events import sealed, weak_table
from jupyter_guard.hooks.state import busy

if TYPE_CHECKING:
    from jupyter_guard.guard.service import Guard


def _held() -> tuple[Any, Any]:
    """A connection's judge, held in sealed closures (a weak table no cell reaches): what the
    cursors read (``_CHECK_OF``), shown as the read-only ``_jg_check``, given once, by the
    guard's ``connect``; an attribute a cell sets on the connection or its class is not read."""
    return weak_table("a connection's judge")


_CHECK_OF, _GIVE_CHECK = _held()


class GuardedCursorMixin:
    """Statements of a psycopg2 cursor pass ``connection._jg_check`` first."""

    def _jg(self, _of: Any = _CHECK_OF) -> Checker:
        check: Checker = _of(self.connection)  # type: ignore[attr-defined]  # the sealed table, not an attribute a cell sets
        return check

    def execute(self, query: Any, vars: Any = None) -> Any:
        sup = super()
        out = self._jg()(query, vars, lambda: sup.execute(query, vars))  # type: ignore[attr-defined]  # a mixin over psycopg2's C classes
        pg_results.note(self, query, self._jg().raw)   # its fetches keep the query's taint
        return out

    def fetchone(self) -> Any:
        return pg_results.fetched(self, "fetchone", super().fetchone(), self._jg().guard)  # type: ignore[misc]  # a mixin over psycopg2's C classes

    def fetchmany(self, *args: Any, **kw: Any) -> Any:
        return pg_results.fetched(self, "fetchmany", super().fetchmany(*args, **kw),  # type: ignore[misc]  # a mixin over psycopg2's C classes
                                  self._jg().guard)

    def fetchall(self) -> Any:
        return pg_results.fetched(self, "fetchall", super().fetchall(), self._jg().guard)  # type: ignore[misc]  # a mixin over psycopg2's C classes

    def __iter__(self) -> Any:
        nxt = super().__next__  # type: ignore[misc]  # a mixin over psycopg2's C classes
        return pg_results.rows(self, iter(nxt, object()), self._jg().guard)

    def executemany(self, query: Any, vars_list: Any) -> Any:
        rows = list(vars_list)
        sup = super()
        return self._jg()(query, rows[0] if rows else None,
                          lambda: sup.executemany(query, rows), many=True)  # type: ignore[attr-defined]  # a mixin over psycopg2's C classes

    def callproc(self, procname: str, parameters: Any = None) -> Any:
        sup = super()
        text = f"SELECT * FROM {procname}({', '.join(['NULL'] * len(parameters or ()))})"
        return self._jg()(text, None,
                          lambda: sup.callproc(procname, parameters))  # type: ignore[attr-defined]  # a mixin over psycopg2's C classes

    def copy_expert(self, sql: Any, file: Any, size: int = 8192) -> Any:
        sup: Any = super()   # the copy runs inside the effect check
        return self._jg()(sql, None, lambda: sup.copy_expert(sql, file, size))

    def copy_to(self, file: Any, table: str, sep: str = "\t", null: str = "\\N",
                columns: Any = None) -> Any:
        cols = f" ({', '.join(columns)})" if columns else ""
        sup: Any = super()
        return self._jg()(f"COPY {table}{cols} TO STDOUT", None,
                          lambda: sup.copy_to(file, table, sep, null, columns))

    def copy_from(self, file: Any, table: str, *args: Any, **kw: Any) -> Any:
        sup: Any = super()
        return self._jg()(f"COPY {table} FROM STDIN", None,
                          lambda: sup.copy_from(file, table, *args, **kw))


@lru_cache(maxsize=64)
def cursor_class(factory: type) -> type:
    if issubclass(factory, GuardedCursorMixin):
        return factory
    return type(f"Guarded{factory.__name__}", (GuardedCursorMixin, factory), {
        "__module__": factory.__module__, "__doc__": factory.__doc__})


class GuardedConnectionMixin:
    """``cursor()`` returns a guarded subclass of whatever cursor factory was asked for; its
    judge is the read-only ``_jg_check``."""

    _jg_check = property(_CHECK_OF, doc="The guard's judge of this connection's statements.")

    def cursor(self, *args: Any, **kw: Any) -> Any:
        import psycopg2.extensions as ext

        factory = kw.get("cursor_factory") or getattr(self, "cursor_factory", None) or ext.cursor
        kw["cursor_factory"] = cursor_class(factory)
        return super().cursor(*args, **kw)  # type: ignore[misc]  # a mixin over psycopg2's C classes


@lru_cache(maxsize=64)
def connection_class(factory: type) -> type:
    if issubclass(factory, GuardedConnectionMixin):
        return factory
    return type(f"Guarded{factory.__name__}", (GuardedConnectionMixin, factory), {
        "__module__": factory.__module__, "__doc__": factory.__doc__})


def _c_check(cur: Any, guard: Guard) -> Checker | None:
    """The judge of a C cursor's statement, or None when it passes (already judged, ours)."""
    con = cur.connection
    if busy() or is_judged(con):
        return None
    check: Checker | None = _CHECK_OF(con)
    return check if check is not None else Checker(guard, con, "psycopg2")


def _patch_c_cursor(ext: Any, guard: Guard) -> None:
    from jupyter_guard.hooks import c_types

    cls = ext.cursor
    o = {n: c_types.original(cls, n) for n in ("execute", "executemany", "callproc",
                                               "copy_expert", "copy_to", "copy_from")}
    if any(getattr(f, "__module__", None) == __name__ for f in o.values()):
        return

    def execute(self: Any, query: Any, vars: Any = None) -> Any:
        c = _c_check(self, guard)
        return o["execute"](self, query, vars) if c is None else \
            c(query, vars, lambda: o["execute"](self, query, vars))

    def executemany(self: Any, query: Any, vars_list: Any) -> Any:
        c = _c_check(self, guard)
        if c is None:
            return o["executemany"](self, query, vars_list)
        rows = list(vars_list)
        return c(query, rows[0] if rows else None, lambda: o["executemany"](self, query, rows),
                 many=True)

    def callproc(self: Any, procname: str, parameters: Any = None) -> Any:
        c = _c_check(self, guard)
        if c is None:
            return o["callproc"](self, procname, parameters)
        text = f"SELECT * FROM {procname}({', '.join(['NULL'] * len(parameters or ()))})"
        return c(text, None, lambda: o["callproc"](self, procname, parameters))

    def copy_expert(self: Any, sql: Any, file: Any, size: int = 8192) -> Any:
        c = _c_check(self, guard)
        return o["copy_expert"](self, sql, file, size) if c is None else \
            c(sql, None, lambda: o["copy_expert"](self, sql, file, size))

    def copy_to(self: Any, file: Any, table: str, *args: Any, **kw: Any) -> Any:
        c = _c_check(self, guard)
        cols = kw.get("columns") or (args[2] if len(args) > 2 else None)
        text = f"COPY {table}{f' ({chr(44).join(cols)})' if cols else ''} TO STDOUT"
        return o["copy_to"](self, file, table, *args, **kw) if c is None else \
            c(text, None, lambda: o["copy_to"](self, file, table, *args, **kw))

    def copy_from(self: Any, file: Any, table: str, *args: Any, **kw: Any) -> Any:
        c = _c_check(self, guard)
        return o["copy_from"](self, file, table, *args, **kw) if c is None else \
            c(f"COPY {table} FROM STDIN", None,
              lambda: o["copy_from"](self, file, table, *args, **kw))

    from jupyter_guard.connections import pg2_libpq

    pg2_libpq.trust_callers(execute, executemany, callproc, copy_expert, copy_to, copy_from)
    for fn in (execute, executemany, callproc, copy_expert, copy_to, copy_from):
        # sealed: False off CPython (c_types): the subclasses still judge
        c_types.patch(cls, fn.__name__, sealed(fn, o[fn.__name__]))


def patch(module: ModuleType, guard: Guard) -> None:
    if getattr(module, "_jupyter_guard_dbapi", False):
        return
    import psycopg2.extensions as ext

    _patch_c_cursor(ext, guard)
    import psycopg2._psycopg as c_module

    from jupyter_guard.connections import pg2_libpq

    pg2_libpq.install(c_module)   # a saved C method's SQL is refused at libpq
    from jupyter_guard.connections import pg2_lobject

    pg2_lobject.patch(ext, guard, _CHECK_OF)   # large objects: no client files, unlinks measured

    orig = module.connect

    def connect(dsn: Any = None, connection_factory: Any = None, cursor_factory: Any = None,
                **kw: Any) -> Any:
        factory = connection_class(connection_factory or ext.connection)
        con = orig(dsn, connection_factory=factory, cursor_factory=cursor_factory, **kw)
        give(con, Checker(guard, con, "psycopg2"))
        return con

    give = _GIVE_CHECK
    connect = sealed(connect, orig)   # its cells (the guard) out of a cell's reach
    module.connect = connect  # type: ignore[attr-defined]  # an attribute the guard sets on a module
    from jupyter_guard.connections.dbapi_proxy import PATCHED  # late: it imports this module

    PATCHED[(module, "connect")] = connect
    module._jupyter_guard_dbapi = True  # type: ignore[attr-defined]  # an attribute the guard sets on a module
