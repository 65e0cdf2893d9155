"""The values of a PostgreSQL result's tainted columns, as ``pg_results`` remembers them: a column
out of rows of any shape (tuples, dicts, ``class_row`` objects, single values), only the values
not known yet, and the identifiers inside a value that glues several together."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from jupyter_guard.hooks import exits
from jupyter_guard.hooks.pieces import SHORT

_CUT = re.compile(r"[\s,;|()\[\]{}\"']+")
_CUT_ANY = re.compile(r"[\s,;|()\[\]{}\"']")
_PIECE = re.compile(r"[^\s,;|\"'<>()\[\]{}=&?/\\:\x00]{5,}")   # as the exits cut an output


def remember(values: Any) -> bool:
    """Remember the values; of one that glues several identifiers together (a record: ``SELECT c
    FROM customers c`` prints ``(1,x,user1@example.com,100000001,Lyon)``;
    ``string_agg(ssn, ',')``), the identifiers instead: an inner token that holds 6 digits or an
    ``@`` (an SSN, a card, a phone, an e-mail), not a word such as a city, which would then be
    masked everywhere. (Known as a whole, such a value would be masked as a whole by its own
    detectors, which do not see a bare 9-digit SSN.)

    Looser than the shared ``exits.remember`` (``known_forms.pieces``: a letter besides, or 6
    digits; no cut at spaces), which it feeds: alone, the shared one let ``12345,67890`` print
    raw even whole (its 5-digit pieces are not kept and the exits cut the print at the comma),
    and an identifier between words (``ref 100000003 lyon``) print raw once split
    (``tests/pg/test_pg_values.py``).

    False when there were values to remember and the known values are full
    (``exits.MAX_KNOWN``): the caller refuses the fetch rather than hand out values the exits
    would not know."""
    if exits.full() and any(True for _ in values):
        return False
    texts = [v for v in values if isinstance(v, str)]
    if not texts or not _CUT_ANY.search("\x00".join(texts)):
        exits.remember(values)   # values of one piece each (a column of SSNs): one C scan
        return True
    plain: list[Any] = []
    inner: list[str] = []
    for v in values:
        found = [t for t in _CUT.split(v) if len(t) >= 6 and (
            "@" in t or sum(c.isdigit() for c in t) >= 6)] if isinstance(v, str) else None
        inner.extend(found or ())
        if not found:
            plain.append(v)
            if isinstance(v, str):   # whole, it never matches an output cut at its commas
                inner.extend(t for t in _PIECE.findall(v) if not t.isalpha())
    exits.remember(plain)
    exits.remember(inner)
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
