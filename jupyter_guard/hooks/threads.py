"""The user-origin mark travels into threads and executor work items that user code starts.

``Thread.start`` remembers whether user code started the thread; the thread's bootstrap sets the
thread-local mark before the target runs. ``ThreadPoolExecutor.submit`` (and so
``loop.run_in_executor`` and ``asyncio.to_thread``, whose default executor may be shared with the
kernel) marks only the work item, for the time it runs. Processes forked by user code inherit
the stack and the mark. Not covered: ``_thread.start_new_thread`` called directly with a
built-in as the target (no Python frame of the user's on the new thread's stack).
"""
from __future__ import annotations

import concurrent.futures
import sys
import threading
from typing import Any

from jupyter_guard.hooks import sealed_events
from jupyter_guard.hooks.state import _tl, busy

PATCHED: dict[tuple[type, str], Any] = {}   # (class, attribute) -> the guard's replacement


def user_run(fn: Any, *args: Any, **kw: Any) -> Any:
    """``fn(*args, **kw)``, work user code started: this frame at the bottom of the thread's
    stack marks it as user code by code identity (``runtime.user_stack``), whatever the work
    later does to the thread-local ``user`` mark."""
    return fn(*args, **kw)


USER_RUN = user_run.__code__


def _marked(fn: Any) -> Any:
    def run(*args: Any, **kw: Any) -> Any:
        prev = getattr(_tl, "user", False)
        _tl.user = True
        try:
            return user_run(fn, *args, **kw)
        finally:
            _tl.user = prev
    return run


def install(rt: Any) -> None:
    if getattr(threading.Thread.start, "_jg", False):
        return
    orig_start = threading.Thread.start
    orig_boot = threading.Thread._bootstrap_inner  # type: ignore[attr-defined]  # CPython's private method, not in typeshed
    orig_submit = concurrent.futures.ThreadPoolExecutor.submit

    def start(self: threading.Thread) -> None:
        caller = sys._getframe(1)   # executor workers are marked per work item, not per thread
        if caller.f_code.co_name != "_adjust_thread_count" and not busy() \
                and rt.user_stack(caller):
            self._jg_user = True  # type: ignore[attr-defined]  # a mark on the guard's own wrapper
        orig_start(self)

    def _bootstrap_inner(self: threading.Thread) -> None:
        if getattr(self, "_jg_user", False):
            _tl.user = True
            user_run(orig_boot, self)
        else:
            orig_boot(self)

    def submit(self: Any, fn: Any, /, *args: Any, **kw: Any) -> Any:
        if not busy() and rt.user_stack(sys._getframe(1)):
            fn = _marked(fn)
        return orig_submit(self, fn, *args, **kw)

    for cls, name, fn in ((threading.Thread, "start", start),
                          (threading.Thread, "_bootstrap_inner", _bootstrap_inner),
                          (concurrent.futures.ThreadPoolExecutor, "submit", submit)):
        # sealed: its closure holds ``rt``, which a cell could otherwise swap (no audit event)
        fn = sealed_events.sealed(fn, getattr(cls, name))
        fn._jg = True  # a mark on the guard's own wrapper
        setattr(cls, name, fn)
        PATCHED[(cls, name)] = fn
