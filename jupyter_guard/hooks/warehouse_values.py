"""The values of a database's sensitive columns, known before the session reads them.

Known values (``exits.known``) are how the exits and the masking of printed text recognise a
copy of a sensitive column whose lineage this session never saw: a table another process made
with ``ssn AS k`` holds bare 9-digit numbers no detector matches, and the session may read
``k`` without ever reading ``ssn``. So the first time a result is fetched from a DuckDB file,
the values of each column the policy names sensitive in that file (its first ``PER_COLUMN``
rows: a scan that stops there, not a ``DISTINCT`` over a large table) are read once and
remembered. From then on a copy of them, under any
name, in any table of that file or another, is masked when shown and refused at the exits.

A column whose values do not fit the known values' bounds (``pieces.new_when_full``:
``exits.MAX_KNOWN`` values, ``MAX_KNOWN_BYTES``) is skipped, never remembered past them: the
fetch that triggered the preload (often of plain columns) still runs. Failing closed stays with
the fetches themselves: a later fetch of that column, or of anything lineage or names mark
sensitive, is refused while its values do not fit (``pieces.refuse_full``).

Not covered: a copy whose source column is in no database this process fetched from, values
past ``PER_COLUMN`` of a larger column, a column skipped at the bound, and values changed on
the way (the detectors and the lineage of this session's own queries judge those).
"""
from __future__ import annotations

import logging
import os
import weakref
from typing import Any

from jupyter_guard.hooks import exits
from jupyter_guard.hooks.pieces import new_when_full
from jupyter_guard.hooks.state import Busy

log = logging.getLogger("jupyter_guard")
PER_COLUMN = 20_000
_SEEN: set[str] = set()       # real paths of the files already read
# connections already looked at (the common case: one look-up)
_CONS: weakref.WeakSet[Any] = weakref.WeakSet()


def _path(con: Any) -> str:
    row = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = "
                      "current_database()").fetchone()
    path = str(row[0] or "") if row else ""
    return os.path.realpath(path) if path and path != ":memory:" else ""


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def preload(cons: list[Any], policy: Any) -> None:
    """Remember the values of the sensitive columns of the files ``cons`` read (once per file)."""
    for con in cons:
        try:
            if con in _CONS:
                continue
            _CONS.add(con)
        except TypeError:   # not weak-referenceable: its file is looked up each time
            pass
        with Busy():   # the guard's own reads: no decision, no audit row, no taint
            try:
                cur = con.cursor()
            except Exception as e:  # noqa: BLE001 - a closed connection left in the namespace has no file to read; raising here would lose the taint of the fetch that called (it passed unremembered)
                log.debug("jupyter_guard: a connection not looked at: %s", e)
                continue
            try:
                path = _path(cur)
                if not path or path in _SEEN:
                    continue
                _SEEN.add(path)
                cols = cur.execute(
                    "SELECT schema_name, table_name, column_name FROM duckdb_columns() WHERE "
                    "database_name = current_database() AND NOT internal").fetchall()
                for schema, table, col in cols:
                    if not policy.is_sensitive_column(f"{table}.{col}"):
                        continue
                    rows = cur.execute(
                        f"SELECT CAST({_quoted(col)} AS VARCHAR) FROM "
                        f"{_quoted(schema)}.{_quoted(table)} LIMIT {PER_COLUMN}").fetchall()
                    values = [r[0] for r in rows if r[0] is not None]
                    if new_when_full(values):   # past the bound: skipped, never overshot
                        log.info("jupyter_guard: %s.%s of %s not preloaded: the known values "
                                 "are full", table, col, path)
                        continue
                    exits.remember(values)
            except Exception as e:  # noqa: BLE001 - a catalog the guard cannot read (an old file, a view over a missing file): copies are then left to the detectors and lineage, as before
                log.debug("jupyter_guard: sensitive values of %s not read: %s", path, e)
            finally:
                cur.close()
