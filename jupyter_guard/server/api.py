"""Read-only questions over the audit file, for the server API and the sidebar.

Pure functions: a path and a few filters in, JSON-ready dicts out. Each call opens the DuckDB file
read-only, reads, and closes it again, so no reader ever holds the file between requests.

>>> summary("/nonexistent/audit.duckdb")["total"]
0
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)

DECISIONS: tuple[str, ...] = ("allow", "mask", "warn", "approval", "block")
# Columns the API returns, in order: the audit event's public fields. Hashes stay in the file;
# `verify` reads them.
EVENT_COLUMNS: tuple[str, ...] = (
    "event_id", "ts", "user_name", "actor", "session_id", "notebook", "cell_id",
    "execution_count", "kind", "code", "code_sha256", "decision", "rule_id", "reason", "status",
    "duration_ms", "rows_affected",
)
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
LATEST = 5
TOP_RULES = 5
CODE_CHARS = 2000
INGEST_WAIT = 0.5
CONNECT_ATTEMPTS = 5
# A writer is publishing a new copy of the file right now: try again shortly.
_TRANSIENT = ("Could not set lock", "Conflicting lock", "No such file")


class AuditUnavailable(RuntimeError):
    """The audit file exists but cannot be read (locked, corrupt, not DuckDB)."""

    def __init__(self, path: str, cause: BaseException) -> None:
        super().__init__(f"audit file {path} cannot be read: {cause}")
        self.path = path


def _stale(path: str | os.PathLike[str]) -> str:
    from jupyter_guard.record.health import staleness

    try:
        return staleness(path)
    except OSError as e:   # a journal folder that cannot be listed: say so rather than "fresh"
        return f"cannot tell whether the figures are complete ({e.strerror or e})"


def summary(path: str | os.PathLike[str], user: str | None = None) -> dict[str, Any]:
    """Counts of cells by decision, top rules, latest blocked and allowed events, pending
    approvals.

    ``user=None`` means every user's events; otherwise only that user's.
    """
    result: dict[str, Any] = {
        "audit_file": os.fspath(path), "user": user,
        "counts": dict.fromkeys(DECISIONS, 0), "total": 0, "top_rules": [],
        "latest_blocked": [], "latest_allowed": [], "pending_approvals": 0,
        "stale": _stale(path),   # "" or why events in the journals are not in these figures
    }
    with _reader(path) as con:
        if con is None:
            return result
        cols = _columns(con, "events")
        if not cols:
            return result
        where, params = _where(cols, user=user)
        # counts are of cells: a cell seen by the server gate and the kernel is one, and a
        # cell a run-time refusal stopped counts as blocked
        counted, decision_of = "events", "decision"
        if "server_event_id" in cols:
            from jupyter_guard.record.views import CELL_HEAD

            counted = f"(SELECT * FROM events WHERE {CELL_HEAD})"
            decision_of = ("CASE WHEN status = 'blocked' AND decision NOT IN ('block', "
                           "'approval') THEN 'block' ELSE decision END")
        for decision, n in con.execute(
            f"SELECT {decision_of} AS d, count(*) FROM {counted} {where} GROUP BY d", params
        ).fetchall():
            result["counts"][str(decision)] = int(n)
        result["total"] = sum(result["counts"].values())
        if "rule_id" in cols:
            # one row per cell and rule (a cell's server and kernel rows name the same rule)
            rules_from = "events"
            if "server_event_id" in cols:
                from jupyter_guard.record.views import CELL_KEY

                rules_from = (f"(SELECT arg_max(user_name, kind = 'server') AS user_name, "
                              f"rule_id, CASE WHEN bool_or(decision = 'block') THEN 'block' ELSE "
                              f"any_value(decision) END AS decision FROM events WHERE "
                              f"coalesce(rule_id, '') <> '' GROUP BY {CELL_KEY}, rule_id)")
            rule_where = f"{where} {'AND' if where else 'WHERE'} coalesce(rule_id, '') <> ''"
            result["top_rules"] = [
                {"rule_id": r, "count": int(n), "blocked": int(b)}
                for r, n, b in con.execute(
                    f"SELECT rule_id, count(*) AS n, count(*) FILTER (decision = 'block') "
                    f"FROM {rules_from} {rule_where} GROUP BY rule_id ORDER BY n DESC, rule_id "
                    f"LIMIT {TOP_RULES}", params,
                ).fetchall()
            ]
        result["latest_blocked"] = _select(con, cols, user=user, decisions=("block",),
                                           limit=LATEST)
        result["latest_allowed"] = _select(con, cols, user=user, decisions=("allow", "mask",
                                           "warn"), limit=LATEST)
        result["pending_approvals"] = _pending(con, user)
    return result


def events(
    path: str | os.PathLike[str],
    user: str | None = None,
    since: str | dt.datetime | None = None,
    decision: str | None = None,
    limit: int | str | None = DEFAULT_LIMIT,
) -> list[dict[str, Any]]:
    """The latest events, newest first, optionally since a time and of some decisions.

    ``decision`` is one word or a comma list (``block,warn``); ``since`` an ISO 8601 time (UTC when
    no offset is given). Bad filters raise ``ValueError`` naming the fix.
    """
    decisions = parse_decisions(decision)
    since_ts = parse_since(since)
    n = parse_limit(limit)
    with _reader(path) as con:
        if con is None:
            return []
        cols = _columns(con, "events")
        if not cols:
            return []
        return _select(con, cols, user=user, decisions=decisions, since=since_ts, limit=n)


def parse_decisions(value: str | None) -> tuple[str, ...]:
    if value is None or not value.strip():
        return ()
    words = tuple(w.strip().lower() for w in value.split(",") if w.strip())
    bad = [w for w in words if w not in DECISIONS]
    if bad:
        raise ValueError(f"unknown decision {bad[0]!r}: use one of {', '.join(DECISIONS)}")
    return words


def parse_since(value: str | dt.datetime | None) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            raise ValueError(
                f"since={text!r} is not an ISO 8601 time: use e.g. 2026-01-31T12:00:00Z"
            ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def parse_limit(value: int | str | None) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    try:
        n = int(value)
    except ValueError:
        raise ValueError(f"limit={value!r} is not a whole number: use 1 to {MAX_LIMIT}") from None
    if n < 1:
        raise ValueError(f"limit={n} is too small: use 1 to {MAX_LIMIT}")
    return min(n, MAX_LIMIT)


def _ingest(path: str) -> None:
    """Let the audit store bring journals in first, when it can. Never fails the read.

    Uses the store's non-waiting ``try_ingest``: a busy writer's lock is waited for at most
    ``INGEST_WAIT`` s, and the next poll catches up.
    """
    if not os.path.exists(path) and not os.path.exists(f"{path}.journal"):
        return  # nothing to bring in: do not create an empty store from a read
    from jupyter_guard.record import try_ingest

    try:
        try_ingest(path, wait=INGEST_WAIT)
    except Exception as exc:  # noqa: BLE001 - an observer never breaks on the store's behalf
        log.warning("jupyter_guard: could not bring journals into %s: %s", path, exc)


@contextmanager
def _reader(path: str | os.PathLike[str]) -> Iterator[Any]:
    """A read-only connection for one request, or None when there is no audit file yet."""
    name = os.fspath(path)
    _ingest(name)
    if not os.path.exists(name):
        yield None
        return
    import duckdb  # lazy: the server imports this module at start

    for attempt in range(CONNECT_ATTEMPTS):
        try:
            con = duckdb.connect(name, read_only=True)
            con.execute("SET TimeZone = 'UTC'")
            break
        except duckdb.Error as exc:
            if attempt == CONNECT_ATTEMPTS - 1 or not any(t in str(exc) for t in _TRANSIENT):
                raise AuditUnavailable(name, exc) from exc
            time.sleep(0.02 * (attempt + 1))
    try:
        yield con
    except duckdb.Error as exc:
        raise AuditUnavailable(name, exc) from exc
    finally:
        con.close()


def _columns(con: Any, table: str) -> set[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
    ).fetchall()
    return {str(r[0]) for r in rows}


def _where(
    cols: set[str],
    user: str | None = None,
    decisions: Sequence[str] = (),
    since: dt.datetime | None = None,
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if user is not None:
        clauses.append("user_name = ?" if "user_name" in cols else "FALSE")
        params += [user] if "user_name" in cols else []
    if decisions:
        clauses.append(f"decision IN ({', '.join('?' for _ in decisions)})")
        params += list(decisions)
    if since is not None and "ts" in cols:
        clauses.append("ts >= ?")
        params.append(since)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


def _select(con: Any, cols: set[str], *, user: str | None, decisions: Sequence[str] = (),
            since: dt.datetime | None = None, limit: int) -> list[dict[str, Any]]:
    where, params = _where(cols, user=user, decisions=decisions, since=since)
    fields = ", ".join(f'"{c}"' if c in cols else f'NULL AS "{c}"' for c in EVENT_COLUMNS)
    # the structured refusal the user was shown (schema refusal.v1), for a refused event and for
    # what audit mode let through; null for every other event
    fields += (", CAST(json_extract(facts, '$.refusal') AS VARCHAR) AS refusal" if "facts" in cols
               else ", NULL AS refusal")
    order = "ts DESC NULLS LAST" if "ts" in cols else "rowid DESC"
    rows = con.execute(
        f"SELECT {fields} FROM events {where} ORDER BY {order} LIMIT {int(limit)}", params
    ).fetchall()
    return [_event(row) for row in rows]


def _event(row: Sequence[Any]) -> dict[str, Any]:
    out = dict(zip(EVENT_COLUMNS, row))
    for key, value in out.items():
        if isinstance(value, dt.datetime):
            out[key] = _iso(value)
        elif value is not None and not isinstance(value, (str, int, float, bool)):
            out[key] = str(value)  # UUID, Decimal, ...
    code = out.get("code")
    if isinstance(code, str) and len(code) > CODE_CHARS:
        out["code"] = code[:CODE_CHARS] + "…"
    out["refusal"] = _refusal(row[len(EVENT_COLUMNS)] if len(row) > len(EVENT_COLUMNS) else None)
    return out


def _refusal(text: str | None) -> dict[str, Any] | None:
    """The recorded refusal, or None (none recorded, or a row not written by the guard)."""
    if not text or text == "null":
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _iso(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _pending(con: Any, user: str | None) -> int:
    cols = _columns(con, "approvals")
    if "status" not in cols:
        return 0
    sql = "SELECT count(*) FROM approvals WHERE status = 'pending'"
    params: list[Any] = []
    if user is not None and "requested_by" in cols:
        sql += " AND requested_by = ?"
        params.append(user)
    return int(con.execute(sql, params).fetchone()[0])
