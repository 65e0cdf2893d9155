"""Whether a PostgreSQL database's catalog changed since the guard last looked (a view redefined,
a column renamed, a table replaced by another session), so that what the guard keeps per
statement from the catalog (``pg_results``: each table's columns, each view's definition, each
statement's column taint) is read again instead of trusted.

The version is one round trip of four aggregates over the catalog rows that hold what the taint
is computed from: the newest row version (``xmin``) and the row count of ``pg_class`` (tables,
views, their kinds), ``pg_rewrite`` (a view's query: ``CREATE OR REPLACE VIEW`` writes a new
row) and the user relations' rows of ``pg_attribute`` (a column renamed or added). Any change by
any session is a new row version there, or one row fewer. A version that cannot be read (an
aborted transaction, a driver that cannot be asked now) counts as a change: the cache is read
again, never trusted blind.
"""
from __future__ import annotations

from typing import Any

VERSION_SQL = (
    "SELECT (SELECT max(xmin::text::bigint) FROM pg_catalog.pg_class), "
    "(SELECT count(*) FROM pg_catalog.pg_class), "
    "(SELECT max(xmin::text::bigint) FROM pg_catalog.pg_rewrite), "
    "(SELECT count(*) FROM pg_catalog.pg_rewrite), "
    "(SELECT max(xmin::text::bigint) FROM pg_catalog.pg_attribute WHERE attrelid >= 16384), "
    "(SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid >= 16384)")
"""The catalog version (16384 is PostgreSQL's first user object id)."""

_SEEN: dict[Any, tuple[Any, ...]] = {}
_MAX = 256


def changed(raw: Any, db: Any) -> bool:
    """Whether the catalog of database ``db`` (a key: ``pg_results._db``) reads otherwise than
    last time, asked on the driver connection ``raw``; True the first time and whenever the
    version cannot be read."""
    from jupyter_guard.connections.dbapi import DbapiConn

    try:
        rows = DbapiConn(raw, "postgresql", "postgres").rows(VERSION_SQL)
        now = tuple(rows[0]) if rows else None
    except Exception:  # noqa: BLE001 - no version now (aborted transaction, a driver busy): a change, so the cache is read again
        _SEEN.pop(db, None)
        return True
    if now is None or _SEEN.get(db) != now:
        if len(_SEEN) >= _MAX:
            _SEEN.clear()
        if now is not None:
            _SEEN[db] = now
        return True
    return False
