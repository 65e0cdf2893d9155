"""The run-time SQL check: a statement that reaches a database while a cell runs is analysed and
judged there (``check_sql``), the same way ``%%guarded_sql`` judges it; a statement whose rows
changed are measured (``guard.effect_run``) runs through the effect check instead.

Used by the DuckDB proxy (``hooks/duck_conn.py``), the SQLAlchemy listener (``hooks/sinks.py``)
and the relation hooks (``hooks/relations.py``).
"""
from __future__ import annotations

import sys
from typing import Any

from jupyter_guard.connections import Conn
from jupyter_guard.guard.judge import judge_or_refuse, refuse_verdict
from jupyter_guard.guard.service import Guard
from jupyter_guard.hooks import own_code, udf_taint
from jupyter_guard.hooks.dbcopy_sql import with_database_reads
from jupyter_guard.hooks.sealed_events import sealed
from jupyter_guard.hooks.state import Busy, busy, verify

_TX = ("sql.transaction", "sql.set", "sql.other", "sql.unknown", "sql.unparsed", "sql.attach")


def _passed() -> tuple[Any, Any]:
    """The statements ``check_sql`` passed lately (a relation's read of the same text is not
    judged twice: ``relations``), in a table only sealed closures reach: ``judged(text)`` reads
    it, ``note(text)`` adds to it, from the guard's code only (a module-level dict was filled in
    place from a cell, with no audit event, and a relation's read of a sensitive column compared
    with a constant was answered)."""
    texts: dict[str, None] = {}

    def judged(query: Any) -> bool:
        return isinstance(query, str) and query in texts

    def note(query: str) -> None:
        if not own_code.own(sys._getframe(1).f_code):
            raise PermissionError("jupyter_guard: only the guard's check marks a statement judged")
        if len(texts) > 256:
            texts.clear()
        texts[query] = None
    return sealed(judged), sealed(note)


judged, _NOTE = _passed()


def check_sql(guard: Guard, conn: Conn, query: Any, params: Any = None) -> None:
    """Raise GuardBlocked if the policy refuses ``query`` on ``conn``.

    The guard's own queries pass."""
    if busy() or not isinstance(query, str):
        return
    with Busy():  # the guard's own queries (row counts, catalog) pass unchecked
        verify()
        analysis = guard.sql_analysis(query, conn.dialect, params=_first_params(params))
        if params is not None:   # a store path passed as a parameter: read_text(?)
            analysis = _with_param_paths(guard, analysis, params)
        analysis = with_database_reads(analysis, query)   # read_blob('wh.duckdb')
        if conn.native_duckdb and any(i.action in _TX for i in analysis.intents):
            from jupyter_guard.guard.effect_run import forget

            forget(guard, conn.raw)   # it may open or close a transaction, or change the schema
        judge_or_refuse(guard, analysis, kind="runtime", code=query, conn=conn, note=True)
        _NOTE(query)
        if conn.native_duckdb and udf_taint.SENSITIVE_ARGS:
            udf_taint.prepare(query, conn.raw, guard.policy)


def _with_param_paths(guard: Guard, analysis: Any, params: Any) -> Any:
    """String parameters that name the audit store, as file reads (refused as self-protection)."""
    from dataclasses import replace as _replace

    from jupyter_guard.guard.store_reads import store_paths, strings_of

    sets = params if isinstance(params, (list, tuple)) and params and \
        isinstance(params[0], (list, tuple, dict)) else [params]
    audit = guard.settings.get("audit") or ""
    paths = store_paths([s for p in sets for s in strings_of("", p)], audit) if audit else []
    if not paths:
        return analysis
    from jupyter_guard.model import Intent

    extra = tuple(Intent("file.read", "path", s, source=f"parameter {s!r}") for s in paths)
    return _replace(analysis, intents=analysis.intents + extra)


def measured_here(guard: Guard, query: Any) -> bool:
    """Does ``query`` hold a statement the effect check runs? (Reads take the direct path.)"""
    if busy() or not isinstance(query, str):
        return False
    from jupyter_guard.connections import duckdb_classify
    from jupyter_guard.guard.effect_run import measured

    try:
        pieces = duckdb_classify(query)
    except Exception:  # noqa: BLE001 - DuckDB's parser refuses it: DuckDB itself will raise the same error
        return False
    return any(measured(t, q, guard.sql_analysis(q).intents) for t, q in pieces)


def run_measured(guard: Guard, con: Any, query: str, params: Any, *, many: bool = False,
                  keep: bool = False) -> Any:
    """Run ``query`` through the effect check; the connection with the result put back (or the
    kept result itself with ``keep``). A refused effect was rolled back and is recorded."""
    from jupyter_guard.connections import duckdb_classify
    from jupyter_guard.guard import effect, effect_run

    with Busy():
        try:
            out = effect_run.run_all(guard, con, duckdb_classify(query),
                                     lambda q: guard.sql_analysis(q).intents, params, many=many,
                                     cell=effect.state(guard).cell, code=query)
        except effect_run.EffectRefused as e:
            raise refused(guard, query, e.verdict) from None
        except Exception as e:   # a write's error quotes a value like a SELECT's: known from now
            from jupyter_guard.hooks import error_values

            error_values.note(e, query, guard)
            raise
        return out if keep else effect_run.reexpose(con, out)


def refused(guard: Guard, code: str, verdict: Any) -> Exception:
    """Record a refusal of the measured effect and the error the user sees (the caller raises)."""
    return refuse_verdict(guard, verdict, kind="runtime", code=code)


def _first_params(params: Any) -> Any:
    return params if params is None or isinstance(params, dict) else list(params) if not (
        params and isinstance(params, (list, tuple)) and isinstance(params[0], (list, tuple, dict))
    ) else params[0]
