"""A database file read as bytes by SQL (DuckDB's ``read_blob``/``read_text``): its bytes reach
Python or a file without a Python ``open``, so the byte index of ``exit_dbcopy`` would not
know them.

- The file is remembered like one user code opened (``exit_dbcopy.SOURCES``): the bytes
  fetched and written later (``open(x, 'wb').write(blob[16:])``) are found in its index.
- A statement that writes what it reads somewhere (``COPY (SELECT content FROM
  read_blob('wh.duckdb')) TO 'x'``) is an export of every table in it (``copies database
  file``), refused like a ``cp``.

One regular-expression search per statement when neither name is in it.
"""
from __future__ import annotations

import glob
import os
import re
from typing import Any

from jupyter_guard.model import Intent

_READS = re.compile(r"(?i)\bread_(?:blob|text)\s*\(\s*\[?\s*((?:'(?:[^']|'')*'\s*,?\s*)+)")
_QUOTED = re.compile(r"'((?:[^']|'')*)'")
_WRITES = ("sql.export", "sql.insert", "sql.create", "sql.replace", "file.truncate",
           "file.write")


def database_reads(query: str) -> list[str]:
    """The database files ``read_blob``/``read_text`` name in ``query`` (globs expanded).

    >>> database_reads("SELECT 1"), database_reads("FROM read_blob('/nonexistent/*.db')")
    ([], [])
    """
    if "read_" not in query.lower():
        return []
    from jupyter_guard.hooks.event_paths import database_file

    found: list[str] = []
    for m in _READS.finditer(query):
        for q in _QUOTED.finditer(m.group(1)):
            pattern = q.group(1).replace("''", "'")
            if "://" in pattern:
                continue
            for p in sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]:
                if p not in found and database_file(p):
                    found.append(p)
    return found


def with_database_reads(analysis: Any, query: str) -> Any:
    """``analysis`` of ``query`` with an export of every table of each database file the
    statement reads as bytes and writes out; the files are remembered for the byte index."""
    srcs = database_reads(query)
    if not srcs:
        return analysis
    from dataclasses import replace

    from jupyter_guard.hooks import exit_dbcopy

    for s in srcs:
        exit_dbcopy.SOURCES[os.path.realpath(s)] = None
    dests = [i.target for i in analysis.intents if i.action in _WRITES and i.target]
    extra = tuple(Intent("df.export", "file", d, ("?",), source=query[:300],
                         detail=f"copies database file {s}") for d in dests for s in srcs)
    return replace(analysis, intents=analysis.intents + extra) if extra else analysis
