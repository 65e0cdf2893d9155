"""The values of a PostgreSQL result's tainted columns, as ``pg_results`` remembers them: a column
out of rows of any shape (tuples, dicts, ``class_row`` objects, single values), only the values
not known yet (the identifiers inside a value that glues several together are the shared
``known_forms.pieces``)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jupyter_guard.hooks import exits
from jupyter_guard.hooks.pieces import SHORT, new_when_full


def remember(values: Any) -> bool:
    """Remember the values (``exits.remember``; a value cut by the exits' separators or holding
    spaces is known by its identifier pieces too: ``known_forms.pieces``, the same rule on every
    route: ``12345,67890``, ``ref 100000003 lyon``; ``tests/pg/test_pg_values.py``).

    False when there were values to remember that the known values cannot take (full, or past
    ``exits.MAX_KNOWN`` / ``MAX_KNOWN_BYTES`` once added: ``pieces.new_when_full``): none is
    remembered, and the caller refuses the fetch rather than hand out values the exits would
    not know."""
    if new_when_full(values):
        return False
    exits.remember(values)
    return True


def fresh(values: list[Any]) -> Any:
    """The values not known yet (a result fetched again costs a set difference, not a scan)."""
    try:
        new = set(values)
    except TypeError:   # unhashable members (arrays, JSON objects): all of them
        return values
    return new - exits.known   # in C, over the smaller of the two sets


def maybe_short(values: list[Any]) -> bool:
    """Whether a value may print shorter than ``SHORT`` characters (False, in C, for texts)."""
    try:
        return min(map(len, values), default=SHORT) < SHORT
    except TypeError:   # numbers, dates, nulls: looked at one by one
        return True


def column(rows: Any, i: int, name: str | None = None) -> Iterator[Any]:
    """Column ``i`` of rows that are tuples, lists (pg8000), dicts (``dict_row``), objects
    (``class_row``: the attribute named like the column, or all of its attributes when none is)
    or the value itself (a row factory of one column)."""
    for row in rows:
        if isinstance(row, dict):
            row = list(row.values())
        elif isinstance(row, (str, bytes, int, float)):
            row = (row,)
        elif not isinstance(row, (tuple, list)):
            if name is not None and hasattr(row, name):
                yield getattr(row, name)
                continue
            try:
                row = tuple(row)
            except TypeError:
                yield from vars(row).values() if hasattr(row, "__dict__") else ()
                continue
        if i < len(row):
            yield row[i]


class Shorts:
    """A connection as ``result_taint._short`` asks it whether a column holds short values."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.rows_: list[Any] = []

    def cursor(self) -> Shorts:
        return self

    def execute(self, q: str, params: Any = ()) -> Shorts:
        """DuckDB's spelling of the question in PostgreSQL's (a ``?`` array, ``contains``)."""
        from jupyter_guard.connections.dbapi import DbapiConn, driver_of

        q = q.replace("contains(", "0 < strpos(")
        if driver_of(self.raw) == "pyodbc":   # no array parameters: the values as a literal
            (values,) = params
            items = (str(v).replace("\\", "\\\\").replace("'", "''") for v in values)
            q = q.replace("?::VARCHAR[]",
                          "ARRAY[" + ", ".join(f"E'{v}'" for v in items) + "]::varchar[]")
            from jupyter_guard.connections.odbc import OdbcConn  # late: only for pyodbc

            self.rows_ = OdbcConn(self.raw, "postgresql", "postgres").rows(q)
            return self
        q = q.replace("?::VARCHAR[]", "%s::varchar[]")
        self.rows_ = DbapiConn(self.raw, "postgresql", "postgres").rows(q, params)
        return self

    def fetchall(self) -> list[Any]:
        return self.rows_
