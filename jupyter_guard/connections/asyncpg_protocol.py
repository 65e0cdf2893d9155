"""asyncpg's protocol sends only what a routed method or the guard asked for.

asyncpg's ``Connection`` methods are routed through the guard (``driver_methods``), but the
driver's own body of a routed method can still be reached without the route: a copy of its
code made before ``%load_ext`` (``types.FunctionType(asyncpg.Connection.execute.__code__,
...)``), or the kept body found through the route's globals. Both end in asyncpg's protocol
object (``_protocol.query``, ``prepare``, ``bind_execute``, ``copy_out``, ...: a Cython type),
which sends the SQL to the server. So those methods are replaced in the protocol type's own
dictionary (``hooks.c_types``): a call passes only when, walking up from it past asyncpg's own
frames, the first frame that is not asyncpg's is either a routed method's frame (its code is a
routed template and its globals hold the guard's route, so the route judged or trusted the call)
or the guard's own code (by code identity). A cursor or prepared statement the guard handed out
is iterated from the guard's frames; anything else is refused (``self-protection``).
"""
from __future__ import annotations

import sys
from typing import Any

from jupyter_guard.errors import GuardBlocked

SENDS = ("query", "prepare", "bind_execute", "bind_execute_many", "bind", "execute",
         "copy_out", "copy_in")


def allowed(frame: Any, skip: frozenset[Any]) -> bool:
    """Whether the protocol call made from ``frame`` comes from a routed method or the guard;
    ``skip``: asyncpg's own code and the routed bodies, frozen when the gate was installed (no
    table user code could add its own code to, or rebind)."""
    from jupyter_guard.connections import driver_methods as dm

    while frame is not None:
        code = frame.f_code
        if code in dm.TEMPLATES:
            return frame.f_globals.get(dm.ROUTE) is dm.route
        if code in skip:
            frame = frame.f_back
            continue
        return dm.is_guard_code(frame)
    return False


def _refused(name: str) -> GuardBlocked:
    return GuardBlocked("self-protection", f"asyncpg's protocol.{name}() was reached past the "
                        "guard (a copy of a connection method's code, or its kept body): call "
                        "the method on the connection itself", approval_hint=False)


def patch(protocol_type: type, asyncpg_code: frozenset[Any]) -> bool:
    """Gate ``protocol_type``'s sending methods (False: not possible here)."""
    from jupyter_guard.connections import driver_methods as dm
    from jupyter_guard.hooks import c_types

    skip = frozenset(asyncpg_code) | dm.bodies()   # and the bodies routed by now
    ok = True
    for name in SENDS:
        orig = c_types.original(protocol_type, name)
        if orig is None or getattr(orig, "__module__", None) == __name__:
            continue
        ok = c_types.patch(protocol_type, name, _gate(name, orig, skip)) and ok
    return ok


def _gate(name: str, orig: Any, skip: frozenset[Any]) -> Any:
    def gate(self: Any, *args: Any, **kw: Any) -> Any:
        if not allowed(sys._getframe(1), skip):
            raise _refused(name)
        return orig(self, *args, **kw)

    gate.__name__ = gate.__qualname__ = name
    from jupyter_guard.hooks.sealed_events import sealed

    return sealed(gate)   # its closure holds ``skip``: no cell reaches it (``sealed``)
