"""psycopg's libpq layer (``con.pgconn``): SQL sent below the cursors is refused.

``con.pgconn.exec_(b"DELETE FROM orders")``, ``send_query``, ``exec_params``, ``prepare`` and
``exec_prepared`` ... send SQL straight to the server, below every cursor the guard judges.
Their statements cannot be judged there (the connection's lock may be held, and the effect check
needs the connection), so the methods of psycopg's ``PGconn`` type that send SQL are replaced in
the type's own dictionary (``hooks.c_types``, the C type of ``psycopg_binary`` included) and let
through only:
- a statement a cursor method is running after the guard judged it (``dbapi.judged_on``), and
  the guard's own queries (``Busy``);
- psycopg's own bookkeeping, which changes no data: transaction control (``BEGIN``, ``COMMIT``,
  ``ROLLBACK``, savepoints, two-phase commit, what ``con.commit()`` sends), server-side
  cursors' ``FETCH``, ``MOVE`` and ``CLOSE``, and ``DEALLOCATE``: one statement each;
- commands psycopg's pipeline queued while a judged statement ran (sent later from its queue,
  which the guard's ``_Queue`` marks as judged when they were queued).
Anything else is refused (``self-protection``) with a message naming ``cursor.execute``.
"""
from __future__ import annotations

import re
from collections import deque
from typing import Any

from jupyter_guard.connections.dbapi import is_judged, judged_on
from jupyter_guard.errors import GuardBlocked
from jupyter_guard.hooks.sealed_events import sealed
from jupyter_guard.hooks.state import busy

SENDS_TEXT = ("exec_", "exec_params", "send_query", "send_query_params", "prepare",
              "send_prepare")
SENDS_NAME = ("exec_prepared", "send_query_prepared")   # a prepared statement's name, no text

_BOOKKEEPING = re.compile(
    rb"\s*(BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK|ABORT|SAVEPOINT|RELEASE|"
    rb"PREPARE\s+TRANSACTION|FETCH|MOVE|CLOSE|DEALLOCATE)\b[^;]*;?\s*", re.IGNORECASE)


def bookkeeping(command: Any) -> bool:
    """One statement of psycopg's own that changes no data.

    >>> bookkeeping(b"COMMIT"), bookkeeping(b'FETCH FORWARD 1 FROM "c"')
    (True, True)
    >>> bookkeeping(b"DELETE FROM t"), bookkeeping(b"CLOSE x; DROP TABLE t")
    (False, False)
    >>> bookkeeping(b"COMMIT PREPARED 'x'"), bookkeeping(b"PREPARE d AS DELETE FROM t")
    (True, False)
    >>> bookkeeping(b"COMMIT; DELETE FROM t"), bookkeeping(b"ROLLBACK TO SAVEPOINT s")
    (False, True)
    """
    if isinstance(command, str):
        command = command.encode()
    if not isinstance(command, (bytes, bytearray, memoryview)):
        return False
    # one statement (no ';' anywhere, quoted or not) that begins with one of these words
    return _BOOKKEEPING.fullmatch(bytes(command)) is not None


class _Queue(deque):  # type: ignore[type-arg]  # psycopg's queue of pipeline commands
    """A pipeline's command queue: a command queued while a judged statement runs (psycopg
    sends it later, from the queue) is sent as judged; anything else queued is checked when
    it is sent, like a direct call."""

    def __init__(self, pgconn: Any) -> None:
        super().__init__()
        self.pgconn = pgconn

    def append(self, cmd: Any) -> None:
        if not (busy() or is_judged(self.pgconn)):
            return super().append(cmd)
        pgconn = self.pgconn

        def judged_cmd() -> Any:
            with judged_on(pgconn):
                return cmd()

        return super().append(judged_cmd)


def _patch_pipeline(base: Any, patched: dict[tuple[Any, str], Any]) -> None:
    orig = base.__dict__["__init__"]

    def __init__(self: Any, conn: Any) -> None:
        orig(self, conn)
        self.command_queue = _Queue(self.pgconn)

    init = sealed(__init__, orig)   # no closure cell a cell could swap
    base.__init__ = init
    patched[(base, "__init__")] = init


def _refused(name: str) -> GuardBlocked:
    return GuardBlocked("self-protection", f"pgconn.{name}() sends SQL below the cursors the guard "
                        "judges; run it with cursor.execute() or connection.execute() instead",
                        approval_hint=False)


def _wrap(name: str, orig: Any) -> Any:
    text = name in SENDS_TEXT

    def sends(self: Any, command: Any, *args: Any, **kw: Any) -> Any:
        if busy() or is_judged(self) or (text and bookkeeping(command)):
            return orig(self, command, *args, **kw)
        raise _refused(name)

    return sealed(sends, orig)   # no closure cell a cell could swap


def patch(module: Any, patched: dict[tuple[Any, str], Any]) -> None:
    """Every ``PGconn`` method of psycopg's libpq wrappers that sends SQL checked (the one
    psycopg uses, and its pure-Python ``pq_ctypes`` when that is imported), and its pipelines'
    queues marked (see the module's docstring)."""
    from psycopg import _pipeline_base

    from jupyter_guard.hooks import lazy

    if _pipeline_base.BasePipeline.__init__.__module__ != __name__:
        _patch_pipeline(_pipeline_base.BasePipeline, patched)
    _patch_pgconn(module.pq.PGconn, patched)
    lazy.when_imported("psycopg.pq.pq_ctypes", lambda m: _patch_pgconn(m.PGconn, patched))


def _patch_pgconn(cls: type, patched: dict[tuple[Any, str], Any]) -> None:
    from jupyter_guard.hooks import c_types

    if "_jupyter_guard_libpq" in (c_types._dict_of(cls) or {}):
        return
    for name in SENDS_TEXT + SENDS_NAME:
        orig = c_types.original(cls, name)
        if orig is None:
            continue
        fn = _wrap(name, orig)
        if not c_types.patch(cls, name, fn):   # c_types re-arms what it replaced
            setattr(cls, name, fn)   # off CPython: the class attribute, re-armed as a driver's
            patched[(cls, name)] = fn
    d = c_types._dict_of(cls)
    if d is not None:
        d["_jupyter_guard_libpq"] = True
        c_types._modified(cls)
