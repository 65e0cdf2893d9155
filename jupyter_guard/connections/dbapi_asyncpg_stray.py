"""asyncpg connections the guard did not open, and methods taken from asyncpg's class: judged
all the same.

``asyncpg.connect`` is replaced when the guard loads, but a reference taken before
(``saved = asyncpg.connect``) still opens plain connections, a pool's proxy hands out its
plain connection as ``proxy._con``, and a method taken from the class
(``f = asyncpg.Connection.execute``, before or after the guard loaded) runs on whatever it is
given. So the statement methods of asyncpg's ``Connection`` are routed through the guard
(``driver_methods``): a call from anywhere but asyncpg's own functions (a pool resetting a
connection, a transaction's ``BEGIN``; known by their code objects, not their file name) or
the guard's (whose guarded views call the driver's
methods) goes through the connection's guarded view (``dbapi_asyncpg_pool._guarded``; its
role's server-file rights cannot be awaited in a plain call, so it is judged as privileged,
which refuses more), or through the guarded view or pool proxy it was applied to.
"""
from __future__ import annotations

from typing import Any

# the methods ``GuardedAsyncpg`` judges (the rest of a connection runs no user SQL)
METHODS = ("execute", "executemany", "fetch", "fetchrow", "fetchval", "fetchmany", "prepare",
           "cursor", "copy_from_query", "copy_from_table", "copy_to_table",
           "copy_records_to_table")


def patch(guard: Any, patched: dict[tuple[Any, str], Any]) -> None:
    """Route user calls of ``asyncpg.connection.Connection``'s statement methods through the
    guard."""
    import asyncpg
    from asyncpg import connection, pool

    from jupyter_guard.connections import driver_methods
    from jupyter_guard.connections.dbapi_asyncpg_pool import _guarded
    from jupyter_guard.connections.dbapi_proxy import _Proxy

    def target(obj: Any) -> Any:
        if isinstance(obj, (_Proxy, pool.PoolConnectionProxy)):
            return obj   # already judged by its own methods
        if isinstance(obj, connection.Connection):
            return _guarded(obj, guard)
        return None

    own = driver_methods.trusted_code(asyncpg)
    driver_methods.reroute(connection.Connection, METHODS, driver_methods.by_target(target), own,
                           patched)
    from asyncpg.protocol import protocol

    from jupyter_guard.connections import asyncpg_protocol

    asyncpg_protocol.patch(protocol.BaseProtocol, own)   # what reaches the body past the route
