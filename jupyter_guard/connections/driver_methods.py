"""Statement methods of pure-Python drivers judged however they are reached.

A proxy guards the calls made on it, and a patched class attribute guards the calls that look
the method up after the guard loaded. Neither covers a method taken from the class
(``f = asyncpg.Connection.execute`` before ``%load_ext``, or ``psycopg.Cursor.execute`` applied
to a guarded cursor, whose attributes the proxy forwards): that function object runs the
driver's own body. So the guard changes the function object itself: its code becomes a short
body that hands the call to ``route`` (the driver's body is kept in a copy), and every
reference to it, however old, reaches the guard.

``route`` sends a call from the driver's own modules or the guard's (a proxy running the
statement it judged, asyncpg's pool resetting a connection) to the driver's body, and any
other call to the guarded object: the proxy the method was applied to, or a guarded view of a
driver object the guard did not open. Anything else is refused: the guard cannot tell which
connection it would run on. Setting a routed function's code is refused as tampering, and a
routed method replaced on its class is put back before the next cell (``hooks.integrity``).
Generators and context managers (psycopg's ``stream``, ``copy``)
keep their own code; psycopg2's methods are C code and cannot be reached this way.
"""
from __future__ import annotations

import inspect
import os
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jupyter_guard.errors import GuardBlocked

ROUTE = "__jupyter_guard_route__"   # the global the routed bodies call, in the driver's module


@dataclass(frozen=True)
class Routed:
    name: str
    body: Callable[..., Any]                    # a copy of the driver's own function
    target: Callable[[Any], Any]                # the object -> its guarded stand-in, BODY, None
    trusted: tuple[str, ...]                    # folders whose calls run the driver's body


_ROUTED: dict[str, Routed] = {}
# self-protection refuses setting the code (or anything else) of these (``hooks.integrity``)
FUNCTIONS: set[Any] = set()
BODY = object()   # a target's answer: run the driver's own body (an object the guard opened)


def route(key: str, self: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
    """The body of every routed method (``_sync``/``_async`` call it)."""
    r = _ROUTED[key]
    if sys._getframe(2).f_code.co_filename.startswith(r.trusted):
        return r.body(self, *args, **kw)
    guarded = r.target(self)
    if guarded is BODY:
        return r.body(self, *args, **kw)
    if guarded is None:
        raise GuardBlocked("sql-parse-error", f"{r.name}() was called on "
                           f"{type(self).__name__}, which is not a connection the guard knows: "
                           "call the method on the connection or cursor itself",
                           approval_hint=False)
    return getattr(guarded, r.name)(*args, **kw)


globals()[ROUTE] = route


def _sync(self: Any, *args: Any, **kw: Any) -> Any:
    return __jupyter_guard_route__("KEY", self, args, kw)  # type: ignore[name-defined]  # noqa: F821 - set above, and in the driver's module


async def _async(self: Any, *args: Any, **kw: Any) -> Any:
    return await __jupyter_guard_route__("KEY", self, args, kw)  # type: ignore[name-defined]  # noqa: F821 - set above, and in the driver's module


def trusted_dirs(*modules: Any) -> tuple[str, ...]:
    """The folders of these packages (and the guard's), as imported and with links resolved."""
    import jupyter_guard

    dirs = [os.path.dirname(m.__file__ or "") for m in (*modules, jupyter_guard)]
    return tuple({os.path.join(f(d), "") for d in dirs if d
                  for f in (os.path.abspath, os.path.realpath)})


def reroute(cls: type, names: tuple[str, ...], target: Callable[[Any], Any],
            trusted: tuple[str, ...], patched: dict[tuple[Any, str], Any]) -> None:
    """Route ``cls``'s own functions ``names`` through the guard (once: a second load finds
    them routed, and only the target is renewed). ``patched`` gets each routed method and the
    global ``route`` of each driver module (self-protection puts them back)."""
    for name in names:
        fn = cls.__dict__.get(name)
        key = f"{cls.__module__}.{cls.__qualname__}.{name}"
        if not isinstance(fn, types.FunctionType) or fn.__closure__ or \
                inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
            continue
        module = sys.modules.get(str(fn.__globals__.get("__name__")))
        if module is None or vars(module) is not fn.__globals__:
            continue   # no module to hold ``route`` for it: left as it is
        setattr(module, ROUTE, route)   # the routed body finds it among its own globals
        patched[(module, ROUTE)] = route
        if key not in _ROUTED:
            body = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__)
            body.__kwdefaults__ = fn.__kwdefaults__
            body.__qualname__ = fn.__qualname__
            template = _async if inspect.iscoroutinefunction(fn) else _sync
            code = template.__code__
            code = code.replace(co_consts=tuple(key if c == "KEY" else c for c in code.co_consts),
                                co_name=fn.__name__)
            if sys.version_info >= (3, 11):   # tracebacks name the driver's method
                code = code.replace(co_qualname=fn.__qualname__)
            _ROUTED[key] = Routed(name, body, target, trusted)
            fn.__code__, fn.__defaults__, fn.__kwdefaults__ = code, None, None
            FUNCTIONS.add(fn)
        else:
            _ROUTED[key] = Routed(name, _ROUTED[key].body, target, trusted)
        patched[(cls, name)] = fn   # a class attribute set anew is put back before each cell

