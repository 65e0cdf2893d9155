"""asyncpg results keep the SQL taint of their columns, as the DB-API drivers' do.

Every ``Record`` a guarded asyncpg connection returns (``fetch``, ``fetchrow``, ``fetchval``,
``fetchmany``, a prepared statement's, a cursor's rows) is handed to ``pg_results.executed``
with the statement's text and the record's column names: the values of the columns whose
lineage reaches a sensitive column become known values (masked when printed, refused at the
file and network exits), and short pieces of them (``substr(ssn, 1, 1)``) are refused
(``inference``). asyncpg's ``fetchval`` returns a bare value, so the guard fetches the row and
takes the value from it: the value keeps its column's name. Lineage needs the columns of the
tables a statement reads, which asyncpg cannot be asked for synchronously: ``prime`` awaits
the catalog query for the tables not known yet before the statement runs (once per table and
connection); a view's own tables and tables it cannot read fall back to the columns' names.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from jupyter_guard.connections import pg_results
from jupyter_guard.hooks.pieces import ROWS as PER_FETCH
from jupyter_guard.hooks.state import Busy

_TABLES: dict[str, frozenset[str]] = {}   # statement text -> the tables it names


def tables(sql: str) -> frozenset[str]:
    """The tables ``sql`` names, as the lineage asks for them (``schema.table``, lower case).

    >>> sorted(tables("SELECT a FROM s.T JOIN u ON true"))
    ['s.t', 'u']
    """
    got = _TABLES.get(sql)
    if got is None:
        from sqlglot import exp

        from jupyter_guard.hooks import sql_exports

        with Busy():
            tree = sql_exports._tree(sql, "postgres")
        got = frozenset() if tree is None else frozenset(
            ".".join(p.name for p in t.parts).lower() for t in tree.find_all(exp.Table)
            if isinstance(t.this, exp.Identifier))
        if len(_TABLES) > 1024:
            _TABLES.clear()
        _TABLES[sql] = got
    return got


async def prime(raw: Any, sql: Any) -> None:
    """Ask ``raw`` for the columns of the tables ``sql`` reads that are not known yet."""
    for name in sorted(n for n in tables(str(sql)) if not pg_results.catalog_known(raw, n)):
        try:
            found = await raw.fetch(pg_results.catalog_sql(name))
        except Exception:  # noqa: BLE001 - no such relation, or a failed transaction: names decide
            found = []
        pg_results.keep_catalog(raw, name, [tuple(r) for r in found])


def judged(sql: Any, raw: Any, guard: Any, records: Any) -> Any:
    """``records`` (a list of asyncpg ``Record``s, or one, or None) judged for ``sql``."""
    many = records if isinstance(records, list) else [records] if records is not None else []
    if not many or not hasattr(many[0], "keys") or guard is None:
        return records
    names = [str(k) for k in many[0].keys()]  # noqa: SIM118 - a Record iterates its values
    try:
        with Busy():
            hot = any(pg_results.taint_of(str(sql), raw, names, guard.policy))
    except Exception:  # noqa: BLE001 - no lineage: pg_results decides by the columns' names
        hot = True
    if hot:   # the columns are read as tuples (a Record is none): one pass, only when needed
        rows = [tuple(r) for r in many[:PER_FETCH]]
        pg_results.executed(SimpleNamespace(rows=rows, columns=[{"name": n} for n in names],
                                            statement=str(sql)), raw, guard)
    return records


def value(record: Any, column: Any = 0) -> Any:
    """What ``fetchval(column=...)`` returns from the row ``fetchrow`` gave."""
    return None if record is None else record[column]


class Cursors:
    """``connection.cursor(...)``/``prepared.cursor(...)``: iterated or awaited, each record it
    gives is judged (``cursor.fetch``/``fetchrow`` too)."""

    __slots__ = ("_factory", "_guard", "_raw", "_sql")

    def __init__(self, factory: Any, sql: Any, raw: Any, guard: Any) -> None:
        self._factory, self._sql, self._raw, self._guard = factory, sql, raw, guard

    def __aiter__(self) -> Any:
        return self._rows()

    async def _rows(self) -> Any:
        await prime(self._raw, self._sql)
        async for record in self._factory:
            yield judged(self._sql, self._raw, self._guard, record)

    def __await__(self) -> Any:
        yield from prime(self._raw, self._sql).__await__()
        cursor = yield from self._factory.__await__()
        return Cursor(cursor, self._sql, self._raw, self._guard)


class Cursor:
    """An awaited cursor: its ``fetch``/``fetchrow`` results are judged."""

    __slots__ = ("_cursor", "_guard", "_raw", "_sql")

    def __init__(self, cursor: Any, sql: Any, raw: Any, guard: Any) -> None:
        self._cursor, self._sql, self._raw, self._guard = cursor, sql, raw, guard

    async def fetch(self, n: int, *, timeout: Any = None) -> Any:
        return judged(self._sql, self._raw, self._guard, await self._cursor.fetch(n,
                                                                                  timeout=timeout))

    async def fetchrow(self, *, timeout: Any = None) -> Any:
        return judged(self._sql, self._raw, self._guard,
                      await self._cursor.fetchrow(timeout=timeout))

    async def forward(self, n: int, *, timeout: Any = None) -> Any:
        return await self._cursor.forward(n, timeout=timeout)

    def __repr__(self) -> str:
        return repr(self._cursor)
