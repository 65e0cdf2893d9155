"""The guard's own DuckDB connections: never the guarded proxies user code gets, and in-memory
instances that a forked child never frees.

A DuckDB instance runs worker threads. A forked child has none of them, and freeing an instance
there (when the child drops its thread-local data at fork time, or at its normal shutdown) joins
threads that do not exist: the child dies with SIGSEGV or SIGABRT. So each in-memory instance
the guard keeps (``Scratch``) is shared by the process under a lock, and a child starts its own
and keeps one reference to the parent's forever. DuckDB's module-level default connection has
the same trait, which is why the guard parses with an instance of its own (``PARSER``).

User code leaves such instances behind too: a connection in a reference cycle (a traceback that
holds the frame of a refused ``con.execute``, an object that points at itself) waits for the
cyclic garbage collector. A forked child (the pty child of ``!cmd`` runs the guard's check before
its ``exec``) would collect it on its first collection and die silently before the command ran.
So a forked child freezes the objects it inherits (``gc.freeze``): the collector never frees them
there, and whatever the child makes itself is collected as usual.
"""
from __future__ import annotations

import contextlib
import gc
import os
import sys
import threading
from collections.abc import Iterator
from functools import _lru_cache_wrapper
from types import FrameType
from typing import Any

import duckdb


def own_connection(database: str, **kw: Any) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect`` without the guard's proxy (its statements are the guard's own, not user
    SQL to be judged, nor tables the user's session created); the guard's code only."""
    _guard_only("jupyter_guard.duck.own_connection")
    con = duckdb.connect(database, **kw)
    try:
        raw: duckdb.DuckDBPyConnection = object.__getattribute__(con, "_jg_con")
        return raw
    except AttributeError:
        return con


_KEEP = object()
_SKIP = (__file__, contextlib.__file__)


def _guard_only(what: str) -> None:
    from jupyter_guard.hooks.sealed_events import guard_callers_only  # late: hooks import this

    guard_callers_only(what, _SKIP)


# Frames DuckDB's replacement scans would not look in without the guard: the guard's own, DuckDB's
# (it skips its own), and IPython's around a cell magic (``%%guarded_sql ... FROM df``).
_NOT_THE_CALLER = ("jupyter_guard", "duckdb", "IPython.", "ipykernel.")
_CALL = compile("_jg_out = _jg_fn(*_jg_args, **_jg_kw)", __file__, "exec")


def _caller() -> FrameType | None:
    frame: FrameType | None = sys._getframe(2)
    while frame is not None and str(frame.f_globals.get("__name__") or "").startswith(
            _NOT_THE_CALLER):
        frame = frame.f_back
    return frame


def as_caller(fn: Any, *args: Any, **kw: Any) -> Any:
    """``fn(*args, **kw)`` (a DuckDB call that runs user SQL) made as if from the user's frame.

    DuckDB reads Python variables named in a statement (``SELECT * FROM df``, a replacement
    scan) from the first frame outside its own package. Called from the guard, that frame is the
    guard's, and every such statement failed with "Table with name df does not exist". The call
    runs here in a frame with the user's globals and a copy of the user's locals (plus its own
    four names), so DuckDB sees what it would see without the guard."""
    frame = _caller()
    if frame is None:
        return fn(*args, **kw)
    local = {} if frame.f_locals is frame.f_globals else dict(frame.f_locals)
    local.update(_jg_fn=fn, _jg_args=args, _jg_kw=kw)
    try:
        exec(_CALL, frame.f_globals, local)   # the guard's own one-line code object
        return local["_jg_out"]
    finally:
        local.clear()   # a traceback keeps the exec's frame, whose locals are this dict: ``fn``
        #                 is a method bound to the driver's connection


class Scratch:
    """One in-memory DuckDB for the process, used by one caller at a time, the guard's code only:
    the connection is kept in a sealed closure (no attribute, cell or ``__closure__`` reaches
    it), and ``connection`` refuses a call from user code (a cell holding it ran statements on
    a raw DuckDB, attaching files, unjudged)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        held: list[duckdb.DuckDBPyConnection | None] = [None]

        def hold(con: Any = _KEEP) -> duckdb.DuckDBPyConnection | None:
            _guard_only("the guard's scratch DuckDB")
            if con is not _KEEP:
                held[0] = con
            return held[0]
        def forget() -> None:   # in a forked child (no caller check: it hands nothing out)
            if held[0] is not None:
                _never_free(held[0])
            held[0] = None
        self._hold: Any = _lru_cache_wrapper(hold, 0, False, None)  # type: ignore[call-arg]  # sealed, as ``hooks.sealed_events.sealed``
        self._forget: Any = _lru_cache_wrapper(forget, 0, False, None)  # type: ignore[call-arg]  # as ``_hold``
        os.register_at_fork(after_in_child=self.after_fork_in_child)

    @contextlib.contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.lock:
            con = self._hold()
            if con is None:
                con = self._hold(own_connection(":memory:"))
            assert con is not None
            yield con

    def after_fork_in_child(self) -> None:
        self._forget()
        self.lock = threading.Lock()


def _never_free(obj: object) -> None:
    """Hold one reference to ``obj`` that is never released, so that not even the interpreter's
    shutdown frees it (a parent's DuckDB instance, unusable in a forked child)."""
    import ctypes

    ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))


os.register_at_fork(after_in_child=gc.freeze)
PARSER = Scratch()   # ``extract_statements``: DuckDB's own split and statement types
