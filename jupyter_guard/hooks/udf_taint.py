"""Python functions registered as SQL functions (``con.create_function``): a value they return
that is sensitive (a value read from a sensitive column, or one the detectors find) while none of
their arguments was is refused as ``exfiltration``. SQL taint cannot see into Python code, so a
function that looks sensitive values up by id (``lambda i: emails[i]``) would otherwise turn a
plain column into raw values for any query, export or display. A function that only transforms
its arguments (``lambda e: e.lower()`` over ``email``) passes: the SQL taint of its argument
already marks its result.
"""
from __future__ import annotations

import functools
import sys
from typing import Any

from jupyter_guard.hooks import exits

SAMPLE = 64   # values of a vectorised (Arrow) result looked at


def _kind(value: Any, settings: Any) -> str:
    if value is None or isinstance(value, (bool, float)):
        return ""
    text = value if isinstance(value, str) else str(value)
    return exits._known(text) or exits.scan(text, settings) if len(text) >= 4 else ""


def _values(out: Any) -> list[Any]:
    if hasattr(out, "to_pylist"):          # an Arrow array from a vectorised function
        return list(out.slice(0, SAMPLE).to_pylist())
    return [out]


def guarded(name: str, function: Any, fx: Any) -> Any:
    """``function`` with its results checked (the arguments decide whether a value is new)."""
    @functools.wraps(function)
    def udf(*args: Any) -> Any:
        out = function(*args)
        # no busy() test: DuckDB may run the function on the thread that is inside the guard's
        # own work (a COPY measured by the effect check); a refusal there fails that statement
        settings = fx.exports.settings()
        for v in _values(out):
            kind = _kind(v, settings)
            if kind and not any(_kind(a, settings) for a in _arg_values(args)):
                exits.refuse(fx.rt.guard, fx.rt, kind, f"SQL function {name}",
                             "create_function result")
        return out
    return udf


def _arg_values(args: tuple[Any, ...]) -> list[Any]:
    return [v for a in args for v in _values(a)]


def wrap_create(create: Any) -> Any:
    """``con.create_function`` that registers the guarded function instead."""
    def create_function(name: str, function: Any, *args: Any, **kw: Any) -> Any:
        from jupyter_guard.hooks.exit_files import FX

        if FX is not None and callable(function) and FX.rt.user_stack(sys._getframe(1)):
            function = guarded(str(name), function, FX)
        return create(name, function, *args, **kw)
    create_function.__doc__ = getattr(create, "__doc__", None)
    return create_function
