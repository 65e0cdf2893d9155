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
           "lineage": "json(coalesce(lin.l, '[]'))", "ts_us": "epoch_us(ts)",
           "duration_ms": "duration_ms::DOUBLE"}

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


BATCH = 250_000   # events hashed at a time: their lineage text is what takes memory


def _lineage_text(lineage: str, where: str) -> str:
    """Each event's lineage as canonical text: its items' JSON sorted as text (``list_sort``,
    about 2x faster than an ordered ``string_agg``). Text order is the items' order unless a
    name holds a character that sorts below ``"`` or is escaped; such an event only looks wrong
    here and its session is checked again in Python."""
    return f"""SELECT event_id, '[' || array_to_string(list_sort(list(json_array(direction,
        object_kind, name, is_sensitive)::VARCHAR)), ',') || ']'
        AS l FROM {lineage} WHERE {where} GROUP BY event_id"""


Part = tuple[str, str, int, bool]   # events, lineage, about how many events, sealed


def hash_rows(con: duckdb.DuckDBPyConnection, parts: list[Part]) -> int:
    """Fill ``_chk`` with narrow spans of chained events: 64-bit fingerprints of the session,
    the last event's hash and the first event's previous hash, the span's first (``lo``) and
    last ``seq``, and whether its content hashes to its ``hash``. A part is (events, lineage,
    about how many events, sealed): an event's lineage is in its own part (a segment holds
    both); an unsealed part gives one span per event, hashed in batches of ``BATCH`` events; a
    sealed one (``seal.py``: unchanged since a verify re-hashed it) one span per session, not
    re-hashed. Returns the events covered."""
    con.execute("""CREATE OR REPLACE TEMP TABLE _chk (sid UBIGINT, seq BIGINT, h UBIGINT,
        ph UBIGINT, same BOOLEAN, lo BIGINT)""")
    (cuts,), = con.execute("SELECT count(*) FROM _cut").fetchall()
    cut = ("SELECT x.* FROM {events} x LEFT JOIN _cut c USING (session_id) WHERE {where} "
           "AND x.seq IS NOT NULL AND x.seq > coalesce(c.seq, 0)") if cuts else (
           "SELECT * FROM {events} WHERE {where} AND seq IS NOT NULL")
    for events, lineage, n, sealed in parts:
        if sealed:   # fingerprints aggregated, not text: ~2x faster at 10M events
            con.execute(f"""INSERT INTO _chk SELECT sid, max(seq), arg_max(h, seq),
                arg_min(ph, seq), count(*) = max(seq) - min(seq) + 1, min(seq)
                FROM (SELECT hash(session_id) AS sid, seq, hash(hash) AS h,
                      hash(coalesce(prev_hash, '')) AS ph
                      FROM ({cut.format(events=events, where='true')})) GROUP BY sid""")
            continue
        k = max(1, -(-n // BATCH))
        for i in range(k):
            where = f"hash(event_id) % {k} = {i}" if k > 1 else "true"
            con.execute(f"""INSERT INTO _chk SELECT hash(e.session_id), e.seq, hash(e.hash),
                hash(coalesce(e.prev_hash, '')),
                sha256(coalesce(e.prev_hash, '') || {CANONICAL}) = e.hash, e.seq
                FROM ({cut.format(events=events, where=where)}) e
                LEFT JOIN ({_lineage_text(lineage, where)}) lin USING (event_id)""")
    (checked,), = con.execute("SELECT coalesce(sum(seq - lo + 1), 0) FROM _chk").fetchall()
    return int(checked)


def flagged_sessions(con: duckdb.DuckDBPyConnection, parts: list[Part]
                     ) -> tuple[set[int], int]:
    """Fingerprints of the sessions with a row whose hash, link or ``seq`` does not check out
    in SQL, and the number of rows checked. Chains start after ``_anchor`` (session_id, seq,
    hash); rows up to ``_cut`` are not checked (their archive is gone)."""
    checked = hash_rows(con, parts)
    rows = con.execute("""SELECT DISTINCT sid FROM (
            SELECT c.*, lag(c.seq) OVER s AS pseq, lag(c.h) OVER s AS prev,
                   a.seq AS aseq, CASE WHEN a.hash IS NOT NULL THEN hash(a.hash) END AS ah
            FROM _chk c LEFT JOIN (SELECT hash(session_id) AS sid, seq, hash FROM _anchor) a
            USING (sid) WINDOW s AS (PARTITION BY c.sid ORDER BY c.seq, c.lo))
        WHERE NOT coalesce(same, false) OR lo <> coalesce(pseq, aseq, 0) + 1
           OR ph <> coalesce(prev, ah, hash(''::VARCHAR))""").fetchall()
    return {int(s) for (s,) in rows}, checked


def unlinked_within(con: duckdb.DuckDBPyConnection, parts: list[Part]) -> int:
    """Sessions of ``parts`` (a segment being sealed, or a merge's inputs) with a row or span
    that does not check, or that does not link to the one before it *within* ``parts``; each
    session's first row is left to ``verify``, which links it to what came before. Needs the
    temp table ``_cut`` (empty: nothing is cut)."""
    hash_rows(con, parts)
    (bad,), = con.execute("""SELECT count(DISTINCT sid) FROM (
            SELECT c.*, lag(c.seq) OVER s AS pseq, lag(c.h) OVER s AS prev FROM _chk c
            WINDOW s AS (PARTITION BY c.sid ORDER BY c.seq, c.lo))
        WHERE NOT coalesce(same, false)
           OR (pseq IS NOT NULL AND (lo <> pseq + 1 OR ph <> prev))""").fetchall()
    return int(bad)
