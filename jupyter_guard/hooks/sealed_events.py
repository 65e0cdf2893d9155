"""Audit events that reach the guard's sealed trust (``own_code.SEALED``), its closures, or the
process's memory: the self-protection handlers the kernel and every Python child share.

``SEALED`` is a read-only mapping of frozen sets; its own dict, which ``own_code._swap`` adds to,
is reachable from Python only through ``gc.get_referents`` of the mapping (``gc.get_referrers``
and ``gc.get_objects`` are refused too), and any object's memory through ``ctypes``
``from_address``. From user code both are refused as ``self-protection``; a view of a buffer the
user holds (``from_buffer``) and a library's own use of ``from_address`` pass. So are native code
(``ctypes`` loading, looking up or calling a symbol), tracers, profilers and audit hooks.

A closure cell's contents can be set with no audit event at all (``f.__closure__[0].cell_contents
= ...``), so a guard function user code can reach must not hold a decision in a closure: one that
does is handed out ``sealed`` (below), a C callable whose function is reachable only through
``gc.get_referents``, which is refused from user code for it.
"""
from __future__ import annotations

import os
import sys
import threading
import weakref
from functools import _lru_cache_wrapper
from types import FrameType, FunctionType
from typing import Any, NoReturn

from jupyter_guard.hooks import frame_walks, own_code

_CTYPES_SKIP = (os.path.join(os.path.dirname(os.__file__), "ctypes") + os.sep,)


def sealed(fn: Any, like: Any = None) -> Any:
    """``fn`` (a closure of the guard's) behind a C callable that binds as a method and calls it
    with nothing cached: no ``__closure__``, ``__wrapped__`` or ``__code__`` leads to its cells
    (``gc.get_referents`` of it is refused from user code). ``like``: the callable it replaces,
    for its name and doc."""
    w: Any = _lru_cache_wrapper(fn, 0, False, None)  # type: ignore[call-arg]  # the C type, called as functools.lru_cache does
    src = like if like is not None else fn
    w.__name__ = getattr(src, "__name__", fn.__name__)
    w.__qualname__ = getattr(src, "__qualname__", w.__name__)
    w.__doc__ = getattr(src, "__doc__", None)
    w.__module__ = fn.__module__
    w.__signature__ = _signature(src, fn)
    _mark_coroutine(w, fn)
    return w


def _mark_coroutine(w: Any, fn: Any) -> None:
    """A wrapper of a coroutine function carries asyncio's mark, so ``asyncio.iscoroutinefunction``
    (which libraries ask before awaiting) still says so of it."""
    code = getattr(getattr(fn, "__func__", fn), "__code__", None)
    if code is not None and code.co_flags & 0x180:   # CO_COROUTINE | CO_ITERABLE_COROUTINE
        coroutines = sys.modules.get("asyncio.coroutines")
        if coroutines is not None:
            w._is_coroutine = coroutines._is_coroutine


def _signature(*candidates: Any) -> Any:
    """The first signature ``inspect`` can tell of ``candidates`` (the replaced callable's, else
    the closure's), for ``inspect.signature`` callers (a C wrapper has none of its own)."""
    import inspect

    for c in candidates:
        try:
            return inspect.signature(c)
        except Exception:  # noqa: BLE001 - no signature to tell (a C callable's): the next one
            continue
    return None


def sealed_attr(value: Any, like: Any = None) -> Any:
    """``value`` as a class or module attribute, sealed: a function, or a ``property``'s,
    ``staticmethod``'s or ``classmethod``'s function (anything else is returned as it is)."""
    if isinstance(value, property):
        fget, fset, fdel = (sealed_attr(f, getattr(like, n, None)) for f, n in (
            (value.fget, "fget"), (value.fset, "fset"), (value.fdel, "fdel")))
        return property(fget, fset, fdel, value.__doc__)
    if isinstance(value, (staticmethod, classmethod)):
        return type(value)(sealed_attr(value.__func__, getattr(like, "__func__", like)))
    if isinstance(value, FunctionType) and value.__closure__:
        return sealed(value, like)
    return value


def refuse(why: str) -> NoReturn:
    """Refuse a cell's reach for the guard's own state: recorded as ``self-protection`` (the
    kernel guard's refusal, "Blocked by jupyter_guard") and raised as ``PermissionError`` when
    the policy lets it through (audit mode) or no guard runs here."""
    from jupyter_guard.hooks import state  # late: the state imports the guard's parts

    rt = state.current()
    if rt is not None:
        rt.tamper(why, why)
    raise PermissionError(f"jupyter_guard: {why} (self-protection)")


def weak_table(what: str, callers: int = 1) -> tuple[Any, Any]:
    """``(get, give)``: a weak table (an object -> what the guard holds for it) only sealed
    closures reach. A module-level table was filled in place from a cell with no audit event
    (a judge that judges nothing set for a connection); a tuple of sealed callables has no cell,
    attribute or item a cell can change. ``get(key, default=None)``; ``give(key, value)`` sets
    a key once, only when its caller is the guard's code and, with ``callers`` 2 or more (a
    proxy's ``__init__``, a public guard function that gives on its caller's behalf), so are
    the next ones, unless no user code is acting (``user_stack``: a cell's frame or a user
    thread; a test or a library building a proxy with no cell under it may). ``what`` names it
    in the refusal."""
    table: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
    own = own_code.own

    def get(key: Any, default: Any = None) -> Any:
        return table.get(key, default)

    def give(key: Any, value: Any) -> Any:
        first = sys._getframe(1)
        if not own(first.f_code) or (callers > 1 and _made_by_user(first.f_back, callers - 1)):
            refuse(f"{what} is given by the guard, not by user code")
        if key in table:
            refuse(f"{what} is given once")
        table[key] = value
        return value
    return sealed(get), sealed(give)


def guard_callers_only(what: str, skip: tuple[str, ...] = ()) -> None:
    """Refuse (``self-protection``) a call of the function calling this one made by user code
    while user code is acting: ``what`` hands out a driver's own object (its statements then
    unjudged). ``skip``: files whose frames stand between (the function's own, ``contextlib``'s);
    the guard's own calls, and calls with no cell under them (a test, the CLI), pass."""
    f: FrameType | None = sys._getframe(2)
    while f is not None and f.f_code.co_filename in skip:
        f = f.f_back
    if f is not None and _made_by_user(f, 1):
        refuse(f"calls {what}, which hands out the driver's own connection (use the guarded one)")


def _made_by_user(f: FrameType | None, n: int) -> bool:
    """One of the ``n`` frames from ``f`` is not the guard's, and user code is acting."""
    start = f
    for _ in range(n):
        if f is None or not own_code.own(f.f_code):
            from jupyter_guard.hooks import state  # late: the state imports the guard's parts

            rt = state.current()
            return rt is not None and bool(rt.user_stack(start))
        f = f.f_back
    return False


def guard_read(get: Any, part: int, what: str) -> Any:
    """A reader of ``get(key)[part]`` (a ``weak_table``'s) for the guard's code only: a read
    from user code (through a property, ``object.__getattribute__``, the property's ``fget``)
    is refused as ``self-protection``, naming ``what``."""
    own = own_code.own

    def read(key: Any) -> Any:
        if not own(sys._getframe(1).f_code):
            refuse(f"reads {what} (use the guarded connection)")
        return get(key)[part]
    return sealed(read)


def unbound(value: Any, raw: Any) -> Any:
    """``value`` (an attribute read from ``raw``, the driver's object behind a guard proxy) as a
    proxy hands it out: a method bound to ``raw`` would give ``raw`` to whoever reads its
    ``__self__`` (its statements then unjudged), so it is handed out behind a sealed call."""
    if getattr(value, "__self__", None) is not raw or not callable(value):
        return value

    def call(*args: Any, **kw: Any) -> Any:
        return value(*args, **kw)
    return hidden(call, value)


def hidden(fn: Any, like: Any) -> Any:
    """``sealed(fn, like)`` without a signature (``inspect`` costs microseconds): for what a
    proxy hands out on each attribute read, whose closure holds the driver's object."""
    w: Any = _lru_cache_wrapper(fn, 0, False, None)  # type: ignore[call-arg]  # as ``sealed``
    w.__name__ = w.__qualname__ = getattr(like, "__name__", "method")
    w.__doc__ = getattr(like, "__doc__", None)
    _mark_coroutine(w, like)
    return w


def handlers(rt: Any) -> dict[str, Any]:
    """The handlers, for ``integrity``'s table and the child guard's (``child_self``); ``rt``
    tells who is acting (``user_caller``, ``user_stack``) and refuses (``tamper``). What they
    use is taken now: a cell that rebinds ``own_code.own`` or ``SEALED`` later changes nothing
    here."""
    seal, own, hidden = own_code.SEALED, own_code.own, _lru_cache_wrapper

    def on_referents(args: tuple[Any, ...], f: FrameType) -> None:
        """Only the guard's code takes the dict of its sealed trust, or a sealed closure."""
        if f is not None and own(f.f_code):
            return
        objs = args[0]
        if any(o is seal for o in objs) or (any(type(o) is hidden for o in objs)
                                             and rt.user_caller(f)):
            rt.tamper("reaches the guard's sealed trust or its closures (gc.get_referents)",
                      "gc.get_referents(" + type(args[0][0]).__name__ + ")")

    views = threading.local()   # .at: the address a ``from_buffer`` is about to view

    def on_buffer(args: tuple[Any, ...], f: FrameType) -> None:
        views.at = args[0] + args[2] if len(args) > 2 else None

    def on_address(args: tuple[Any, ...], f: FrameType) -> None:
        """``ctypes`` ``from_address`` from user code reads and writes any object's memory
        (the sealed trust's dict, a frozen set): refused; a view of a buffer the user holds
        (``from_buffer``, the address it announced just before) and a library's own use pass."""
        at, views.at = getattr(views, "at", None), None
        if not (args and at is not None and args[0] == at) and rt.user_caller(f):
            rt.tamper("reads or writes memory at an address (ctypes from_address)",
                      f"ctypes from_address {str(args)[:80]}")

    def native(what: str) -> Any:
        def h(args: tuple[Any, ...], f: FrameType) -> None:
            if rt.user_caller(f, _CTYPES_SKIP):
                rt.tamper(f"{what} (native code can bypass the guard)", f"{what} {str(args)[:100]}")
        return h

    def caller(why: str) -> Any:
        def h(args: tuple[Any, ...], f: FrameType) -> None:
            if rt.user_caller(f):
                rt.tamper(why, why)
        return h

    def relayed(why: str) -> Any:
        """Refused to user code, also through a library that hands the objects on
        (``objgraph``): they reach the guard's frames and the driver's objects."""
        def h(args: tuple[Any, ...], f: FrameType) -> None:
            if not (f is not None and own(f.f_code)) and walks.user_takes(f):
                rt.tamper(why, why)
        return h

    reading = threading.local()   # .on: a frame is being read by ``on_getattr``
    walks = frame_walks.Walks(rt)

    def on_getattr(args: tuple[Any, ...], f: FrameType) -> None:
        """A traceback's, generator's or coroutine's frame read, by anyone (``traceback``,
        ``inspect.trace`` or a cell): the guard's frames on its way back that have returned are
        cleared first (their locals held the driver's connection behind a proxy, and a cell
        walking ``e.__traceback__`` to ``tb_frame.f_locals``, even of a harmless error, ran SQL
        on it unjudged); one still running, or a generator's frame of the guard's, is refused to
        user code (``frame_walks``)."""
        if args[1] not in frame_walks.FRAME_ATTRS or (getattr(reading, "on", False)
                                                       and walks.guards(f)):
            return   # (the read below is an event too; a ``__del__`` run meanwhile is not)
        prev, reading.on = getattr(reading, "on", False), True
        try:
            frame = getattr(args[0], args[1])
        finally:
            reading.on = prev
        walks.on_frame_attr(args[0], args[1], frame, f)

    return {"object.__getattr__": on_getattr,
            "gc.get_referents": on_referents, "ctypes.cdata": on_address,
            "ctypes.cdata/buffer": on_buffer,
            "ctypes.dlopen": native("loads a native library"),
            "ctypes.dlsym": native("looks up a native symbol"),
            "ctypes.call_function": native("calls native code"),
            "sys.addaudithook": caller("adds an audit hook"),
            "sys.settrace": caller("installs a tracer"),
            "sys.setprofile": caller("installs a profiler"),
            "gc.get_objects": relayed("walks every object (gc.get_objects)"),
            "gc.get_referrers": relayed("walks object references (gc.get_referrers)"),
            **walks.handlers()}


def borrowed(rt: Any) -> Any:
    """``check(source, filename, frame)``: code user code makes under an installed library's file
    name (``compile``, ``CodeType``/``.replace``) would pass for the library working for its
    caller (``user_caller``, the ``busy`` token): the name is recorded (``own_code.forged``), and
    frames of it are judged as the user's. An import compiling the file's own text is the import
    system's."""
    record, own, libraries = own_code.forged, own_code.own, own_code.LIBRARIES

    def check(source: Any, filename: Any, f: FrameType) -> None:
        if not isinstance(filename, str) or not filename.startswith(libraries) \
                or own(f.f_code):
            return
        if source is not None and f.f_code.co_filename.startswith("<frozen") \
                and source_of(filename) == source:
            return
        if rt.user_stack(f) or rt.user_caller(f):
            record(filename)
    return check


def source_of(path: str) -> bytes | None:
    """The bytes of the file ``path`` (what an import compiles), or None."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None
