"""The authority's ledger: events in one global sequence, chained with the keyed MAC, and the
signed checkpoints, in SQLite (local mode) or PostgreSQL (hub mode, ``pg.py``).

``append`` is the one write: under the ledger's lock (SQLite ``BEGIN IMMEDIATE``; a PostgreSQL
advisory lock), events already stored are skipped (a resend is acknowledged again, never stored
twice), the rest get ``gseq`` = last + 1, ..., their session's ``sseq``, the identity the
authority gave them, their MAC, and one signed checkpoint of the batch, in one transaction.
Sequence numbers come from the database under that lock, so several authority processes may
write at once without gaps.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from . import cplog
from .mac import body_text, canonical, checkpoint, mac, sign
from .tamper import report, same_event

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS {p}events (
        gseq BIGINT PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, session_id TEXT NOT NULL,
        sseq BIGINT NOT NULL, user_name TEXT NOT NULL, kernel_id TEXT NOT NULL,
        received_us BIGINT NOT NULL, body TEXT NOT NULL, prev_mac TEXT NOT NULL,
        mac TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS {i}events_session ON {p}events (session_id, sseq)",
    """CREATE TABLE IF NOT EXISTS {p}checkpoints (
        gseq BIGINT PRIMARY KEY, body TEXT NOT NULL, signature TEXT NOT NULL)""",
)
COLUMNS = ("gseq", "event_id", "session_id", "sseq", "user_name", "kernel_id", "received_us",
           "body", "prev_mac", "mac")


@dataclass(frozen=True)
class Row:
    gseq: int
    event_id: str
    session_id: str
    sseq: int
    user_name: str
    kernel_id: str
    received_us: int
    body: str
    prev_mac: str
    mac: str


class Ledger:
    """The shared logic; a backend gives ``_connect``, ``_locked`` and its parameter style."""

    prefix = ""          # table name prefix (``guard_audit.`` in PostgreSQL)
    mark = "?"

    def __init__(self, key: bytes, signer: Any) -> None:
        self._key, self._signer = key, signer
        self.checkpoint_log = ""          # each committed checkpoint is appended there too
        self._local = threading.local()   # one writing connection per thread, kept open

    def _writer(self) -> Any:
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._local.con = self._connect()
        return con

    def _drop_writer(self) -> None:
        con, self._local.con = getattr(self._local, "con", None), None
        if con is not None:
            try:
                con.close()
            except Exception:  # noqa: BLE001 - a broken connection is dropped either way; the next batch opens a new one
                pass

    # -- backend ------------------------------------------------------------------------------
    def _connect(self) -> Any:
        raise NotImplementedError

    @contextmanager
    def _locked(self) -> Iterator[Any]:
        raise NotImplementedError
        yield

    def sql(self, text: str) -> str:
        text = text.replace("{p}", self.prefix)
        return text.replace("?", self.mark) if self.mark != "?" else text

    # -- writing ------------------------------------------------------------------------------
    def append(self, events: list[dict[str, Any]], *, kernel_id: str) -> list[str]:
        """Store ``events`` (each with its ``event_id``, ``session_id`` and the authority's
        ``user_name`` already set); returns every event id now stored (acknowledged)."""
        return self.append_groups([(kernel_id, events)])[0]

    def append_groups(self, groups: list[tuple[str, list[dict[str, Any]]]]) -> list[list[str]]:
        """``append`` of several kernels' batches in one transaction (one lock, one commit,
        one signed checkpoint). An event whose id another event already has is not stored; a
        ``collision`` tamper event is."""
        pairs = [(e, kid) for kid, events in groups for e in events]
        if not pairs:
            return [[] for _ in groups]
        signed = None
        with self._locked() as cur:
            known = self._known(cur, [str(e["event_id"]) for e, _ in pairs])
            fresh: list[tuple[dict[str, Any], str]] = []
            reports: list[tuple[dict[str, Any], str]] = []
            first: dict[str, dict[str, Any]] = {}
            for e, kid in pairs:
                eid = str(e["event_id"])
                body = known.get(eid)
                if body is None and eid not in first:
                    first[eid] = e
                    fresh.append((e, kid))
                    continue
                if first[eid] != e if body is None else not same_event(body, e):
                    reports.append((_collision(e), kid))
            if reports:
                done = self._known(cur, [str(r["event_id"]) for r, _ in reports])
                fresh += [(r, kid) for r, kid in reports if r["event_id"] not in done]
            if fresh:
                signed = self._write(cur, fresh)
        if signed is not None and self.checkpoint_log:   # committed: also kept outside
            cplog.append(self.checkpoint_log, *signed)
        return [[str(e["event_id"]) for e in events] for _, events in groups]

    def _known(self, cur: Any, ids: list[str]) -> dict[str, str]:
        """The stored body of each of ``ids`` already in the ledger."""
        found: dict[str, str] = {}
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            cur.execute(self.sql(f"SELECT event_id, body FROM {{p}}events WHERE event_id IN "
                                 f"({', '.join('?' * len(part))})"), part)
            found.update((str(r[0]), str(r[1])) for r in cur.fetchall())
        return found

    def _write(self, cur: Any, events: list[tuple[dict[str, Any], str]]) -> tuple[str, str]:
        cur.execute(self.sql("SELECT gseq, mac FROM {p}events ORDER BY gseq DESC LIMIT 1"))
        head = cur.fetchone()
        gseq, prev = (int(head[0]), str(head[1])) if head else (0, "")
        sessions: dict[str, list[Any]] = {}
        rows, now = [], time.time_ns() // 1000
        seen: set[str] = set()
        for e, kernel_id in events:
            if e["event_id"] in seen:   # a report already in this batch
                continue
            seen.add(e["event_id"])
            sid = str(e["session_id"])
            if sid not in sessions:
                cur.execute(self.sql("SELECT coalesce(max(sseq), 0) FROM {p}events "
                                     "WHERE session_id = ?"), [sid])
                sessions[sid] = [0, int(cur.fetchone()[0]), ""]
            gseq += 1
            sessions[sid][1] += 1
            record = {**e, "gseq": gseq, "sseq": sessions[sid][1], "kernel_id": kernel_id,
                      "received_us": now}
            body = body_text(record)
            link = mac(self._key, gseq, prev, body)
            rows.append((gseq, str(e["event_id"]), sid, sessions[sid][1], str(e["user_name"]),
                         kernel_id, now, body, prev, link))
            prev = sessions[sid][2] = link
            sessions[sid][0] = gseq
        self._insert(cur, rows)
        # gseq has no gaps (assigned under the lock, in the inserting transaction): it is the count
        body, sig = sign(self._signer, checkpoint(gseq, prev, gseq, sessions, time.time()))
        cur.execute(self.sql("INSERT INTO {p}checkpoints VALUES (?, ?, ?)"), [gseq, body, sig])
        return body, sig

    def _insert(self, cur: Any, rows: list[tuple[Any, ...]]) -> None:
        cur.executemany(self.sql(f"INSERT INTO {{p}}events ({', '.join(COLUMNS)}) VALUES "
                                 f"({', '.join('?' * len(COLUMNS))})"), rows)

    # -- reading ------------------------------------------------------------------------------
    def rows(self, after: int = 0, batch: int = 5000) -> Generator[Row, None, None]:
        """Every event with ``gseq > after``, in order, read in batches (bounded memory)."""
        con = self._connect()
        try:
            last = after
            while True:
                cur = con.cursor()
                cur.execute(self.sql(f"SELECT {', '.join(COLUMNS)} FROM {{p}}events "
                                     "WHERE gseq > ? ORDER BY gseq LIMIT ?"), [last, batch])
                got = cur.fetchall()
                cur.close()
                if not got:
                    return
                for r in got:
                    yield Row(*r)
                last = int(got[-1][0])
        finally:
            con.close()

    def checkpoints(self, last: bool = False) -> list[tuple[int, str, str]]:
        """Every checkpoint in ``gseq`` order, or only the newest (``last``)."""
        con = self._connect()
        try:
            cur = con.cursor()
            order = "DESC LIMIT 1" if last else ""
            cur.execute(self.sql("SELECT gseq, body, signature FROM {p}checkpoints "
                                 f"ORDER BY gseq {order}"))
            return [(int(g), str(b), str(s)) for g, b, s in cur.fetchall()]
        finally:
            con.close()

    def by_mac(self, value: str) -> int | None:
        """The ``gseq`` of the event whose MAC is ``value`` (verify, on a broken link only)."""
        con = self._connect()
        try:
            cur = con.cursor()
            cur.execute(self.sql("SELECT gseq FROM {p}events WHERE mac = ? LIMIT 1"), [value])
            got = cur.fetchone()
            return int(got[0]) if got else None
        finally:
            con.close()


def _collision(e: dict[str, Any]) -> dict[str, Any]:
    """The tamper event recorded for ``e``, which reuses the id of an event it is not."""
    eid, text = str(e["event_id"]), canonical(e)
    got = report("collision", str(e["session_id"]),
                 f"a journal line reuses the event id {eid} of another event (the first one "
                 "stands; this one is not stored)", key=(eid, text),
                 excerpt=str(e.get("code") or text))
    return {**got, "user_name": e["user_name"]}


class SqliteLedger(Ledger):
    """Local mode: ``<authority folder>/audit-ledger.sqlite3`` (WAL: readers never wait)."""

    NAME = "audit-ledger.sqlite3"

    def __init__(self, folder: str, key: bytes, signer: Any) -> None:
        super().__init__(key, signer)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        self.path = os.path.join(folder, self.NAME)
        con = self._connect()
        try:
            con.execute("PRAGMA journal_mode=WAL")
            for statement in SCHEMA:
                con.execute(statement.format(p="", i=""))
            con.commit()
        finally:
            con.close()
        os.chmod(self.path, 0o600)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=60, isolation_level=None,
                              check_same_thread=False)
        # WAL with NORMAL: a commit survives the process being killed (not a power loss)
        con.execute("PRAGMA synchronous=NORMAL")
        return con

    @contextmanager
    def _locked(self) -> Iterator[Any]:
        con = self._writer()
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.Error:
            self._drop_writer()
            raise
        cur = con.cursor()
        try:
            yield cur
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
