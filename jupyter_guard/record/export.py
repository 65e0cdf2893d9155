"""Getting events out: Hive-partitioned Parquet, OpenLineage run events, and compaction to Parquet.

``compact`` moves a prefix of each session's chain to ``<archive_dir>/audit-<ts>.{events,lineage}
.parquet`` and records a chain anchor (last archived seq and hash): ``verify`` re-checks the archive
when present and continues the store's chain from the anchor.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .journal import HOST, ingested_dir
from .schema import utcnow
from .store import connect_readonly, rewrite, store_lock

PRODUCER = "https://github.com/jupyter-guard/jupyter_guard"
RUN_EVENT_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
COLUMN_LINEAGE_URL = ("https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json"
                      "#/$defs/ColumnLineageDatasetFacet")
EVENT_TYPES = {"running": "RUNNING", "ok": "COMPLETE", "error": "FAIL", "blocked": "ABORT",
               "interrupted": "ABORT"}


def _sql_str(value: str | os.PathLike[str]) -> str:
    return "'" + os.fspath(value).replace("'", "''") + "'"


def export_parquet(path: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> int:
    """Write ``events/`` and ``lineage/`` under ``out_dir``, partitioned ``day=YYYY-MM-DD/user=NAME``.

    File names carry this host's name, so several nodes can export into one shared directory;
    re-exporting replaces this node's files. Returns the number of events exported.
    """
    node = re.sub(r"[^A-Za-z0-9_.-]", "_", HOST)
    out = Path(os.fspath(out_dir))
    out.mkdir(parents=True, exist_ok=True)
    options = f"FORMAT parquet, PARTITION_BY (day, \"user\"), OVERWRITE_OR_IGNORE, " \
              f"FILENAME_PATTERN '{node}_{{i}}'"
    con = connect_readonly(path)
    try:
        (count,), = con.execute("SELECT count(*) FROM events").fetchall()
        if count:
            con.execute(f"""COPY (SELECT *, strftime(ts, '%Y-%m-%d') AS day, user_name AS "user"
                FROM events) TO {_sql_str(out / 'events')} ({options})""")
            con.execute(f"""COPY (SELECT l.*, e.session_id, strftime(e.ts, '%Y-%m-%d') AS day,
                e.user_name AS "user" FROM lineage l JOIN events e USING (event_id))
                TO {_sql_str(out / 'lineage')} ({options})""")
        return int(count)
    finally:
        con.close()


def _dataset(kind: str, name: str, session_id: str) -> tuple[str, str]:
    """(namespace, name) of the OpenLineage dataset a lineage row belongs to."""
    if kind == "column":
        return "jupyter_guard", name.rsplit(".", 1)[0]
    if kind == "file":
        return "file", name
    if kind == "url":
        parts = urlsplit(name)
        return f"{parts.scheme}://{parts.netloc}", parts.path or "/"
    if kind == "variable":
        return f"jupyter://{session_id}", name
    return "jupyter_guard", name


def run_event(event: dict[str, Any], lineage: list[tuple[str, str, str, bool]]) -> dict[str, Any]:
    """One OpenLineage RunEvent for one audit event (column lineage: every read column feeds
    every written column, or passes through by name when no written column is known)."""
    sets: dict[str, dict[tuple[str, str], set[str]]] = {"read": {}, "write": {}}
    for direction, kind, name, _sensitive in lineage:
        key = _dataset(kind, name, event["session_id"])
        cols = sets[direction].setdefault(key, set())
        if kind == "column":
            cols.add(name.rsplit(".", 1)[1])
    read_fields = [{"namespace": ns, "name": n, "field": c}
                   for (ns, n), cols in sorted(sets["read"].items()) for c in sorted(cols)]

    def dataset(key: tuple[str, str], cols: set[str], output: bool) -> dict[str, Any]:
        doc: dict[str, Any] = {"namespace": key[0], "name": key[1], "facets": {}}
        if output and read_fields:
            targets = sorted(cols) or sorted({f["field"] for f in read_fields})
            doc["facets"]["columnLineage"] = {
                "_producer": PRODUCER, "_schemaURL": COLUMN_LINEAGE_URL,
                "fields": {t: {"inputFields": [f for f in read_fields
                                               if cols or f["field"] == t]} for t in targets}}
        return doc

    ts = dt.datetime.fromtimestamp(event["ts_us"] / 1e6, dt.timezone.utc)
    job: dict[str, Any] = {"namespace": "jupyter_guard",
                           "name": f"{event['notebook'] or event['session_id']}#{event['cell_id']}",
                           "facets": {}}
    if event["kind"] == "sql":
        job["facets"]["sql"] = {"_producer": PRODUCER, "query": event["code"] or "",
                                "_schemaURL": "https://openlineage.io/spec/facets/1-1-0/"
                                              "SQLJobFacet.json#/$defs/SQLJobFacet"}
    guard = {k: event[k] for k in ("user_name", "actor", "kind", "decision", "rule_id", "reason",
                                   "status", "session_id", "seq", "hash", "code_sha256")}
    return {
        "eventType": EVENT_TYPES.get(event["status"], "OTHER"),
        "eventTime": ts.isoformat().replace("+00:00", "Z"),
        "producer": PRODUCER, "schemaURL": RUN_EVENT_URL,
        "run": {"runId": str(uuid.UUID(hex=event["event_id"])),
                "facets": {"jupyter_guard": {"_producer": PRODUCER,
                                             "_schemaURL": f"{PRODUCER}#audit", **guard}}},
        "job": job,
        "inputs": [dataset(k, c, False) for k, c in sorted(sets["read"].items())],
        "outputs": [dataset(k, c, True) for k, c in sorted(sets["write"].items())],
    }


def export_openlineage(path: str | os.PathLike[str], out_file: str | os.PathLike[str]) -> int:
    """Write one RunEvent JSON per line per event, oldest first; returns how many."""
    from .ingest import load_rows

    con = connect_readonly(path)
    try:
        rows = load_rows(con, "true ORDER BY ts, session_id, seq", [])
    finally:
        con.close()
    with open(out_file, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(run_event(row, row["lineage"]), ensure_ascii=False) + "\n")
    return len(rows)


def compact(path: str | os.PathLike[str], older_than_days: float,
            archive_dir: str | os.PathLike[str], *, now: dt.datetime | None = None) -> int:
    """Move final events older than the cut-off (a chain prefix per session) to Parquet.

    Returns the number of events archived. ``now`` (naive UTC) is for tests.
    """
    cutoff = (now or utcnow()) - dt.timedelta(days=older_than_days)
    archive = Path(os.fspath(archive_dir)).resolve()
    archive.mkdir(parents=True, exist_ok=True)
    stem = archive / f"audit-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    with store_lock(path, wait=None), rewrite(path, shrink=True) as con:
        con.execute("""CREATE TEMP TABLE _arch AS
            WITH cut AS (SELECT session_id, coalesce(min(seq) FILTER (WHERE ts >= ?) - 1,
                                                     max(seq)) AS upto
                         FROM events WHERE seq IS NOT NULL GROUP BY session_id)
            SELECT e.event_id, e.session_id, e.seq, e.hash FROM events e JOIN cut USING (session_id)
            WHERE e.seq IS NOT NULL AND e.seq <= cut.upto""", [cutoff])
        (count,), = con.execute("SELECT count(*) FROM _arch").fetchall()
        if not count:
            return 0
        con.execute(f"""COPY (SELECT * FROM events WHERE event_id IN (SELECT event_id FROM _arch)
            ORDER BY session_id, seq) TO {_sql_str(f'{stem}.events.parquet')} (FORMAT parquet)""")
        con.execute(f"""COPY (SELECT * FROM lineage WHERE event_id IN (SELECT event_id FROM _arch))
            TO {_sql_str(f'{stem}.lineage.parquet')} (FORMAT parquet)""")
        con.execute("""INSERT INTO chain_anchors SELECT session_id, max(seq), arg_max(hash, seq),
            ?, ? FROM _arch GROUP BY session_id""", [os.fspath(stem), utcnow()])
        con.execute("DELETE FROM lineage WHERE event_id IN (SELECT event_id FROM _arch)")
        con.execute("DELETE FROM events WHERE event_id IN (SELECT event_id FROM _arch)")
        gone = {sid for (sid,) in con.execute(
            "SELECT session_id FROM sessions s WHERE closed AND NOT EXISTS "
            "(SELECT 1 FROM events e WHERE e.session_id = s.session_id)").fetchall()}
    done = ingested_dir(path)
    for journal in done.glob("*.jsonl") if done.exists() else ():
        if journal.stem in gone:  # every event of this ended session is in the archive now
            journal.unlink()
    return int(count)
