"""Refusals carried home inside a native library's error.

A refusal raised on a DuckDB worker thread (in a SQL function, or in the method of a user object
DuckDB scans or casts) does not reach the cell as itself: DuckDB catches it and raises its own
error, whose message is the refusal's line after DuckDB's words, or after the whole Python
traceback of the worker (``Error: Traceback (most recent call last): ... GuardBlocked: ...``).
IPython then shows that error with a traceback through the library's and the guard's frames.

The run-time hook and the SQL functions' wrapper ``note`` each refusal they raise (a copy with no
traceback: nothing it points at is kept alive), in a short ring. When the kernel is about to show
an error that is no refusal but whose message holds the text of a noted one, ``unwrap`` gives
the refusal instead: the user sees its one line (and the structured refusal travels with it),
not DuckDB's traceback, and the cell's ``execute_reply`` names the refusal too. An error that
merely quotes the words of no noted refusal is shown as it is.
"""
from __future__ import annotations

import sys
import threading
from collections import deque
from typing import Any

from jupyter_guard.errors import GuardBlocked

_RING: deque[GuardBlocked] = deque(maxlen=16)   # the latest refusals, any thread
_LOCK = threading.Lock()


def note(err: GuardBlocked) -> None:
    """Remember a copy of ``err`` (its message, rule, reason, details; no traceback)."""
    if type(err) is not GuardBlocked:
        return
    copy = GuardBlocked.__new__(GuardBlocked)
    copy.__dict__.update(err.__dict__)
    copy.args = err.args
    with _LOCK:
        _RING.append(copy)


def carried(evalue: Any) -> GuardBlocked | None:
    """The noted refusal whose text ``evalue``'s message holds (None: no refusal, or a
    refusal itself)."""
    if evalue is None or isinstance(evalue, GuardBlocked):
        return None
    try:
        text = str(evalue)
    except Exception:  # noqa: BLE001 - an error whose str() fails carries nothing: shown as it is
        return None
    if "jupyter_guard [" not in text:
        return None
    with _LOCK:
        ring = list(_RING)
    for err in reversed(ring):
        if str(err) in text:
            return err
    return None


def unwrap(etype: Any, evalue: Any, stb: Any) -> tuple[Any, Any, Any]:
    """What the kernel shows for an error: a refusal carried in a library's error becomes the
    refusal itself, its own one-line traceback, and the error IPython last showed (so the
    structured refusal goes on the wire with it)."""
    err = carried(evalue)
    if err is None:
        return etype, evalue, stb
    sys.last_type, sys.last_value = GuardBlocked, err   # what IPython set for the shown error
    if hasattr(sys, "last_exc"):
        sys.last_exc = err
    _reply(evalue, err)
    return GuardBlocked, err, err._render_traceback_()


def _reply(evalue: Any, err: GuardBlocked) -> None:
    """The running cell's result holds the refusal too: the kernel's ``execute_reply`` names
    its error (``ename``/``evalue``, and the structured refusal added for a shown refusal), as
    the iopub ``error`` does. IPython records the error there before it shows it."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    result = getattr(getattr(shell, "displayhook", None), "exec_result", None)
    if result is None:
        return
    was = getattr(result, "error_in_exec", None)
    if was is not None and (was is evalue or carried(was) is err):
        result.error_in_exec = err
