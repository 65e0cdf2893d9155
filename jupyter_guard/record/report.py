"""The governance summary behind ``jupyter guard report``: blocked/allowed cells by user, rule,
day. It counts cells (the ``cells`` view), not events: with the server gate on, a cell's server
and kernel rows, and a run-time refusal raised inside it, are one cell."""
from __future__ import annotations

import datetime as dt
import os
from typing import Any

from .store import connect_readonly
from .views import CELL_KEY, SEVERITY, STATUS_RANK

# One row per cell with what the report needs (as the ``cells`` view decides it), from ``{src}``.
PER_CELL = f"""SELECT min(ts) AS ts, arg_min(user_name, layer) AS user_name,
    arg_max(rule_id, weight) AS rule_id, arg_max(status, {STATUS_RANK}) AS status,
    arg_max(decision, weight) AS decision, arg_max(reason, weight) AS reason
    FROM (SELECT ts, user_name, rule_id, status, decision, reason, kind,
                 {CELL_KEY} AS cell_key, CASE WHEN kind = 'server' THEN 0 ELSE 1 END AS layer,
                 {SEVERITY} * 10 + {STATUS_RANK} AS weight FROM {{src}})
    GROUP BY cell_key"""
# The report's rows of those cells.
ROLLUP = """SELECT strftime(ts, '%Y-%m-%d') AS day, user_name, coalesce(rule_id, '') AS rule_id,
    count(*) FILTER (WHERE status = 'blocked') AS blocked,
    count(*) FILTER (WHERE status <> 'blocked') AS allowed,
    count(*) FILTER (WHERE decision = 'warn' AND reason LIKE 'would %') AS would_block,
    count(*) AS events FROM ({cells}) GROUP BY ALL"""


def rollup_sql(source: str) -> str:
    """The report's rows for the cells of ``source`` (a table or ``read_parquet(...)``)."""
    return ROLLUP.format(cells=PER_CELL.format(src=source))


def _day_aligned(since: Any) -> str | None:
    """``since`` as an ISO day when it starts a day (the roll-ups count whole days), else None."""
    if since is None:
        return ""
    if isinstance(since, dt.datetime):
        return since.date().isoformat() if since.time() == dt.time() else None
    if isinstance(since, dt.date):
        return since.isoformat()
    try:
        parsed = dt.datetime.fromisoformat(str(since))
    except ValueError:
        return None
    return parsed.date().isoformat() if parsed.time() == dt.time() else None


def report(path: str | os.PathLike[str], since: dt.date | dt.datetime | str | None = None,
           user: str | None = None) -> list[dict[str, Any]]:
    """Rows of ``day`` (ISO date, UTC), ``user``, ``rule_id`` ('' when no rule matched),
    ``blocked``, ``allowed``, ``would_block`` (what ``mode: enforce`` would have stopped: logged by
    ``mode: audit`` as ``warn`` with a ``would block:``/``would approval:`` reason), ``events``;
    ordered by day, user, rule.

    ``since`` is a date, a naive-UTC datetime, or an ISO string; ``user`` filters one user.
    """
    where, params = ["true"], []
    if since is not None:
        where.append("ts >= CAST(? AS TIMESTAMP)")
        params.append(since if isinstance(since, str) else since.isoformat())
    if user is not None:
        where.append("user_name = ?")
        params.append(user)
    con = connect_readonly(path)
    try:
        day = _day_aligned(since)
        if day is not None and con.execute("SELECT count(*) FROM duckdb_tables() WHERE "
                                           "table_name = 'report_rollup'").fetchall()[0][0]:
            return _from_rollups(con, day, user)
        cur = con.execute(f"""SELECT strftime(ts, '%Y-%m-%d') AS day, user_name AS "user",
            coalesce(rule_id, '') AS rule_id,
            count(*) FILTER (WHERE status = 'blocked') AS blocked,
            count(*) FILTER (WHERE status <> 'blocked') AS allowed,
            count(*) FILTER (WHERE decision = 'warn' AND reason LIKE 'would %') AS would_block,
            count(*) AS events
            FROM cells WHERE {' AND '.join(where)}
            GROUP BY ALL ORDER BY day, "user", rule_id""", params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]
    finally:
        con.close()


# the cells not yet in a segment: the catalog's live rows and the delta files' (one source, so a
# cell split between them is counted once)
_RECENT = "(SELECT * FROM events_live UNION ALL BY NAME SELECT * FROM events_delta)"


def _from_rollups(con: Any, day: str, user: str | None) -> list[dict[str, Any]]:
    """Sealed segments' counts plus the live cells': no scan of the segments."""
    cur = con.execute(f"""SELECT day, user_name AS "user", rule_id, sum(blocked)::BIGINT AS blocked,
        sum(allowed)::BIGINT AS allowed, sum(would_block)::BIGINT AS would_block,
        sum(events)::BIGINT AS events FROM (
            SELECT day, user_name, rule_id, blocked, allowed, would_block, events
            FROM report_rollup
            UNION ALL {rollup_sql(_RECENT)})
        WHERE day >= ? AND (? IS NULL OR user_name = ?)
        GROUP BY ALL ORDER BY day, "user", rule_id""", [day, user, user])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]
