"""The mover: keeps a read-only DuckDB copy of the authority's ledger for governance.

Each pass reads the events after the last one moved (``gseq`` order, bounded batches), writes
them as one Parquet part (``<copy>.parts/ev-<first>-<last>.parquet`` and its ``li-`` lineage
twin), and publishes a new catalog file: a small DuckDB file whose views ``events`` and
``lineage`` read every part, with the local store's columns (plus ``gseq``, ``sseq``, ``mac``,
``kernel_id``, ``claimed_user``) and the governance views of ``jupyter_guard.record.views``. The
catalog is written beside the copy and renamed over it, so a reader opens it read-only at any
moment. A pass costs the new events, not the ledger's size. Eight parts of one size tier are
merged into one; replaced parts are deleted after ``GRACE_S``. One mover writes a copy at a time
(an ``flock`` on ``<copy>.lock``): several authority processes may each be given ``--copy``.

No DuckDB extension is needed: rows come through the ledger's own driver (sqlite3, psycopg).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .ledger import Ledger, Row

BATCH = 50_000       # events per pass (a catch-up runs passes back to back)
FANOUT = 8
GRACE_S = 600.0
EVENT_COLUMNS = (
    ("event_id", "VARCHAR"), ("ts", "TIMESTAMP"), ("user_name", "VARCHAR"), ("actor", "VARCHAR"),
    ("groups", "VARCHAR[]"), ("session_id", "VARCHAR"), ("seq", "BIGINT"),
    ("notebook", "VARCHAR"), ("cell_id", "VARCHAR"), ("execution_count", "INTEGER"),
    ("kind", "VARCHAR"), ("code", "VARCHAR"), ("code_sha256", "VARCHAR"),
    ("decision", "VARCHAR"), ("rule_id", "VARCHAR"), ("reason", "VARCHAR"),
    ("policy_revision", "VARCHAR"), ("decision_id", "VARCHAR"), ("status", "VARCHAR"),
    ("duration_ms", "DOUBLE"), ("rows_affected", "BIGINT"), ("finished_at", "TIMESTAMP"),
    ("host", "VARCHAR"), ("prev_hash", "VARCHAR"), ("hash", "VARCHAR"), ("facts", "JSON"),
    ("server_event_id", "VARCHAR"), ("gseq", "BIGINT"), ("sseq", "BIGINT"), ("mac", "VARCHAR"),
    ("kernel_id", "VARCHAR"), ("claimed_user", "VARCHAR"))
LINEAGE_COLUMNS = (("event_id", "VARCHAR"), ("direction", "VARCHAR"),
                   ("object_kind", "VARCHAR"), ("name", "VARCHAR"), ("is_sensitive", "BOOLEAN"))


def _ts(us: Any) -> dt.datetime | None:
    if not isinstance(us, int):
        return None
    return dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=us)


def _event(row: Row) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    b = json.loads(row.body)
    ev = {name: b.get(name) for name, _ in EVENT_COLUMNS}
    ev.update(ts=_ts(b.get("ts_us")), finished_at=_ts(b.get("finished_us")),
              facts=json.dumps(b["facts"]) if b.get("facts") is not None else None,
              gseq=row.gseq, sseq=row.sseq, mac=row.mac, kernel_id=row.kernel_id,
              user_name=row.user_name)
    lineage = [{"event_id": row.event_id, "direction": li[0], "object_kind": li[1],
                "name": li[2], "is_sensitive": bool(li[3]) if len(li) > 3 else False}
               for li in b.get("lineage") or [] if isinstance(li, list) and len(li) >= 3]
    return ev, lineage


def _q(path: Path | str) -> str:
    return "'" + os.fspath(path).replace("'", "''") + "'"


class Mover:
    """Moves the ledger into ``copy`` (a DuckDB file) and its parts folder."""

    def __init__(self, ledger: Ledger, copy: str) -> None:
        self.ledger, self.copy = ledger, Path(copy)
        self.parts = Path(f"{copy}.parts")
        self._retired: dict[str, float] = {}

    def _listed(self) -> list[tuple[int, int]]:
        if not self.parts.is_dir():
            return []
        out = []
        for f in self.parts.glob("ev-*.parquet"):
            first, last = f.stem.split("-")[1:3]
            if (self.parts / f"li-{first}-{last}.parquet").exists():
                out.append((int(first), int(last)))
        # a merged part covers the parts it replaced: keep the widest
        out.sort(key=lambda r: (r[0], -r[1]))
        kept: list[tuple[int, int]] = []
        for r in out:
            if kept and r[1] <= kept[-1][1]:
                continue
            kept.append(r)
        return kept

    def moved(self) -> int:
        listed = self._listed()
        return listed[-1][1] if listed else 0

    def run_once(self) -> int:
        """One pass; the number of events moved (0 when another mover holds the copy)."""
        import fcntl

        self.copy.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{self.copy}.lock", "a+b") as lock:
            try:   # one mover per copy (several authority processes may each run one)
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0
            return self._pass()

    def _pass(self) -> int:
        import duckdb
        import pyarrow as pa

        after = self.moved()
        events, lineage = [], []
        with contextlib.closing(self.ledger.rows(after=after)) as rows:
            for row in rows:
                ev, li = _event(row)
                events.append(ev)
                lineage.extend(li)
                if len(events) >= BATCH:
                    break
        if events:
            self.parts.mkdir(parents=True, exist_ok=True)
            first, last = events[0]["gseq"], events[-1]["gseq"]
            con = duckdb.connect(":memory:")
            try:
                for name, data, cols in (("li", lineage, LINEAGE_COLUMNS),
                                         ("ev", events, EVENT_COLUMNS)):   # events last: listed
                    con.register("_t", pa.Table.from_pylist(data) if data else
                                 pa.table({c: [] for c, _ in cols}))
                    select = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in cols)
                    target = self.parts / f"{name}-{first:012d}-{last:012d}.parquet"
                    tmp = target.with_suffix(".tmp")
                    con.execute(f"COPY (SELECT {select} FROM _t) TO {_q(tmp)} (FORMAT parquet)")
                    con.unregister("_t")
                    os.replace(tmp, target)
            finally:
                con.close()
        merged = self._merge()
        if events or merged or not self.copy.exists():
            self.publish()
        self._drop_retired()
        return len(events)

    def _merge(self) -> bool:
        import duckdb

        listed = self._listed()
        tiers: dict[int, list[tuple[int, int]]] = {}
        for first, last in listed:
            n, tier = last - first + 1, 0
            while n > 1000 * FANOUT ** tier:
                tier += 1
            tiers.setdefault(tier, []).append((first, last))
        for group in tiers.values():
            if len(group) < FANOUT:
                continue
            group = group[:FANOUT]
            first, last = group[0][0], group[-1][1]
            con = duckdb.connect(":memory:")
            try:
                for kind in ("li", "ev"):
                    files = ", ".join(_q(self.parts / f"{kind}-{a:012d}-{b:012d}.parquet")
                                      for a, b in group)
                    target = self.parts / f"{kind}-{first:012d}-{last:012d}.parquet"
                    tmp = target.with_suffix(".tmp")
                    con.execute(f"COPY (SELECT * FROM read_parquet([{files}])) TO {_q(tmp)} "
                                "(FORMAT parquet)")
                    os.replace(tmp, target)
            finally:
                con.close()
            now = time.time()
            for a, b in group:
                for kind in ("li", "ev"):
                    self._retired[f"{kind}-{a:012d}-{b:012d}.parquet"] = now
            return True
        return False

    def _drop_retired(self) -> None:
        now = time.time()
        for name, at in list(self._retired.items()):
            if now - at >= GRACE_S:
                with contextlib.suppress(OSError):
                    (self.parts / name).unlink()
                del self._retired[name]

    def publish(self) -> None:
        """A new catalog over the listed parts, renamed over the copy."""
        import duckdb

        from jupyter_guard.record.views import VIEWS

        tmp = self.copy.with_name(self.copy.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        listed = self._listed()
        con = duckdb.connect(os.fspath(tmp))
        try:
            for table, cols in (("events_empty", EVENT_COLUMNS), ("lineage_empty",
                                                                   LINEAGE_COLUMNS)):
                con.execute(f"CREATE TABLE {table} ("
                            f"{', '.join(f'{c} {t}' for c, t in cols)})")
            for view, kind, empty in (("events", "ev", "events_empty"),
                                      ("lineage", "li", "lineage_empty")):
                sql = f"CREATE VIEW {view} AS SELECT * FROM {empty}"
                if listed:
                    files = ", ".join(_q((self.parts / f"{kind}-{a:012d}-{b:012d}.parquet")
                                         .resolve()) for a, b in listed)
                    sql += f" UNION ALL BY NAME SELECT * FROM read_parquet([{files}])"
                con.execute(sql)
            for statement in VIEWS:
                con.execute(statement)
            con.execute("CREATE TABLE moved AS SELECT ? AS gseq, now() AS at",
                        [listed[-1][1] if listed else 0])
        finally:
            con.close()
        os.replace(tmp, self.copy)


class MoverThread(threading.Thread):
    """Runs the mover about every ``interval`` seconds (the copy lags the ledger by about that)."""

    def __init__(self, mover: Mover, interval: float = 2.0,
                 alive: Callable[[], bool] = lambda: True) -> None:
        super().__init__(name="jupyter-guard-audit-mover", daemon=True)
        self.mover, self.interval, self.alive = mover, interval, alive
        self._stop_event = threading.Event()
        self.last_error = ""

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=30)

    def run(self) -> None:
        while not self._stop_event.is_set() and self.alive():
            try:
                while self.mover.run_once() >= BATCH and not self._stop_event.is_set():
                    pass   # catching up: the next pass at once
                self.last_error = ""
            except Exception as e:  # noqa: BLE001 - the ledger holds every event; the copy only lags, and says why
                self.last_error = f"{type(e).__name__}: {e}"
            self._stop_event.wait(self.interval)
