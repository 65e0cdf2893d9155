"""Deltas: the usual ingest writes one immutable Parquet file and leaves the DuckDB catalog alone.

``<audit>.delta/<gen>/<n>.parquet`` holds full event rows (a later file's row of an event replaces
an earlier one: ``_v``), each with its lineage as a list, and in the file's metadata each journal's
state after it (offset, chain head, writer). The catalog's views read the current generation by
glob, so a file is visible the moment it is renamed into place. The delta is the commit point.

- ``append`` (``append.py``) takes the common case only: known journals of live writers with
  well-formed begin/end lines. Anything else (a new or ended session, an approval, a line that
  does not parse, an end whose begin is in the catalog) goes to the copy-on-write ingest.
- ``fold`` runs inside every copy-on-write ingest: the generation's rows go to ``events_live`` /
  ``lineage_live``, the journals' states to ``sessions``, and a new generation starts (its first
  file is empty, so the glob always matches). An old generation is deleted ``GRACE_S`` after it
  was replaced (a reader of the previous catalog may still read it).
- The ingest hint (``<audit>.ingested.json``) caches the current generation, the catalog's
  stamp, the journals and the running rows. A file it does not know (a crash between rename
  and cache) makes the next ingest fold, which reads every file's own metadata.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import duckdb

from jupyter_guard.duck import Scratch

GRACE_S = 600.0
FOLD_FILES = 64          # deltas in a generation before the next ingest folds them
FOLD_ROWS = 5_000        # rows in a generation before the next ingest folds them
META_KEY = b"jupyter_guard"
BASE = "00000000.parquet"


def delta_dir(published: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(published)}.delta")


def _q(path: Path | str) -> str:
    return "'" + os.fspath(path).replace("'", "''") + "'"


def schema() -> Any:
    import pyarrow as pa

    s, i, ts = pa.string(), pa.int64(), pa.timestamp("us")
    item = pa.struct([("direction", s), ("object_kind", s), ("name", s),
                      ("is_sensitive", pa.bool_())])
    return pa.schema([
        ("event_id", s), ("ts", ts), ("user_name", s), ("actor", s), ("groups", pa.list_(s)),
        ("session_id", s), ("seq", i), ("notebook", s), ("cell_id", s),
        ("execution_count", pa.int32()), ("kind", s), ("code", s), ("code_sha256", s),
        ("decision", s), ("rule_id", s), ("reason", s), ("policy_revision", s),
        ("decision_id", s), ("status", s), ("duration_ms", pa.float64()),
        ("rows_affected", i), ("finished_at", ts), ("host", s), ("prev_hash", s), ("hash", s),
        ("facts", s), ("server_event_id", s), ("lineage", pa.list_(item)), ("_v", i)])


def write(folder: Path, n: int, rows: list[dict[str, Any]], sessions: dict[str, Any]) -> Path:
    """Write delta ``n`` atomically (a temp name the views' glob does not match, then rename):
    with pyarrow where this thread may use it (``arrow_ready``), else with DuckDB."""
    if not arrow_ready():
        return _write_duck(folder, n, rows, sessions)
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows, schema=schema()).replace_schema_metadata(
        {META_KEY: json.dumps({"sessions": sessions}).encode()})
    final = folder / f"{n:08d}.parquet"
    tmp = folder / f".{n:08d}.tmp-{os.getpid()}"
    buf = pa.BufferOutputStream()   # built in memory, written with one call: ~1 ms less
    pq.write_table(table, buf, compression="none", use_dictionary=False, write_statistics=False)
    try:
        with open(tmp, "wb") as f:
            f.write(buf.getvalue().to_pybytes())
        os.rename(tmp, final)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return final


_COLUMNS = (   # ``schema()`` in DuckDB's types, for a file written without pyarrow
    "event_id VARCHAR, ts TIMESTAMP, user_name VARCHAR, actor VARCHAR, groups VARCHAR[], "
    "session_id VARCHAR, seq BIGINT, notebook VARCHAR, cell_id VARCHAR, execution_count INTEGER, "
    "kind VARCHAR, code VARCHAR, code_sha256 VARCHAR, decision VARCHAR, rule_id VARCHAR, "
    "reason VARCHAR, policy_revision VARCHAR, decision_id VARCHAR, status VARCHAR, "
    "duration_ms DOUBLE, rows_affected BIGINT, finished_at TIMESTAMP, host VARCHAR, "
    "prev_hash VARCHAR, hash VARCHAR, facts VARCHAR, server_event_id VARCHAR, "
    "lineage STRUCT(direction VARCHAR, object_kind VARCHAR, name VARCHAR, is_sensitive BOOLEAN)[], "
    "_v BIGINT")


def write_empty(folder: Path) -> Path:
    """Delta 0 of a new generation: no rows, no journal states. Written by DuckDB, because a fold
    runs in the ingest thread, which must not be the first to import pyarrow (``arrow_ready``)."""
    from jupyter_guard.duck import own_connection

    final = folder / BASE
    tmp = folder / f".{BASE}.tmp-{os.getpid()}"
    nulls = ", ".join(f"NULL::{c.split(' ', 1)[1]} AS {c.split(' ', 1)[0]}"
                      for c in _split(_COLUMNS))
    con = own_connection(":memory:")
    try:
        con.execute(f"COPY (SELECT {nulls} WHERE false) TO {_q(tmp)} (FORMAT parquet, "
                    f"KV_METADATA {{{META_KEY.decode()}: '{json.dumps({'sessions': {}})}'}})")
        os.rename(tmp, final)
    finally:
        con.close()
        with contextlib.suppress(OSError):
            tmp.unlink()
    return final


_SCRATCH = Scratch()   # the in-memory DuckDB ``_write_duck`` writes with (no instance per delta)


def _write_duck(folder: Path, n: int, rows: list[dict[str, Any]], sessions: dict[str, Any]
                ) -> Path:
    """``write`` by DuckDB: the rows as JSON lines, read back with ``_COLUMNS``' types (times
    as microseconds, as the journal has them) and copied to Parquet with the same metadata. In
    a kernel that never imported pandas the ingest thread may not import pyarrow, and without
    this every ingest copied the whole store (~70 ms of CPU a second beside the cells)."""
    import orjson

    final = folder / f"{n:08d}.parquet"
    tmp = folder / f".{n:08d}.tmp-{os.getpid()}"
    lines = folder / f".{n:08d}.rows-{os.getpid()}"
    cols = _split(_COLUMNS)
    types = {c.split(" ", 1)[0]: c.split(" ", 1)[1] for c in cols}
    read = {k: "BIGINT" if t == "TIMESTAMP" else t for k, t in types.items()}
    pick = ", ".join(f"make_timestamp({k}) AS {k}" if t == "TIMESTAMP" else k
                     for k, t in types.items())
    spec = "{" + ", ".join(f"{k}: '{t}'" for k, t in read.items()) + "}"
    meta = json.dumps({"sessions": sessions}).replace("'", "''")
    try:
        with open(lines, "wb") as f:
            f.write(b"".join(orjson.dumps(r) + b"\n" for r in rows))
        with _SCRATCH.connection() as con:
            con.execute("SET threads = 1")   # a few rows: DuckDB's workers only cost CPU here
            con.execute(f"COPY (SELECT {pick} FROM read_json({_q(lines)}, format = "
                        f"'newline_delimited', columns = {spec})) TO {_q(tmp)} (FORMAT parquet, "
                        f"KV_METADATA {{{META_KEY.decode()}: '{meta}'}})")
        os.rename(tmp, final)
    except duckdb.Error as exc:   # the caller's copy-on-write ingest takes these lines
        raise ValueError(f"delta {final} not written: {exc}") from None
    finally:
        for leftover in (tmp, lines):
            with contextlib.suppress(OSError):
                leftover.unlink()
    return final


def _split(columns: str) -> list[str]:
    """``_COLUMNS`` cut at its top-level commas (the struct's own commas stay)."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(columns):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            out.append(columns[start:i].strip())
            start = i + 1
    out.append(columns[start:].strip())
    return out


def files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.parquet"))


def sessions_in(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """Each journal's state after the last of ``paths`` that names it (read by DuckDB: a fold
    runs in the ingest thread, which must not be the first to import pyarrow, see
    ``arrow_ready``)."""
    out: dict[str, dict[str, Any]] = {}
    if not paths:
        return out
    from jupyter_guard.duck import own_connection

    con = own_connection(":memory:")
    try:
        for p in paths:
            for key, value in con.execute("SELECT key, value FROM parquet_kv_metadata(?)",
                                          [os.fspath(p)]).fetchall():
                if bytes(key) == META_KEY:
                    out.update(json.loads(bytes(value))["sessions"])
    finally:
        con.close()
    return out


def arrow_ready() -> bool:
    """Whether this thread may use pyarrow now: it is the kernel's main thread, or pyarrow and
    pandas (which pyarrow imports on its first array) are already imported. A first import of
    pandas from the background ingest while the kernel's own thread imports it too breaks one of
    the two (``cannot import name ... from partially initialized module``), so until then the
    ingest takes the copy-on-write way."""
    import sys
    import threading

    if threading.current_thread() is threading.main_thread():
        return True
    for name in ("pyarrow", "pandas"):
        spec = getattr(sys.modules.get(name), "__spec__", None)
        if spec is None or getattr(spec, "_initializing", False):
            return False
    return True


def current_gen(con: duckdb.DuckDBPyConnection) -> str:
    has = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'delta_gen' "
                      "AND database_name = current_database()").fetchall()[0][0]
    if not has:
        return ""
    found = con.execute("SELECT max(gen) FROM delta_gen").fetchall()
    return str(found[0][0] or "")


def view_sql(con: duckdb.DuckDBPyConnection, published: Path) -> tuple[str, str]:
    """``events_delta`` and ``lineage_delta``: the latest row of each event in the generation."""
    gen = current_gen(con)
    if not gen:
        return ("SELECT * FROM events_live WHERE false", "SELECT * FROM lineage_live WHERE false")
    glob = _q(delta_dir(published).resolve() / gen / "*.parquet")
    latest = (f"SELECT * FROM read_parquet({glob}) QUALIFY "
              "row_number() OVER (PARTITION BY event_id ORDER BY _v DESC) = 1")
    events = (f"SELECT * EXCLUDE (lineage, _v) REPLACE (facts::JSON AS facts) FROM ({latest})")
    lineage = ("SELECT event_id, l.direction, l.object_kind, l.name, l.is_sensitive FROM "
               f"(SELECT event_id, unnest(lineage) AS l FROM ({latest}))")
    return events, lineage


def fold(con: duckdb.DuckDBPyConnection, published: Path) -> str:
    """Move the current generation into the catalog's tables and start a new one (inside a
    catalog rewrite). Returns the new generation."""
    folder = delta_dir(published)
    gen = current_gen(con)
    if gen and (folder / gen).is_dir():
        paths = files(folder / gen)
        if len(paths) > 1:
            listed = ", ".join(_q(p) for p in paths)
            con.execute(f"""CREATE OR REPLACE TEMP TABLE _fold AS SELECT * FROM
                read_parquet([{listed}]) QUALIFY
                row_number() OVER (PARTITION BY event_id ORDER BY _v DESC) = 1""")
            _sessions_back(con, sessions_in(paths))
            con.execute("""INSERT INTO events_live BY NAME SELECT * EXCLUDE (lineage, _v)
                REPLACE (facts::JSON AS facts) FROM _fold""")
            con.execute("""INSERT INTO lineage_live SELECT event_id, l.direction,
                l.object_kind, l.name, l.is_sensitive FROM
                (SELECT event_id, unnest(lineage) AS l FROM _fold)""")
            con.execute("DROP TABLE _fold")
    new = f"g{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    (folder / new).mkdir(parents=True, exist_ok=True)
    write_empty(folder / new)
    con.execute("CREATE TABLE IF NOT EXISTS delta_gen (gen VARCHAR NOT NULL)")
    con.execute("DELETE FROM delta_gen")
    con.execute("INSERT INTO delta_gen VALUES (?)", [new])
    return new


def _sessions_back(con: duckdb.DuckDBPyConnection, sessions: dict[str, dict[str, Any]]
                   ) -> None:
    """The journals' states into ``sessions``. A journal the deltas took as new that the
    catalog knows after all (a journal put back by hand) keeps the catalog's state, and its
    delta rows are dropped: the copy-on-write ingest reads it on from its own offset."""
    known = {j for (j,) in con.execute("SELECT journal FROM sessions WHERE list_contains(?, "
                                       "journal)", [list(sessions)]).fetchall()}
    for journal, s in sessions.items():
        if s.get("new") and journal in known:
            con.execute("DELETE FROM _fold WHERE session_id = ?", [s["session_id"]])
        elif journal not in known:
            con.execute("""INSERT INTO sessions (session_id, journal, byte_offset, last_seq,
                last_hash, pid, host, pid_start) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                        [s["session_id"], journal, s["offset"], s["last_seq"], s["last_hash"],
                         s["pid"], s["host"], s["pid_start"]])
        else:
            con.execute("""UPDATE sessions SET byte_offset = ?, last_seq = ?, last_hash = ?,
                pid = ?, host = ?, pid_start = ? WHERE journal = ?""",
                        [s["offset"], s["last_seq"], s["last_hash"], s["pid"], s["host"],
                         s["pid_start"], journal])


def retire_old(published: Path, keep: str) -> None:
    """Generations other than ``keep``: marked when first seen replaced, deleted after grace."""
    folder = delta_dir(published)
    now = time.time()
    for d in folder.iterdir() if folder.is_dir() else ():
        if not d.is_dir() or d.name == keep:
            continue
        mark = d / ".retired"
        try:
            if not mark.exists():
                mark.write_text(str(now))
            elif now - float(mark.read_text() or 0) >= GRACE_S:
                shutil.rmtree(d, ignore_errors=True)
        except (OSError, ValueError):   # a leftover that cannot be read is left for later
            continue


DELTA = "__delta__"   # the cache's key in the ingest hint (``hint.py``): one file to replace


def read_state(published: Path) -> dict[str, Any]:
    from .hint import read_hint

    state = read_hint(published).get(DELTA)
    return state if isinstance(state, dict) else {}
