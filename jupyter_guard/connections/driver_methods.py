"""Statement methods of pure-Python drivers judged however they are reached.

A proxy guards the calls made on it, and a patched class attribute guards the calls that look
the method up after the guard loaded. Neither covers a method taken from the class
(``f = asyncpg.Connection.execute`` before ``%load_ext``, or ``psycopg.Cursor.execute`` applied
to a guarded cursor, whose attributes the proxy forwards): that function object runs the
driver's own body. So the guard changes the function object itself: its code becomes a short
body that hands the call to ``route`` (the driver's body is kept in a copy), and every
reference to it, however old, reaches the guard. This is the one mechanism for a pure-Python
driver's class-level statement methods: each driver gives the runner that decides a call
(asyncpg: ``dbapi_asyncpg_stray``; psycopg 3: ``dbapi_psycopg``).

``route`` sends a call from the driver's trusted code (asyncpg's own functions and the guard's:
a pool resetting a connection) to the driver's body, and any other call to the driver's runner.
Trust goes by the identity of the calling frame's code object, never by its file name (code
compiled under asyncpg's file name, or a function whose code was ``replace``-d, is a new code
object): the driver's code is collected from its loaded modules when its methods are routed,
the guard's from the guard's modules (again when a frame of one of them is not yet known).
``by_target`` calls the method on the guarded object (the proxy it was applied to, or a guarded
view of a driver object the guard did not open) and refuses anything else (the guard cannot
tell which connection it would run on). Generator functions (psycopg's ``stream``) and the
generator inside a ``contextlib`` context manager (psycopg's ``copy``) are routed too. Setting
a routed function's code is refused as tampering, and a routed method replaced on its class is
put back before the next cell (``hooks.integrity``). psycopg2's methods are C code and cannot
be reached this way (``dbapi_pg2`` patches its C type's dictionary).
"""
from __future__ import annotations

import inspect
import sys
import types
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from jupyter_guard.errors import GuardBlocked

ROUTE = "__jupyter_guard_route__"   # the global the routed bodies call, in the driver's module


@dataclass(frozen=True)
class Routed:
    name: str
    body: Callable[..., Any]                    # a copy of the driver's own function
    run: Runner                                 # runs a call that is not trusted (see ``route``)
    trusted: Collection[Any]                    # driver code whose calls run its body


# (the routed method, the object it was applied to, args, kwargs) -> what the call returns
Runner = Callable[["Routed", Any, tuple[Any, ...], dict[str, Any]], Any]


_ROUTED: dict[str, Routed] = {}


class _Templates:
    """The routed methods' code (a frame of one: the route was called). Membership holds only
    for code the guard made from its own template (``own_code``: listed, from a guard file), so
    code user code adds to the set in place is no template."""

    __slots__ = ("_codes",)

    def __init__(self) -> None:
        self._codes: set[Any] = set()

    def add(self, code: Any) -> None:
        self._codes.add(code)

    def __contains__(self, code: Any) -> bool:
        from jupyter_guard.hooks import own_code  # late: connections load before hooks

        return code in self._codes and own_code.own(code) and \
            code.co_filename == _sync.__code__.co_filename


class _Functions:
    """The routed functions, which self-protection refuses changing (``hooks.integrity``): a
    function whose code is a routed template is one, whatever user code removed from the set."""

    __slots__ = ("_fns",)

    def __init__(self) -> None:
        self._fns: list[Any] = []

    def add(self, fn: Any) -> None:
        self._fns.append(fn)

    def __iter__(self) -> Any:
        return iter(list(self._fns))

    def __contains__(self, fn: Any) -> bool:
        return any(f is fn for f in self._fns) or (
            type(fn) is types.FunctionType and fn.__code__ in TEMPLATES)


TEMPLATES = _Templates()
FUNCTIONS = _Functions()


def route(key: str, self: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
    """The body of every routed method (``_sync``/``_async`` call it)."""
    r = _ROUTED[key]
    if type(r) is not Routed or not _guards(r.run):
        raise GuardBlocked("self-protection", f"the guard's route of {key} was replaced; "
                           "restart the kernel", approval_hint=False)
    if r.trusted and _trusted(sys._getframe(2), r.trusted):
        return r.body(self, *args, **kw)
    return r.run(r, self, args, kw)


def bodies() -> frozenset[Any]:
    """The code of the driver's own bodies of the methods routed so far, taken now. No table:
    whoever looks frames past by it (``asyncpg_protocol``) keeps what it took when it was
    installed, a frozen set user code can neither add to nor rebind."""
    return frozenset(r.body.__code__ for r in list(_ROUTED.values())
                     if type(r) is Routed and type(r.body) is types.FunctionType)


def _guards(run: Any) -> bool:
    """``run`` is a runner of the guard's own (a function its modules made: ``own_code``), not
    one user code put in ``_ROUTED``."""
    from jupyter_guard.hooks import own_code  # late: connections load before hooks

    return own_code.own(getattr(run, "__code__", None))


def body_of(cls: type, name: str) -> Callable[..., Any] | None:
    """The driver's own body of the routed method ``name`` as ``cls`` resolves it (None: not
    routed)."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            r = _ROUTED.get(f"{klass.__module__}.{klass.__qualname__}.{name}")
            return None if r is None else r.body
    return None


def _trusted(frame: Any, driver: Collection[Any]) -> bool:
    return frame.f_code in driver or is_guard_code(frame)


def is_guard_code(frame: Any) -> bool:
    """``frame`` runs a function of the guard's own modules, by code identity (``own_code``:
    the code objects its modules defined, and only code compiled from a guard file; no table of
    this module's that user code could add its own code to)."""
    from jupyter_guard.hooks import own_code  # late: connections load before hooks

    return own_code.own(frame.f_code)


def codes(*modules: Any) -> set[Any]:
    """The code objects of the functions defined in ``modules`` (their classes' methods,
    properties and the functions nested in them)."""
    out: set[Any] = set()
    todo: list[Any] = []
    for m in modules:
        todo.extend(v for v in vars(m).values()
                    if getattr(v, "__module__", None) == m.__name__ or isinstance(v, type))
    seen: set[int] = set()
    while todo:
        v = todo.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        if isinstance(v, types.CodeType):
            out.add(v)
            todo.extend(c for c in v.co_consts if isinstance(c, types.CodeType))
        elif isinstance(v, type):
            if v.__module__ in {m.__name__ for m in modules}:
                todo.extend(vars(v).values())
        elif isinstance(v, (staticmethod, classmethod)):
            todo.append(v.__func__)
        elif isinstance(v, property):
            todo.extend(f for f in (v.fget, v.fset, v.fdel) if f is not None)
        elif isinstance(v, types.FunctionType):
            todo.append(v.__code__)
            todo.extend(f for f in (getattr(v, "__wrapped__", None),) if f is not None)
    return out


def unknown(r: Routed, obj: Any) -> GuardBlocked:
    """The refusal of a routed method applied to an object that is no connection or cursor
    the guard can judge for (an object forwarding to one)."""
    return GuardBlocked("sql-parse-error", f"{r.name}() was called on {type(obj).__name__}, "
                        "which is not a connection the guard knows: call the method on the "
                        "connection or cursor itself", approval_hint=False)


def by_target(target: Callable[[Any], Any]) -> Runner:
    """A runner that calls the method on ``target(obj)``, the object's guarded stand-in (None:
    refused)."""
    def run(r: Routed, self: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        guarded = target(self)
        if guarded is None:
            raise unknown(r, self)
        return getattr(guarded, r.name)(*args, **kw)

    return run


globals()[ROUTE] = route


def _sync(self: Any, *args: Any, **kw: Any) -> Any:
    return __jupyter_guard_route__("KEY", self, args, kw)  # type: ignore[name-defined]  # noqa: F821 - set above, and in the driver's module


async def _async(self: Any, *args: Any, **kw: Any) -> Any:
    return await __jupyter_guard_route__("KEY", self, args, kw)  # type: ignore[name-defined]  # noqa: F821 - set above, and in the driver's module


def trusted_code(*packages: Any) -> frozenset[Any]:
    """The code of every loaded module of these packages (taken now: code made later is not
    the driver's)."""
    prefixes = tuple(p.__name__ for p in packages)
    mods = [m for n, m in list(sys.modules.items())
            if m is not None and (n in prefixes or n.startswith(tuple(f"{p}." for p in prefixes)))]
    return frozenset(codes(*mods))


def reroute(cls: type, names: tuple[str, ...], run: Runner,
            trusted: Collection[Any], patched: dict[tuple[Any, str], Any]) -> None:
    """Route ``cls``'s own functions ``names`` through the guard (once: a second load finds
    them routed, and only the runner is renewed). A generator function's body becomes a plain
    function that returns what ``run`` returns (an iterator); for a context manager made by
    ``contextlib`` the generator it wraps is routed. ``trusted``: the driver's code whose calls
    run its body, the guard's too (empty: no caller is trusted). ``patched`` gets each routed
    method and the global ``route`` of each driver module (self-protection puts them back)."""
    for name in names:
        attr = cls.__dict__.get(name)
        fn = getattr(attr, "__wrapped__", attr) if getattr(attr, "__closure__", None) else attr
        key = f"{cls.__module__}.{cls.__qualname__}.{name}"
        if not isinstance(fn, types.FunctionType) or fn.__closure__:
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
            template = _async if inspect.iscoroutinefunction(fn) else _sync   # generators too
            code = template.__code__
            code = code.replace(co_consts=tuple(key if c == "KEY" else c for c in code.co_consts),
                                co_name=fn.__name__)
            if sys.version_info >= (3, 11):   # tracebacks name the driver's method
                code = code.replace(co_qualname=fn.__qualname__)
            _ROUTED[key] = Routed(name, body, run, trusted)
            from jupyter_guard.hooks import own_code  # late: connections load before hooks

            own_code.made(code)   # its frame sits between the guard's work and the driver
            TEMPLATES.add(code)
            fn.__code__, fn.__defaults__, fn.__kwdefaults__ = code, None, None
            FUNCTIONS.add(fn)
        else:
            _ROUTED[key] = Routed(name, _ROUTED[key].body, run, trusted)
        patched[(cls, name)] = attr   # a class attribute set anew is put back before each cell

