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
from types import FrameType
from typing import Any

import duckdb


def own_connection(database: str, **kw: Any) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect`` without the guard's proxy (its statements are the guard's own, not user
    SQL to be judged, nor tables the user's session created)."""
    con = duckdb.connect(database, **kw)
    try:
        raw: duckdb.DuckDBPyConnection = object.__getattribute__(con, "_jg_con")
        return raw
    except AttributeError:
        return con


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
    """One in-memory DuckDB for the process, used by one caller at a time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.con: duckdb.DuckDBPyConnection | None = None
        os.register_at_fork(after_in_child=self.after_fork_in_child)

    @contextlib.contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.lock:
            if self.con is None:
                self.con = own_connection(":memory:")
            yield self.con

    def after_fork_in_child(self) -> None:
        if self.con is not None:
            _never_free(self.con)
        self.con, self.lock = None, threading.Lock()


def _never_free(obj: object) -> None:
    """Hold one reference to ``obj`` that is never released, so that not even the interpreter's
    shutdown frees it (a parent's DuckDB instance, unusable in a forked child)."""
    import ctypes

    ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))


os.register_at_fork(after_in_child=gc.freeze)
PARSER = Scratch()   # ``extract_statements``: DuckDB's own split and statement types
