"""The run-time layer's primitives, a leaf every hook imports: the thread-local marks (``busy``:
the guard is working, so the audit hook stays out; ``user``: a thread or work item user code
started) and the installed ``Runtime`` (set once by ``runtime.install``).

``busy`` is a token only the guard's own frames can hold, checked by code identity: ``Busy``
records the frame that entered it, and ``busy()`` is true only while that frame is one of the
guard's own (``own_code``), is live on this thread's stack, and no user code runs between it and
the caller (a cell's frame, code compiled from text, a file outside the installed libraries, or a
callback the guard runs through ``call_user``). Setting ``_tl.busy`` by any spelling from a cell,
or from user code the guard calls back, gets ``False``.
"""
from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any, ParamSpec, TypeVar

from jupyter_guard.hooks.own_code import (
    LIBRARIES,
    PACKAGE_DIR,
    SEALED,
    entered,
    module_frame,
    own,
)

P = ParamSpec("P")
R = TypeVar("R")

_tl = threading.local()  # .busy: the frame doing the guard's work; .user: user code started it
_RT: Any = None                # the installed ``runtime.Runtime``; the hook keeps its own reference
_getframe = sys._getframe


def current() -> Any:
    """The installed ``runtime.Runtime`` (for tests, the benchmark and self-protection)."""
    return _RT


def set_current(rt: Any) -> None:
    global _RT
    _RT = rt



def held(token: Any, frame: FrameType | None, _sealed: Any = SEALED) -> bool:
    """Whether ``token`` (``_tl.busy``) makes ``frame`` the guard's own work: a frame of the
    guard's code, live above ``frame`` on this thread's stack, with no user code in between, and
    the guard's innermost frame there called what acts by name (``own_code.entered``: not a user
    object's method that a builtin or an operator ran)."""
    if type(token) is not FrameType or not own(token.f_code):
        return False
    codes, libraries, barrier, package = _sealed["codes"], LIBRARIES, _BARRIER, PACKAGE_DIR
    forged = _sealed["forged"]   # library names user code made code under: not a library's frame
    above: FrameType | None = None
    while frame is not None:
        code = frame.f_code
        if frame is token or (id(code) in codes and code.co_filename.startswith(package)):
            break
        if code is barrier:
            return False   # a callback the guard runs as user code, and what it calls
        if not code.co_filename.startswith(libraries) or code.co_filename in forged:
            if not (module_frame(frame) if code.co_name == "<module>" else own(code)):
                return False   # user code (a cell, exec'd text, a user's module) between
            break
        above, frame = frame, frame.f_back
    if frame is None or not entered(frame, above):
        return False
    while frame is not None:
        if frame is token:
            return True
        code = frame.f_code
        if code is barrier:
            return False
        if not (id(code) in codes and code.co_filename.startswith(package)) \
                and (not code.co_filename.startswith(libraries) or code.co_filename in forged) \
                and not (module_frame(frame) if code.co_name == "<module>" else own(code)):
            return False
        frame = frame.f_back
    return False   # gone from the stack, or another thread's


def busy() -> bool:
    """Whether the caller runs as the guard's own work (see the module docstring)."""
    token = getattr(_tl, "busy", None)
    return token is not None and held(token, _getframe(1))


class Busy:
    """``with Busy():`` the guard's own work: the hook stays out of it. Holds only in the
    guard's own functions (the frame running the ``with``)."""

    __slots__ = ("prev",)

    def __enter__(self) -> None:
        self.prev = getattr(_tl, "busy", None)
        _tl.busy = _getframe(1)

    def __exit__(self, *exc: object) -> None:
        _tl.busy = self.prev


class UserCode:
    """``with UserCode():`` user code called back from inside the guard's own work is judged
    like any other user code. Prefer ``call_user``: its frame also keeps the callback from
    putting the guard's token back."""

    __slots__ = ("prev",)

    def __enter__(self) -> None:
        self.prev = getattr(_tl, "busy", None)
        _tl.busy = None

    def __exit__(self, *exc: object) -> None:
        _tl.busy = self.prev


def call_user(fn: Callable[P, R], *args: P.args, **kw: P.kwargs) -> R:
    """``fn(*args, **kw)``, user code (a UDF, an adapter, a user object's ``__str__``) called
    from inside the guard's own work: judged like any user code. While this frame is on the
    stack, ``busy()`` below it is false whatever the callback sets, and the thread is marked as
    running user code (``user``): a callback DuckDB runs from a thread of its own (a SQL function
    that is a builtin) has no cell frame under it, and is the user's all the same."""
    prev, was = getattr(_tl, "busy", None), getattr(_tl, "user", False)
    _tl.busy = None
    _tl.user = True
    try:
        return fn(*args, **kw)
    finally:
        _tl.busy, _tl.user = prev, was


_BARRIER = call_user.__code__


def busy_wrap(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` run as the guard's own work (the hook stays out of it); only a function of the
    guard's own is (wrapping anything else runs it as it is)."""
    def wrapped(*args: P.args, **kw: P.kwargs) -> R:
        prev = getattr(_tl, "busy", None)
        _tl.busy = _getframe(0) if own(getattr(fn, "__code__", None)) else None
        try:
            return fn(*args, **kw)
        finally:
            _tl.busy = prev
    wrapped.__wrapped__ = fn  # type: ignore[attr-defined]  # functools.wraps would copy more
    wrapped.__name__ = getattr(fn, "__name__", "wrapped")
    return wrapped


def as_guard(fn: Callable[..., Any], *args: Any) -> None:
    """Run set-up work ``fn(*args)`` as the guard's own, if ``fn`` is the guard's."""
    busy_wrap(fn)(*args)


def verify() -> None:
    """Put the guard object back as loaded (policy, settings, methods) before a decision that user
    code can reach in the middle of a statement (SQL sinks, ``%%guarded_sql``); the guard's own
    work, which the hook stays out of."""
    rt = _RT
    if rt is not None and rt.protect is not None:
        with Busy():
            rt.protect.restore_guard()
