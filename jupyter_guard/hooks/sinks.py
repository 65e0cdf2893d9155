"""Run-time SQL sinks: SQL built while a cell runs is decided when it reaches the database.

DuckDB's Python API raises no audit events and its connection type cannot be patched, so:
- ``duckdb.connect`` returns a ``GuardedConnection`` proxy (``isinstance`` still says
  ``DuckDBPyConnection``); ``cursor()`` and ``execute()`` results stay guarded;
- module-level ``duckdb.sql/execute/query/executemany/...`` go through the same check;
- connections already in the user namespace at load time are swapped for proxies;
- SQLAlchemy engines are covered by a ``before_cursor_execute`` listener on ``Engine``.
The check is the one ``%%guarded_sql`` uses (same analysis, same row-count estimate):
``hooks/sql_check.py``; the proxy is ``hooks/duck_conn.py``; this module installs both.
"""
from __future__ import annotations

import os
import sys
from typing import Any

from jupyter_guard.connections import Conn, is_duckdb, unwrap
from jupyter_guard.duck import as_caller
from jupyter_guard.guard.service import Guard
from jupyter_guard.hooks.duck_conn import GuardedConnection as GuardedConnection
from jupyter_guard.hooks.sealed_events import sealed
from jupyter_guard.hooks.sql_check import check_sql as check_sql
from jupyter_guard.hooks.sql_check import judged as judged
from jupyter_guard.hooks.sql_check import refused as refused

# re-exported: the relation hooks, the tests and the benchmarks import these names from here

_MODULE_FUNCS = ("sql", "query", "execute", "executemany", "query_df", "from_query")
_SA_HOOKED: set[int] = set()   # guards whose SQLAlchemy listener is on (it comes when imported)


def install(shell: Any, guard: Guard) -> None:
    import _duckdb
    import duckdb

    originals: dict[int, Any] = {}  # id(original) -> guarded replacement, for names bound earlier
    if getattr(duckdb, "_jupyter_guard_sinks", None) is None:
        orig_connect, orig_default = duckdb.connect, duckdb.default_connection

        def connect(*args: Any, **kw: Any) -> Any:
            _opens_store(guard, args[0] if args else kw.get("database"))
            return GuardedConnection(orig_connect(*args, **kw), guard)

        def default_connection() -> Any:
            return GuardedConnection(orig_default(), guard)

        connect.__doc__ = orig_connect.__doc__
        replaced = {"connect": connect, "default_connection": default_connection}
        if hasattr(duckdb, "set_default_connection"):
            replaced["set_default_connection"] = _set_default(duckdb.set_default_connection)
        if hasattr(duckdb, "create_function"):   # module-level: the same guarded function
            replaced["create_function"] = _module_create(duckdb.create_function)
        for name in _MODULE_FUNCS:
            orig = getattr(duckdb, name, None)
            if orig is not None:
                replaced[name] = _module_func(orig, guard)
        # sealed: a cell that swapped a closure cell (the guard) would switch the check off
        replaced = {n: sealed(fn, getattr(duckdb, n, None)) for n, fn in replaced.items()}
        for module in (duckdb, _duckdb):  # the C module too: `import _duckdb` is a way around
            for name, fn in replaced.items():
                orig = getattr(module, name, None)
                if orig is not None:
                    originals[id(orig)] = fn
                    setattr(module, name, fn)
        duckdb._jupyter_guard_sinks = originals  # type: ignore[attr-defined]  # an attribute the guard sets on a module
    originals = duckdb._jupyter_guard_sinks  # type: ignore[attr-defined]  # set by the guard on the module above
    for name, value in list(shell.user_ns.items()):
        if name.startswith("_"):
            continue
        if is_duckdb(value) and not isinstance(value, GuardedConnection):
            shell.user_ns[name] = GuardedConnection(value, guard)
        elif id(value) in originals:  # `from duckdb import connect` before %load_ext
            shell.user_ns[name] = originals[id(value)]
    guard.plug(runtime_sql=True, sqlalchemy=lambda: id(guard) in _SA_HOOKED)
    from jupyter_guard.hooks import relations  # late: relations calls check_sql from here

    relations.install(guard)
    _sqlalchemy(guard)
    shell.events.register("pre_run_cell", lambda info: _sqlalchemy(guard))
    shell.events.register("pre_run_cell", lambda info: _new_cell(guard))


def _new_cell(guard: Guard) -> None:
    """Rows changed per table count per cell (``max_affected_rows`` over a loop of deletes)."""
    from jupyter_guard.guard.effect import state

    state(guard).cell.clear()


def _opens_store(guard: Guard, database: Any) -> None:
    """User code may not open the audit store, read-only or not (it is the guard's own)."""
    from jupyter_guard.hooks import state
    from jupyter_guard.model import Intent

    rt = state.current()
    if not isinstance(database, (str, os.PathLike)) or rt is None or state.busy():
        return
    path = os.fspath(database)
    if guard.opens_store((Intent("file.read", "path", path),)) and rt.user_stack(sys._getframe(2)):
        rt.decide([Intent("file.read", "path", path)], f"duckdb.connect({path!r})")


def _module_func(orig: Any, guard: Guard) -> Any:
    name = getattr(orig, "__name__", "sql")
    method = name in ("execute", "executemany", "sql", "query", "from_query")

    def f(*args: Any, **kw: Any) -> Any:
        con = unwrap(kw.pop("connection", None)) or _default()
        if method:   # the connection's own method: the measured effect of every parameter
            # set, bound values, result taint, on the connection named or the default one
            return getattr(GuardedConnection(con, guard), name)(*args, **kw)
        # query_df: DuckDB runs it as ``from_df(df).query(name, sql)``, a guarded relation
        return as_caller(orig, *args, connection=con, **kw)
    f.__name__ = name
    f.__doc__ = getattr(orig, "__doc__", None)
    return f


def _module_create(orig: Any) -> Any:
    from jupyter_guard.hooks.udf_taint import wrap_create

    def create(*args: Any, **kw: Any) -> Any:
        if "connection" in kw:
            kw["connection"] = unwrap(kw["connection"])
        return orig(*args, **kw)
    return wrap_create(create)


def _set_default(orig: Any) -> Any:
    def set_default_connection(connection: Any) -> None:
        """DuckDB's own, given the raw connection behind a guarded one (module-level calls on
        the default connection are guarded by the module's functions)."""
        orig(unwrap(connection))
    set_default_connection.__doc__ = getattr(orig, "__doc__", None)
    return set_default_connection


def _default() -> Any:
    """The raw default connection (``duckdb.default_connection`` returns a guarded proxy, which
    DuckDB's C functions refuse as their ``connection``)."""
    import duckdb

    return unwrap(duckdb.default_connection())


def _sqlalchemy(guard: Guard) -> None:
    """Hook SQLAlchemy once it is imported (importing it ourselves would cost ~100 ms)."""
    if "sqlalchemy" not in sys.modules or id(guard) in _SA_HOOKED:
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from jupyter_guard.connections.sqlalchemy import dialect_of

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        dialect = dialect_of(conn.dialect.name)
        check_sql(guard, Conn(conn, "sqlalchemy", dialect), statement, parameters)

    event.listen(Engine, "before_cursor_execute", before)
    _SA_HOOKED.add(id(guard))
