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
from itertools import islice
from typing import Any

from jupyter_guard.analyze.sql_oracles import register
from jupyter_guard.errors import GuardBlocked
from jupyter_guard.hooks import carried, exits
from jupyter_guard.hooks.sealed_events import sealed
from jupyter_guard.hooks.state import Busy, call_user

PER_CALL = 200_000   # argument values remembered per call (a cost bound, as per fetch)
SAMPLE = 64   # values of a vectorised (Arrow) result looked at
SENSITIVE_ARGS: dict[str, frozenset[int]] = {}
"""Guarded functions by lower-case name -> the positions of their arguments that statements
have passed sensitive columns to: DuckDB hands those values to Python, where they are known
values from then on (like a fetch)."""


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
    key = name.lower()

    @functools.wraps(function)
    def udf(*args: Any) -> Any:
        try:
            return _call(args)
        except GuardBlocked as e:
            carried.note(e)   # DuckDB carries it home inside its own error
            raise

    def _call(args: tuple[Any, ...]) -> Any:
        hot = SENSITIVE_ARGS.get(key)
        if hot:
            with Busy():
                for i in hot:
                    if i < len(args):
                        exits.remember(islice(_all_values(args[i]), PER_CALL))
        # judged as the user's code even inside a statement the guard runs
        out = call_user(function, *args)
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


def _all_values(value: Any) -> Any:
    if hasattr(value, "to_pylist"):        # an Arrow array: every value
        return value.to_pylist()
    return (value,)


def prepare(query: str, con: Any, policy: Any) -> None:
    """Before ``query`` runs on ``con``: the arguments it passes from sensitive columns to guarded
    functions (found by the SQL taint of a probe selecting just those arguments, in the same FROM
    and WHERE; every argument when the taint cannot be told)."""
    if not SENSITIVE_ARGS or not any(n in query.lower() for n in SENSITIVE_ARGS):
        return
    import sqlglot
    from sqlglot import exp

    from jupyter_guard.hooks.result_taint import column_taint

    try:
        tree = sqlglot.parse_one(query, read="duckdb")
    except Exception:  # noqa: BLE001 - DuckDB's own parser decided the statement: every argument counts
        tree = None
    calls = [] if tree is None else [c for c in tree.find_all(exp.Anonymous)
                                     if str(c.this).lower() in SENSITIVE_ARGS]
    if tree is None:
        for n in SENSITIVE_ARGS:
            if n in query.lower():
                SENSITIVE_ARGS[n] = frozenset(range(64))
        return
    for call in calls:
        key, select = str(call.this).lower(), call.find_ancestor(exp.Select)
        hot: frozenset[int] | None = None
        if select is not None and call.expressions:
            probe = select.copy()
            probe.set("expressions", [exp.alias_(a.copy(), f"_jg_a{i}")
                                      for i, a in enumerate(call.expressions)])
            for k in ("order", "limit", "offset", "distinct", "qualify", "group", "having"):
                probe.set(k, None)
            taint = column_taint(probe.sql(dialect="duckdb"), [con], policy)
            if taint is not None and len(taint) == len(call.expressions):
                hot = frozenset(i for i, t in enumerate(taint) if t)
        SENSITIVE_ARGS[key] = SENSITIVE_ARGS[key] | (
            hot if hot is not None else frozenset(range(len(call.expressions) or 64)))


def _arg_values(args: tuple[Any, ...]) -> list[Any]:
    return [v for a in args for v in _values(a)]


def wrap_create(create: Any) -> Any:
    """``con.create_function`` that registers the guarded function instead."""
    def create_function(name: str, function: Any, *args: Any, **kw: Any) -> Any:
        from jupyter_guard.hooks.exit_files import FX

        if FX is not None and callable(function) and FX.rt.user_stack(sys._getframe(1)):
            function = guarded(str(name), function, FX)
            SENSITIVE_ARGS[str(name).lower()] = frozenset()   # a new function: nothing seen yet
            register(str(name))   # its result, aggregated or tested, may hide a guess
        return create(name, function, *args, **kw)
    return sealed(create_function, create)   # no closure cell a cell could swap
