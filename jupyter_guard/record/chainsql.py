"""The chain check as one streaming DuckDB query: which sessions need a closer look.

``chain.canonical`` is rebuilt in SQL (``to_json`` of each field, keys in sorted order) and
hashed with DuckDB's ``sha256``; a window over each session's rows checks ``seq`` and
``prev_hash``. DuckDB streams and spills, so memory stays bounded at any audit size. The SQL
text may differ from Python's for rare values (a control character, a float in exponent form):
such a row only looks wrong here, and the session is checked again, exactly, in Python. A row
that passes here passes in Python too: its SQL text is a preimage of the hash the writer made.
"""
from __future__ import annotations

import os
import tempfile

import duckdb

from .chain import CHAIN_FIELDS


_VALUES = {"groups": "list_sort(coalesce(groups, []::VARCHAR[]))",
           "lineage": "json(coalesce(lin.l, '[]'))", "ts_us": "epoch_us(ts)", "duration_ms": "duration_ms::DOUBLE"}

# json_object writes compact JSON in the order given (the keys sorted, as Python's sort_keys);
# ~3x faster than concatenating to_json of each field.
CANONICAL = "json_object(" + ", ".join(
    f"'{f}', {_VALUES.get(f, f)}" for f in sorted(CHAIN_FIELDS)) + ")::VARCHAR"


def limit_memory(con: duckdb.DuckDBPyConnection, memory: str = "300MB") -> None:
    """Bound the connection's memory; what does not fit spills to a temp folder."""
    con.execute(f"SET memory_limit = '{memory}'")
    con.execute("SET enable_progress_bar = false")
    con.execute("SET preserve_insertion_order = false")
    spill = os.path.join(tempfile.gettempdir(), f"jupyter_guard-verify-{os.getuid()}")
    con.execute("SET temp_directory = ?", [spill])


def flagged_sessions(con: duckdb.DuckDBPyConnection, events: str, lineage: str,
                     anchors: str) -> tuple[set[str], int]:
    """Sessions with a row whose hash, link or ``seq`` does not check out in SQL, and the number
    of rows checked. ``anchors`` is a relation of (session_id, seq, hash) to start chains from."""
    (checked, ), = con.execute(f"SELECT count(*) FROM {events} WHERE seq IS NOT NULL").fetchall()
    rows = con.execute(f"""
        WITH lin AS (
            SELECT event_id, '[' || string_agg(json_array(direction, object_kind, name,
                   is_sensitive)::VARCHAR, ',' ORDER BY direction, object_kind, name,
                   is_sensitive) || ']' AS l
            FROM {lineage} GROUP BY event_id),
        h AS (
            SELECT e.session_id, e.seq, e.hash, coalesce(e.prev_hash, '') AS prev_hash,
                   sha256(coalesce(e.prev_hash, '') || {CANONICAL}) = e.hash AS same
            FROM {events} e LEFT JOIN lin USING (event_id) WHERE e.seq IS NOT NULL),
        w AS (
            SELECT h.*, lag(h.seq) OVER s AS pseq, lag(h.hash) OVER s AS phash,
                   a.seq AS aseq, a.hash AS ahash
            FROM h LEFT JOIN {anchors} a USING (session_id)
            WINDOW s AS (PARTITION BY h.session_id ORDER BY h.seq))
        SELECT DISTINCT session_id FROM w
        WHERE NOT coalesce(same, false)
           OR seq <> coalesce(pseq, aseq, 0) + 1
           OR prev_hash <> coalesce(phash, ahash, '')""").fetchall()
    return {str(s) for (s,) in rows}, int(checked)
