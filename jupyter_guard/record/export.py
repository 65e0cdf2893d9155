"""Getting events out: Hive-partitioned Parquet, OpenLineage run events (built by
``openlineage.py``), and compaction to Parquet.

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
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from . import segments
from .journal import HOST, ingested_dir
from .schema import utcnow
from .store import connect_readonly, rewrite, store_lock
from .views import CELL_KEY


def _sql_str(value: str | os.PathLike[str]) -> str:
    return "'" + os.fspath(value).replace("'", "''") + "'"


def export_parquet(path: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> int:
    """Write ``events/`` and ``lineage/`` under ``out_dir``.

    Partitioned ``day=YYYY-MM-DD/user=NAME``.

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


_CELLS = f"""WITH ev AS (SELECT event_id, {CELL_KEY} AS cell_key FROM events),
    lin AS (SELECT ev.cell_key, list({{'d': l.direction, 'k': l.object_kind,
                                       'n': l.name, 's': l.is_sensitive}}) AS lineage
            FROM lineage l JOIN ev USING (event_id) GROUP BY ev.cell_key)
    SELECT c.cell_key, c.ts, c.finished_at, c.user_name, c.actor, c.session_id, c.notebook,
           c.cell_id, c.execution_count, c.code, c.decision, c.rule_id, c.reason, c.status,
           c.layers, c.event_ids, c.first_event_id, lin.lineage
    FROM cells c LEFT JOIN lin USING (cell_key) ORDER BY c.ts, c.cell_key"""
_SESSIONS = """SELECT session_id, min(ts) AS started, max(coalesce(finished_at, ts)) AS ended,
    max(notebook) AS notebook, bool_or(status = 'running') AS running,
    bool_or(status = 'interrupted') AS interrupted FROM events GROUP BY session_id
    ORDER BY started, session_id"""


def openlineage_events(path: str | os.PathLike[str], *, cells: Collection[str] | None = None,
                       started: set[str] | None = None, ends: bool = True
                       ) -> Iterator[dict[str, Any]]:
    """Every OpenLineage run event of the audit, in time order: a session's START before its
    cells' events, its end after them (see ``record.openlineage``).

    Live use (the server's emitter): ``cells`` limits the export to those cell keys, ``started``
    holds the sessions whose START was already sent, ``ends=False`` leaves sessions open.
    """
    from . import openlineage as ol

    con = connect_readonly(path)
    try:
        cur = con.execute(_SESSIONS)
        names = [d[0] for d in cur.description]
        sessions = [dict(zip(names, r)) for r in cur.fetchall()]
        by_id = {s["session_id"]: s for s in sessions}
        started = set() if started is None else started
        query, params = _CELLS, []
        if cells is not None:
            query = _CELLS.replace("ORDER BY c.ts", "WHERE c.cell_key IN (SELECT unnest(?)) "
                                   "ORDER BY c.ts")
            params = [list(cells)]
        cur = con.execute(query, params)
        names = [d[0] for d in cur.description]
        while batch := cur.fetchmany(2048):
            for values in batch:
                cell = dict(zip(names, values))
                session = by_id.get(cell["session_id"])
                if session is not None and cell["session_id"] not in started:
                    started.add(cell["session_id"])
                    yield next(ol.session_events(session))
                yield from ol.cell_events(cell)
        for s in sessions if ends else ():
            events = list(ol.session_events(s))
            yield from (events if s["session_id"] not in started else events[1:])
    finally:
        con.close()


def export_openlineage(path: str | os.PathLike[str], out_file: str | os.PathLike[str]) -> int:
    """Write one RunEvent JSON per line (see ``openlineage_events``); returns how many."""
    count = 0
    with open(out_file, "w", encoding="utf-8") as f:
        for doc in openlineage_events(path):
            f.write(json.dumps(doc, ensure_ascii=False, default=str) + "\n")
            count += 1
    return count


def send_openlineage(path: str | os.PathLike[str], client: Any) -> int:
    """Send every run event through an ``openlineage.client.OpenLineageClient``."""
    from .openlineage import client_event

    count = 0
    for doc in openlineage_events(path):
        client.emit(client_event(doc))
        count += 1
    return count


def compact(path: str | os.PathLike[str], older_than_days: float,
            archive_dir: str | os.PathLike[str], *, now: dt.datetime | None = None) -> int:
    """Move final events older than the cut-off (a chain prefix per session) to Parquet.

    Returns the number of events archived. ``now`` (naive UTC) is for tests.
    """
    cutoff = (now or utcnow()) - dt.timedelta(days=older_than_days)
    archive = Path(os.fspath(archive_dir)).resolve()
    archive.mkdir(parents=True, exist_ok=True)
    stem = archive / f"audit-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    from . import seal_write
    from .ingest import fold_locked

    with store_lock(path, wait=None):
        fold_locked(path)   # the delta files' events into the tables archived from
        count = _compact(path, cutoff, stem)
    seal_write.flush(Path(os.fspath(path)))   # the segments it rewrote, checked and sealed
    return count


def _compact(path: str | os.PathLike[str], cutoff: dt.datetime, stem: Path) -> int:
    with rewrite(path, shrink=True) as con:
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
        con.execute("DELETE FROM lineage_live WHERE event_id IN (SELECT event_id FROM _arch)")
        con.execute("DELETE FROM events_live WHERE event_id IN (SELECT event_id FROM _arch)")
        segments.prune(con, Path(os.fspath(path)), "_arch")
        gone = {sid for (sid,) in con.execute(
            "SELECT session_id FROM sessions s WHERE closed AND NOT EXISTS "
            "(SELECT 1 FROM events e WHERE e.session_id = s.session_id)").fetchall()}
    done = ingested_dir(path)
    for journal in done.glob("*.jsonl") if done.exists() else ():
        if journal.stem in gone:  # every event of this ended session is in the archive now
            journal.unlink()
    return int(count)
