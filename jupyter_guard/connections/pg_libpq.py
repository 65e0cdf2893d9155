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
  ``ROLLBACK``, savepoints, what ``con.commit()`` sends), server-side cursors' ``FETCH``,
  ``MOVE`` and ``CLOSE``, and ``DEALLOCATE``;
- commands psycopg's pipeline queued while a judged statement ran (sent later from its queue).
Anything else is refused (``self-protection``) with a message naming ``cursor.execute``.
"""
from __future__ import annotations

import re
import sys
from typing import Any

from jupyter_guard.connections.dbapi import is_judged
from jupyter_guard.errors import GuardBlocked
from jupyter_guard.hooks.state import busy

SENDS_TEXT = ("exec_", "exec_params", "send_query", "send_query_params", "prepare",
              "send_prepare")
SENDS_NAME = ("exec_prepared", "send_query_prepared")   # a prepared statement's name, no text

_BOOKKEEPING = re.compile(
    rb"\s*(BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK|ABORT|SAVEPOINT|RELEASE|"
    rb"FETCH|MOVE|CLOSE|DEALLOCATE)\b[^;]*;?\s*", re.IGNORECASE)


def bookkeeping(command: Any) -> bool:
    """One statement of psycopg's own that changes no data.

    >>> bookkeeping(b"COMMIT"), bookkeeping(b'FETCH FORWARD 1 FROM "c"'), bookkeeping(b"DELETE FROM t")
    (True, True, False)
    >>> bookkeeping(b"COMMIT; DELETE FROM t"), bookkeeping(b"ROLLBACK TO SAVEPOINT s")
    (False, True)
    """
    if isinstance(command, str):
        command = command.encode()
    if not isinstance(command, (bytes, bytearray, memoryview)):
        return False
    data = bytes(command)
    # a quoted name may hold a ';': only psycopg's own plain forms are let through
    return b"'" not in data and b"$" not in data and _BOOKKEEPING.fullmatch(data) is not None


def _queued() -> bool:
    """Called from psycopg's pipeline, sending what a judged statement queued earlier (its
    C generator makes no frame: the pipeline's Python frame is a few levels up)."""
    f = sys._getframe(2)
    for _ in range(6):
        if f is None:
            return False
        if str(f.f_globals.get("__name__", "")).startswith("psycopg._pipeline"):
            return True
        f = f.f_back
    return False


def _refused(name: str) -> GuardBlocked:
    return GuardBlocked("self-protection", f"pgconn.{name}() sends SQL below the cursors the guard "
                        "judges; run it with cursor.execute() or connection.execute() instead",
                        approval_hint=False)


def _wrap(name: str, orig: Any) -> Any:
    text = name in SENDS_TEXT

    def sends(self: Any, command: Any, *args: Any, **kw: Any) -> Any:
        if busy() or is_judged(self) or (text and bookkeeping(command)) or _queued():
            return orig(self, command, *args, **kw)
        raise _refused(name)

    sends.__name__ = name
    sends.__doc__ = getattr(orig, "__doc__", None)
    return sends


def patch(pq: Any, patched: dict[tuple[Any, str], Any]) -> None:
    """Every ``PGconn`` method that sends SQL checked (see the module's docstring)."""
    from jupyter_guard.hooks import c_types

    cls = pq.PGconn
    if getattr(cls, "_jupyter_guard_libpq", False) or "_jupyter_guard_libpq" in \
            (c_types._dict_of(cls) or {}):
        return
    for name in SENDS_TEXT + SENDS_NAME:
        orig = c_types.original(cls, name)
        if orig is None:
            continue
        fn = _wrap(name, orig)
        if not c_types.patch(cls, name, fn):   # c_types re-arms what it replaced
            setattr(cls, name, fn)   # the pure-Python libpq wrapper: an ordinary class
            patched[(cls, name)] = fn
    d = c_types._dict_of(cls)
    if d is not None:
        d["_jupyter_guard_libpq"] = True
        c_types._modified(cls)
