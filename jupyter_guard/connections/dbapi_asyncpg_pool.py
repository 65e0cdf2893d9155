"""asyncpg pools (``asyncpg.create_pool``): every pooled connection is used through the guard.

asyncpg insists that a pool's connections are its own ``Connection`` class (it checks the
type's MRO, so the guard's proxy cannot stand in), and ``pool.acquire()`` hands out a
``PoolConnectionProxy`` whose methods call the class's functions on the pooled connection
directly. So the proxy's methods are patched on the class: each goes through a guarded view of
the pooled connection (``dbapi_asyncpg.GuardedAsyncpg``), made when the pool opens it (whether
its role may write server files is read then). ``pool.execute``/``fetch``/``fetchrow``/
``fetchval``/``executemany``/``copy_*`` acquire such a proxy, so they are judged too. A pool
made before the guard loaded is covered the same way: its connections are judged as ones whose
role may write server files (plpgsql ``EXECUTE`` of run-time text is refused on them).
"""
from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from typing import Any

from jupyter_guard.hooks import own_code
from jupyter_guard.hooks.sealed_events import sealed, weak_table

_PATCHED: dict[str, Any] = {}   # "new": the guard's ``Pool._get_new_connection``


def _views() -> tuple[Any, Any]:
    """A pooled asyncpg connection's guarded view, which its pool proxy's calls go through: held
    in a weak table only sealed closures reach (a module-level table was filled in place from a
    cell, with no audit event: a raw connection stood in as its own view), made by the guard's
    code only. ``guarded(con, guard, privileged)`` the view, ``known(con)`` whether it has one."""
    get, give = weak_table("a pooled connection's guarded view", callers=2)

    def guarded(con: Any, guard: Any, privileged: bool = True) -> Any:
        view = get(con)
        if view is None:
            if not own_code.own(sys._getframe(1).f_code):   # checked before a view is made
                raise PermissionError("jupyter_guard: a pooled connection's guarded view is "
                                      "made by the guard (self-protection)")
            from jupyter_guard.connections.dbapi_asyncpg import AsyncpgChecker, GuardedAsyncpg

            view = give(con, GuardedAsyncpg(con, AsyncpgChecker(guard, con, privileged)))
        return view

    def known(con: Any) -> bool:
        return get(con) is not None
    return sealed(guarded), sealed(known)


_guarded, _known = _views()


def _through_guard(name: str, orig: Callable[..., Any], guard: Any) -> Callable[..., Any]:
    view = _guarded   # held here: a cell that rebinds the module's name changes nothing

    def call_con_method(self: Any, *args: Any, **kw: Any) -> Any:
        con = self._con
        if con is None:
            return orig(self, *args, **kw)   # released to the pool: asyncpg's own error
        return getattr(view(con, guard), name)(*args, **kw)

    out = sealed(call_con_method, orig)   # its cells hold the guard: sealed
    out.__wrapped__ = orig   # as functools.wraps
    return out  # type: ignore[no-any-return]  # the sealed C wrapper


def patch(guard: Any, patched: dict[tuple[Any, str], Any]) -> None:
    """``PoolConnectionProxy``'s methods go through the guard; ``Pool`` reads each new
    connection's role rights once, and opens its connections unwrapped (asyncpg's type check)
    even when it was given the guard's ``asyncpg.connect``."""
    from asyncpg import connection, pool

    cls = pool.PoolConnectionProxy
    for name, fn in list(vars(cls).items()):
        if name.startswith("_") or not inspect.isfunction(fn) or not hasattr(
                connection.Connection, name):
            continue
        wrapped = _through_guard(name, fn, guard)
        setattr(cls, name, wrapped)
        patched[(cls, name)] = wrapped
    orig_new = pool.Pool.__dict__["_get_new_connection"]
    view, known = _guarded, _known

    async def register(con: Any) -> Any:
        from jupyter_guard.connections.pg_judge import PRIVILEGED

        if not known(con):
            try:   # the connection is not yet guarded: this query is the guard's own
                privileged = bool(await con.fetchval(PRIVILEGED))
            except Exception:  # noqa: BLE001 - the role cannot be checked: treated as privileged (refuses more)
                privileged = True
            return view(con, guard, privileged)
        return view(con, guard)

    async def _get_new_connection(self: Any) -> Any:
        given, init = self._connect, self._init
        if getattr(given, "_jg_connect", False):   # the guard's connect: the driver's own
            self._connect = given.__wrapped__
        if init is not None:   # the pool's ``init`` callback gets the guarded connection
            async def guarded_init(con: Any) -> Any:
                return await init(await register(con))

            self._init = guarded_init
        try:
            con = await orig_new(self)
        finally:
            self._connect, self._init = given, init
        await register(con)
        return con

    new = sealed(_get_new_connection, orig_new)   # its cells hold the guard: sealed
    pool.Pool._get_new_connection = new
    _PATCHED["new"] = new
    patched[(pool.Pool, "_get_new_connection")] = new


def covers(obj: Any) -> bool:
    """An asyncpg pool or pooled-connection proxy, once the pool classes are patched (SQL handed
    to it is judged when it runs, in PostgreSQL's dialect)."""
    if type(obj).__module__ != "asyncpg.pool":
        return False
    from asyncpg import pool

    return pool.Pool.__dict__.get("_get_new_connection") is _PATCHED.get("new")
