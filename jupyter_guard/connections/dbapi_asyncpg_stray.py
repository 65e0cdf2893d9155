"""asyncpg connections the guard did not open: judged all the same.

``asyncpg.connect`` is replaced when the guard loads, but a reference taken before
(``saved = asyncpg.connect``) still opens plain connections, and a pool's proxy hands out its
plain connection as ``proxy._con``. So the statement methods of asyncpg's ``Connection`` class
are patched: a call from anywhere but asyncpg's own modules (a pool resetting a connection, a
transaction's ``BEGIN``) or the guard's (whose guarded views call the driver's methods) goes
through the connection's guarded view (``dbapi_asyncpg_pool._guarded``; its role's server-file
rights cannot be awaited in a plain call, so it is judged as privileged, which refuses more).
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

# the methods ``GuardedAsyncpg`` judges (the rest of a connection runs no user SQL)
METHODS = ("execute", "executemany", "fetch", "fetchrow", "fetchval", "fetchmany", "prepare",
           "cursor", "copy_from_query", "copy_from_table", "copy_to_table",
           "copy_records_to_table")


def _trusted_dirs() -> tuple[str, ...]:
    import asyncpg

    import jupyter_guard

    dirs = [os.path.dirname(m.__file__ or "") for m in (asyncpg, jupyter_guard)]
    # as the modules were imported (their code's file names) and with links resolved
    return tuple({os.path.join(f(d), "") for d in dirs if d
                  for f in (os.path.abspath, os.path.realpath)})


def _routed(name: str, orig: Callable[..., Any], guard: Any,
            trusted: tuple[str, ...]) -> Callable[..., Any]:
    from jupyter_guard.connections.dbapi_asyncpg_pool import _guarded

    def method(self: Any, *args: Any, **kw: Any) -> Any:
        caller = sys._getframe(1).f_code.co_filename
        if caller.startswith(trusted):   # the driver itself, or the guard's own view of it
            return orig(self, *args, **kw)
        return getattr(_guarded(self, guard), name)(*args, **kw)

    method.__name__ = name
    method.__qualname__ = f"Connection.{name}"
    method.__doc__ = orig.__doc__
    method.__wrapped__ = orig  # type: ignore[attr-defined]  # as functools.wraps
    return method


def patch(guard: Any, patched: dict[tuple[Any, str], Any]) -> None:
    """Route user calls of ``asyncpg.connection.Connection``'s statement methods through the
    guard (once: a second load finds them patched)."""
    from asyncpg import connection

    cls = connection.Connection
    trusted = _trusted_dirs()
    for name in METHODS:
        orig = cls.__dict__.get(name)
        if orig is None or getattr(orig, "_jg_routed", False):
            continue
        routed = _routed(name, orig, guard, trusted)
        routed._jg_routed = True  # type: ignore[attr-defined]  # marks the guard's own
        setattr(cls, name, routed)
        patched[(cls, name)] = routed
