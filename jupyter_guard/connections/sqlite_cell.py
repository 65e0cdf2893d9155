"""Rows changed per table per cell on SQLite (``max_affected_rows`` is a cell's budget).

The static decision judges each sqlite3 statement alone, so a loop of one-row deletes, or an
``executemany`` of one-row deletes, could change any number of rows in one cell. Each
``DELETE``/``UPDATE`` that reaches a table the session did not create is measured instead: the
connection's ``total_changes`` before and after it is the number of rows it changed. That count,
added to the rows the cell already changed in the same table of the same database file, must
stay within ``max_affected_rows``; otherwise the statement is undone and refused.

Undoing needs a transaction around the statement that the guard controls without changing the
user's: inside the user's transaction, or in autocommit mode, a ``SAVEPOINT`` (outermost in
autocommit mode, so releasing it commits, as autocommit would have); in sqlite3's default mode
outside a transaction, the driver's own implicit ``BEGIN`` (a rollback then undoes this
statement only). ``executescript`` commits first and runs its script in autocommit mode, so its
changes are counted, and refuse the cell's next statements, but are not undone.

The count lives beside PostgreSQL's (``pg_cell``), in the session's effect state, and is read,
judged and added under its lock, so the statements of one cell's threads are kept one after the
other.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jupyter_guard.connections import pg_cell
from jupyter_guard.guard import owned

_CHANGES = ("sql.delete", "sql.update")


def targets(intents: tuple[Any, ...], actions: tuple[str, ...] = _CHANGES) -> tuple[str, ...]:
    """The tables whose changed rows count: deletes and updates of tables not temporary.

    >>> from jupyter_guard.model import Intent
    >>> targets((Intent("sql.delete", "table", "main.t"),
    ...          Intent("sql.update", "table", "tmp", temporary=True)))
    ('main.t',)
    """
    return tuple(dict.fromkeys(i.target for i in intents
                               if i.action in actions and not i.temporary and i.target))


def run(check: Any, text: str, j: Any, call: Callable[[], Any], script: bool = False) -> Any:
    """Run ``call`` (one judged sqlite3 statement, or a script) and keep it only within the
    cell's budget; ``check`` is the connection's ``dbapi.Checker``."""
    raw = check.raw
    if raw.__class__.__module__ != "sqlite3":
        return call()
    ours = check.guard.session_tables
    places = [owned.sqlite_where(raw, t) for t in targets(j.intents)]
    names = [w for w in places if w[1] != "temp" and owned.sqlite_key(w) not in ours]
    if not names:
        made = [owned.sqlite_where(raw, i.target, i.temporary) for i in j.intents
                if i.action == "sql.create" and i.target and i.target_kind == "table"]
        new = [w for w in made if not _exists(raw, w)]   # ``IF NOT EXISTS`` of one there
        result = call()
        ours.update(owned.sqlite_key(w) for w in new)
        return result
    from jupyter_guard.guard.effect import state  # late: only for counted statements

    cell = state(check.guard)
    point = not script and (raw.in_transaction or raw.isolation_level is None or
                            getattr(raw, "autocommit", -1) is True)
    mine = not script and not point   # the driver's implicit BEGIN holds this statement only
    if point:
        raw.execute("SAVEPOINT jg_cell")
    before = raw.total_changes
    try:
        result = call()
    except BaseException:
        if point:
            _undo(raw)
        raise
    changed = {(f"sqlite:{w[0]}", w[1], w[2]): raw.total_changes - before for w in names}
    with cell.lock:
        verdict = pg_cell.over(changed, cell.cell, check.guard.policy.max_affected_rows)
        if verdict is None:
            pg_cell.add(changed, cell.cell)
    if verdict is None:
        if point:
            raw.execute("RELEASE SAVEPOINT jg_cell")
        return result
    if point:
        _undo(raw)
    elif mine:
        raw.rollback()
    raise check._refused(text, j, verdict)


def _undo(raw: Any) -> None:
    raw.execute("ROLLBACK TO SAVEPOINT jg_cell")
    raw.execute("RELEASE SAVEPOINT jg_cell")


def _exists(raw: Any, where: tuple[str, str, str]) -> bool:
    if where[1] == "temp":
        sql = "SELECT 1 FROM temp.sqlite_master WHERE lower(name) = ?"
    else:
        files = {str(r[2]): str(r[1]) for r in raw.execute("PRAGMA database_list")}
        schema = files.get(where[0], where[0].rpartition(":")[2] or "main").replace('"', '""')
        sql = f'SELECT 1 FROM "{schema}".sqlite_master WHERE lower(name) = ?'
    return raw.execute(sql, (where[2],)).fetchone() is not None
