"""Rows changed per table per cell on PostgreSQL (``max_affected_rows`` is a cell's budget).

Each statement's effect check measures the rows it deleted and updated per table
(``pg_effect.measured``). Before it is kept, the rows the cell already changed in that table are
added: a loop of small deletes, ``psycopg2.extras.execute_batch`` pages, or threads each with
their own connection cannot change more rows of a table in one cell than one statement may. The
count lives in the session's effect state (``guard.effect.State.cell``, cleared before every
cell, shared with DuckDB's effect check) and is read, judged and added under ``State.lock``, so
the statements of one cell's threads are kept one after the other. Rows of tables the session
created, and of temporary tables, are not counted.
"""
from __future__ import annotations

from typing import Any

from jupyter_guard.model import Intent, Verdict

Key = tuple[str, str, str]


def database(raw: Any) -> str:
    """The cell's key prefix for ``raw``'s database (``postgres:<name>``; psycopg and psycopg2
    name it in ``info``, asyncpg in its connection parameters, pyodbc through ``getinfo``)."""
    try:
        name = getattr(getattr(raw, "info", None), "dbname", "") or \
            getattr(getattr(raw, "_params", None), "database", "") or ""
        if not name and type(raw).__module__ == "pyodbc":   # psqlODBC names it on request
            import pyodbc

            name = str(raw.getinfo(pyodbc.SQL_DATABASE_NAME))
    except Exception:  # noqa: BLE001 - a closed or foreign connection: one shared prefix (counts more, never less)
        name = ""
    return f"postgres:{name}"


def rows(intents: tuple[Intent, ...], db: str) -> dict[Key, int]:
    """Rows each table lost or had changed, from one statement's measured intents.

    >>> i = Intent("sql.delete", "table", "public.orders", estimated_rows=900, detail="measured")
    >>> rows((i,), "postgres:shop")
    {('postgres:shop', 'public', 'orders'): 900}
    """
    out: dict[Key, int] = {}
    for i in intents:
        if i.action not in ("sql.delete", "sql.update") or i.detail != "measured" or \
                i.temporary or not i.estimated_rows:
            continue
        schema, _, name = i.target.partition(".")
        key = (db, schema, name)
        out[key] = out.get(key, 0) + int(i.estimated_rows)
    return out


def over(changed: dict[Key, int], cell: dict[Key, int], limit: int) -> Verdict | None:
    """The refusal when a table's rows changed in this cell would pass ``limit``.

    >>> k = ("postgres:s", "public", "orders")
    >>> over({k: 900}, {k: 899}, 1000).reason.split(",")[1]
    ' 1799 in this cell'
    """
    for key, n in changed.items():
        total = cell.get(key, 0) + n
        if total > limit:
            return Verdict("block", "bulk-change",
                           f"this statement would change {n} row{'' if n == 1 else 's'} of "
                           f"{key[1]}.{key[2]}, {total} "
                           f"in this cell, more than max_affected_rows={limit}; nothing of this "
                           "statement was kept")
    return None


def add(changed: dict[Key, int], cell: dict[Key, int]) -> None:
    for key, n in changed.items():
        cell[key] = cell.get(key, 0) + n
