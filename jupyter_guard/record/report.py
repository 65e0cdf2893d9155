"""The governance summary behind ``jupyter guard report``: blocked/allowed cells by user, rule,
day. It counts cells (the ``cells`` view), not events: with the server gate on, a cell's server
and kernel rows, and a run-time refusal raised inside it, are one cell."""
from __future__ import annotations

import datetime as dt
import os
from typing import Any

from .store import connect_readonly


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
