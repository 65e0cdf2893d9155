"""DuckDB's relation API, guarded: ``rel.update``, ``insert``, ``insert_into``, ``create``,
``to_table``, ``create_view``/``to_view``, ``query``, ``write_csv``/``to_csv``,
``write_parquet``/``to_parquet``.

In DuckDB 2.x these methods are Python code that builds one SQL statement and sends it through
``duckdb._seam.submit(con, sql, values)``. While one of them runs (a thread-local mark set by the
patched method), that function is replaced by a check: the statement is decided like any other
run-time SQL (``sinks.check_sql``: file rules and exfiltration for ``COPY … TO``, destructive DDL,
bulk changes), and one that can change rows or the catalog runs under the effect check. Relation
reads (``fetchall``, ``df``) are not marked and pay nothing.
"""
from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

from jupyter_guard.connections import Conn
from jupyter_guard.hooks import own_code
from jupyter_guard.hooks.sealed_events import sealed

_WRITERS = ("update", "insert", "insert_into", "create", "to_table", "write_csv", "to_csv",
            "write_parquet", "to_parquet")
_VIEWS = ("create_view", "to_view")
_local = threading.local()


def install(guard: Any) -> None:
    """Patch the relation class once per process (the guard is looked up at call time)."""
    try:
        from duckdb import _relation, _seam
    except ImportError:   # an older DuckDB without the Python relation layer: nothing to patch
        return
    cls = _relation.DuckDBPyRelation
    if getattr(_seam, "_jupyter_guard", None) is not None:
        _seam._jupyter_guard(guard)  # type: ignore[attr-defined]  # set below, once
        return
    box: dict[str, Any] = {"guard": guard, "submit": _seam.submit}

    def take(new: Any) -> None:
        """A second guard in this process takes the relations over; only the guard's code may
        (the box is held only in sealed closures: no cell reaches it)."""
        if not own_code.own(sys._getframe(1).f_code):
            raise PermissionError("jupyter_guard: only the guard takes DuckDB's relations over")
        box["guard"] = new
    _seam._jupyter_guard = sealed(take)  # type: ignore[attr-defined]  # a mark on the guard's own wrapper
    _seam.submit = sealed(_guarded_submit(box), _seam.submit)
    for name in _WRITERS:
        if hasattr(cls, name):
            setattr(cls, name, _marked(getattr(cls, name)))
    for name in _VIEWS:
        if hasattr(cls, name):
            setattr(cls, name, sealed(_view(getattr(cls, name), box), getattr(cls, name)))
    if hasattr(cls, "query"):
        cls.query = sealed(_query(cls.query, box), cls.query)  # type: ignore[method-assign]  # DuckDB's class, wrapped


def _marked(method: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(self: Any, *args: Any, **kw: Any) -> Any:
        depth = getattr(_local, "depth", 0)
        _local.depth = depth + 1
        try:
            return method(self, *args, **kw)
        finally:
            _local.depth = depth
    sealed_wrapper = sealed(wrapper, method)
    sealed_wrapper.__wrapped__ = method   # a mark on the guard's own wrapper (DuckDB's method)
    return sealed_wrapper


def _guarded_submit(box: dict[str, Any]) -> Callable[..., Any]:
    orig = box["submit"]

    def submit(con: Any, sql: str, values: Any, *args: Any, **kw: Any) -> Any:
        from jupyter_guard.hooks.state import busy

        if busy() or not isinstance(sql, str):
            return orig(con, sql, values, *args, **kw)
        if not getattr(_local, "depth", 0):
            _read(box["guard"], con, sql, values)
            return orig(con, sql, values, *args, **kw)
        return _checked(box["guard"], con, sql, values, lambda q, p: orig(con, q, p, *args, **kw))
    submit.__doc__ = orig.__doc__
    return submit


def _read(guard: Any, con: Any, sql: str, values: Any) -> None:
    """A relation's read built in Python (``con.table('customers').filter("ssn = '…'")``,
    ``project``, ``aggregate``): its text reached no ``check_sql``, so a predicate in it is
    decided as run-time SQL (rule ``inference``), and so is a value made a date or a duration
    (``sql_temporal``, rule ``exfiltration``). A text ``check_sql`` passed (``con.sql(q)``
    then ``.df()``) and a read with no predicate pay one cached analysis; a check measured over
    a crowd (``crowd?:``) is measured at every read, as the rows may have changed since."""
    from jupyter_guard.analyze.sql_temporal import DETAIL as TEMPORAL
    from jupyter_guard.hooks.sinks import check_sql, judged
    from jupyter_guard.hooks.state import Busy

    with Busy():
        intents = guard.sql_analysis(sql).intents
    if judged(sql) and not any(i.detail.startswith(("crowd?:", "crowd@")) for i in intents):
        return
    if any(i.action == "sql.predicate" or i.detail == TEMPORAL for i in intents):
        check_sql(guard, Conn(con, "duckdb", "duckdb"), sql, values)


def _checked(guard: Any, con: Any, sql: str, values: Any, send: Callable[[str, Any], Any]) -> Any:
    from jupyter_guard.connections import duckdb_classify
    from jupyter_guard.guard import effect, effect_run
    from jupyter_guard.hooks import db_exits
    from jupyter_guard.hooks.sinks import check_sql, refused
    from jupyter_guard.hooks.state import Busy

    check_sql(guard, Conn(con, "duckdb", "duckdb"), sql, values)
    db_exits.check_write(guard, con, sql, [values] if values else None)   # into another file
    pieces = duckdb_classify(sql)
    if len(pieces) != 1:
        return send(sql, values)
    kind, query = pieces[0]
    intents = guard.sql_analysis(query).intents
    if not effect_run.measured(kind, query, intents):
        return send(sql, values)
    with Busy():
        try:
            effect_run.run_one(guard, con, kind, query, intents, values, code=sql, submit=send,
                               cell=effect.state(guard).cell)
        except effect_run.EffectRefused as e:
            raise refused(guard, sql, e.verdict) from None
        except Exception as e:   # its error quotes a value like a SELECT's: known from now
            from jupyter_guard.hooks import error_values

            error_values.note(e, query, guard)
            raise
    return _Done()


class _Done:
    """What the relation method gets back: the statement already ran and its result was read."""

    def drain(self) -> None:
        return None

    def close(self) -> None:
        return None

    def fetchall(self) -> list[Any]:
        return []


def _query(method: Callable[..., Any], box: dict[str, Any]) -> Callable[..., Any]:
    """``rel.query(name, sql)`` runs any one statement (a DELETE too) with the relation as a view:
    decided like run-time SQL, and a statement that can change rows or the catalog runs under the
    effect check (the relation's own call sends it, inside the guard's transaction)."""
    def wrapper(self: Any, virtual_table_name: str, sql_query: str) -> Any:
        from jupyter_guard.connections import duckdb_classify
        from jupyter_guard.guard import effect, effect_run
        from jupyter_guard.hooks.sinks import check_sql, refused
        from jupyter_guard.hooks.state import Busy, busy

        if busy() or not isinstance(sql_query, str):
            return method(self, virtual_table_name, sql_query)
        guard = box["guard"]
        check_sql(guard, Conn(self._con, "duckdb", "duckdb"), sql_query)
        try:
            pieces = duckdb_classify(sql_query)
        except Exception:  # noqa: BLE001 - DuckDB's parser refuses it: the call itself raises the same error
            return method(self, virtual_table_name, sql_query)
        intents = guard.sql_analysis(sql_query).intents
        if len(pieces) != 1 or not effect_run.measured(pieces[0][0], pieces[0][1], intents):
            return method(self, virtual_table_name, sql_query)
        kept: list[Any] = []

        def send(q: str, p: Any) -> Any:
            kept.append(method(self, virtual_table_name, q))
            return kept[-1]
        with Busy():
            try:
                effect_run.run_one(guard, self._con, pieces[0][0], pieces[0][1], intents,
                                   code=sql_query, submit=send, cell=effect.state(guard).cell)
            except effect_run.EffectRefused as e:
                raise refused(guard, sql_query, e.verdict) from None
            except Exception as e:   # as above
                from jupyter_guard.hooks import error_values

                error_values.note(e, pieces[0][1], guard)
                raise
        return kept[-1] if kept else None
    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


def _view(method: Callable[..., Any], box: dict[str, Any]) -> Callable[..., Any]:
    """``create_view(name, replace=True)`` replaces a view of that name: decided as its SQL."""
    def wrapper(self: Any, name: str, replace: bool = True, *args: Any, **kw: Any) -> Any:
        from jupyter_guard.hooks.sinks import check_sql
        from jupyter_guard.hooks.state import busy

        if not busy():
            try:
                body = self.sql_query()
            except Exception:  # noqa: BLE001 - a relation DuckDB cannot print as SQL: the view's reads are
                body = "SELECT 1"   # unknown, but a view copies no data; the name still decides
            verb = "CREATE OR REPLACE VIEW" if replace else "CREATE VIEW"
            check_sql(box["guard"], Conn(self._con, "duckdb", "duckdb"), f"{verb} {name} AS {body}")
        return method(self, name, replace, *args, **kw)
    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper
