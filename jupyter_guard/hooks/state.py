"""The run-time layer's primitives, a leaf every hook imports: the thread-local marks (``busy``:
the guard is working, so the audit hook stays out; ``user``: a thread or work item user code
started) and the installed ``Runtime`` (set once by ``runtime.install``)."""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

_tl = threading.local()  # .busy: the guard is working; .user: a thread/work item user code started
_RT: Any = None                # the installed ``runtime.Runtime``; the hook keeps its own reference


def current() -> Any:
    """The installed ``runtime.Runtime`` (for tests, the benchmark and self-protection)."""
    return _RT


def set_current(rt: Any) -> None:
    global _RT
    _RT = rt


def busy() -> bool:
    return getattr(_tl, "busy", False)


class Busy:
    """``with Busy():`` the guard's own work: the hook stays out of it."""

    def __enter__(self) -> None:
        self.prev = getattr(_tl, "busy", False)
        _tl.busy = True

    def __exit__(self, *exc: object) -> None:
        _tl.busy = self.prev


class UserCode:
    """``with UserCode():`` user code called back from inside the guard's own work (a Python
    function DuckDB runs in the middle of a statement the guard measures): the hook judges it
    like any other user code, then the guard's work goes on."""

    def __enter__(self) -> None:
        self.prev = getattr(_tl, "busy", False)
        _tl.busy = False

    def __exit__(self, *exc: object) -> None:
        _tl.busy = self.prev


def busy_wrap(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` run as the guard's own work (the hook stays out of it)."""
    def wrapped(*args: P.args, **kw: P.kwargs) -> R:
        prev = getattr(_tl, "busy", False)
        _tl.busy = True
        try:
            return fn(*args, **kw)
        finally:
            _tl.busy = prev
    wrapped.__wrapped__ = fn  # type: ignore[attr-defined]  # functools.wraps would copy more
    wrapped.__name__ = getattr(fn, "__name__", "wrapped")
    return wrapped


def verify() -> None:
    """Put the guard object back as loaded (policy, settings, methods) before a decision that user
    code can reach in the middle of a statement (SQL sinks, ``%%guarded_sql``); the guard's own
    work, which the hook stays out of."""
    rt = _RT
    if rt is not None and rt.protect is not None:
        with Busy():
            rt.protect.restore_guard()
