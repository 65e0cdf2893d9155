"""DuckDB and the PostgreSQL drivers inside a Python child of a guarded kernel, guarded as in
the kernel.

The kernel reads ``python -c`` code and scripts before a child starts, but SQL that exists only
when the child runs (a module the child imports, a file it ``exec``s, text it builds) cannot be
read then. So when a child first imports DuckDB (or psycopg, psycopg2, pg8000, asyncpg), it
builds the kernel's decision service from the environment the kernel gave it (policy, user,
actor, audit file) and installs the same SQL sinks and driver wrappers: every statement is
judged, and one that can change rows runs under the effect check. A child runs
no cells: its whole run is one cell (``max_affected_rows`` counts across it), and its statements
are recorded in an audit session of its own whose journal names the kernel's.
"""
from __future__ import annotations

import os
import sys

from jupyter_guard.hooks import own_code

TYPE_CHECKING = False   # not ``typing``'s: this module is imported at every child's start
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


class _Events:
    def register(self, *args: Any) -> None:
        """A child has no cells, so no cell boundary to hear of."""


class _NoCells:
    """The shell the SQL sinks would re-wrap connections in: a child has no namespace yet when
    DuckDB is first imported, and no cells."""

    def __init__(self) -> None:
        self.user_ns: dict[str, Any] = {}
        self.events = _Events()


# the child's one decision service, made at the first driver import (sealed: ``held_once``)
guard_of, _GIVE_GUARD = own_code.held_once("the child's decision service")


def _guard(env: Mapping[str, str], _of: Any = guard_of, _give: Any = _GIVE_GUARD) -> Any:
    made = _of()
    if made is not None:
        return made
    from jupyter_guard.guard.service import Guard
    from jupyter_guard.hooks.child import ChildGuard

    child = ChildGuard(env)

    def open_audit(g: Guard) -> Any:
        if not child.audit:
            return None
        from jupyter_guard.record.audit import AuditLog
        from jupyter_guard.record.journal import JournalWriter

        JournalWriter(child.audit, g.session_id, parent=child.parent).close()  # names the kernel
        return AuditLog(child.audit, session_id=g.session_id, background=False)

    guard = Guard.create(env=dict(env), open_audit=open_audit)
    guard.policy = child.policy   # the kernel's policy as it holds it now, not the file again
    return _give(guard)


def install(env: Mapping[str, str]) -> None:
    """Guard DuckDB in this child (called once, right after ``import duckdb`` finishes)."""
    from jupyter_guard.hooks import sinks

    sinks.install(_NoCells(), _guard(env))


def install_dbapi(env: Mapping[str, str]) -> None:
    """Guard the DB-API drivers in this child (called once, right after the first of them is
    imported): each is wrapped at ``connect()`` as in the kernel, effect check included."""
    from jupyter_guard.connections import dbapi

    dbapi.install(_NoCells(), _guard(env))


def _stop_unguarded(what: str, e: BaseException) -> None:
    sys.stderr.write(f"jupyter_guard: {what} cannot be guarded in this child "
                     f"({type(e).__name__}: {e}), so it was stopped.\n")
    sys.stderr.flush()
    os._exit(126)


def arm(env: Mapping[str, str]) -> None:
    """Install the SQL guard once DuckDB, ``sqlite3`` or a PostgreSQL driver has been imported
    (at the first ``import`` of it; the import itself runs unchanged), and the kernel's exits
    (``child_exits``) once one of them or pandas, pyarrow or polars has. A failure stops the
    child: a database driver unguarded is not an option."""
    from jupyter_guard.hooks import lazy

    exits: list[bool] = []

    def ready_exits(module: Any) -> None:
        if exits:
            return
        exits.append(True)
        try:
            # late: the exits load once the child imports a data library
            from jupyter_guard.hooks.child_exits import install as install_exits

            install_exits(env)
        except Exception as e:  # noqa: BLE001 - no exits, no data library: the child stops with the reason
            _stop_unguarded(getattr(module, "__name__", "a data library"), e)

    def ready(module: Any) -> None:
        try:
            install(env)
        except Exception as e:  # noqa: BLE001 - no guard, no DuckDB: the child stops with the reason
            _stop_unguarded("DuckDB", e)
        ready_exits(module)

    done: list[bool] = []

    def ready_dbapi(module: Any) -> None:
        if done:
            return
        done.append(True)
        try:
            install_dbapi(env)
        except Exception as e:  # noqa: BLE001 - no guard, no driver: the child stops with the reason
            _stop_unguarded(getattr(module, "__name__", "a database driver"), e)
        ready_exits(module)

    from jupyter_guard.hooks.child import ARM_ON, DATA_LIBS

    lazy.when_imported("duckdb", ready)
    for name in sorted(ARM_ON - {"duckdb"}):
        lazy.when_imported(name, ready_dbapi)
    for name in sorted(DATA_LIBS - ARM_ON):
        lazy.when_imported(name, ready_exits)
