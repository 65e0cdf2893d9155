"""The kernel's side: its journal is the buffer, the authority keeps the record.

When the server that started the kernel is an authority (``JUPYTER_GUARD_SERVER_URL`` and the
per-kernel ``JUPYTER_GUARD_KERNEL_TOKEN`` are in its environment), a daemon thread reads the
session's journal from where it stopped, turns its lines into final events (a ``begin`` with a
final status, or a ``begin`` completed by its ``end``) and POSTs them in batches. The authority
acknowledges by event id; what is not acknowledged is sent again (the authority stores an event
id once), so nothing is lost while the authority is down: the journal on disk still holds it.
The journals of the session's children (forked workers, guarded Python children, whose header
names this session as the parent) are sent the same way. No cell waits on any of this: a cell
only appends its journal line, as before.
"""
from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from pathlib import Path
from typing import Any

from jupyter_guard.record.chain import norm_lineage
from jupyter_guard.record.journal import read_header
from jupyter_guard.record.schema import FINAL_STATUSES

URL_ENV, TOKEN_ENV = "JUPYTER_GUARD_SERVER_URL", "JUPYTER_GUARD_KERNEL_TOKEN"
OFF_ENV = "JUPYTER_GUARD_AUDIT_AUTHORITY"          # "0": keep the record local only
PATH = "jupyter-guard/api/kernel/audit/events"
BATCH = 100          # events per request: a short hold of the GIL per send
TIMEOUT_S = 10.0


class Events:
    """Final events from journal lines (pure: the shipper's parsing, tested alone)."""

    def __init__(self) -> None:
        self.running: dict[str, dict[str, Any]] = {}
        self.ready: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def feed(self, line: dict[str, Any]) -> None:
        kind = line.get("t")
        if kind == "begin":
            row = {k: v for k, v in line.items() if k != "t"}
            if row.get("status") in FINAL_STATUSES:
                self.ready[str(row["event_id"])] = row
            else:
                self.running[str(row["event_id"])] = row
        elif kind == "end":
            row = self.running.pop(str(line.get("event_id")), {})
            if not row:
                return
            row.update({k: line.get(k) for k in ("status", "duration_ms", "rows_affected",
                                                 "finished_us", "seq", "prev_hash", "hash")})
            row["lineage"] = norm_lineage(list(row.get("lineage") or []) +
                                          list(line.get("lineage") or []))
            self.ready[str(row["event_id"])] = row

    def interrupt_running(self) -> None:
        """At close: cells that never finished are sent as ``interrupted``."""
        for eid, row in self.running.items():
            self.ready[eid] = {**row, "status": "interrupted"}
        self.running.clear()


class Shipper(threading.Thread):
    def __init__(self, journal: Any, url: str, token: str, *, interval: float = 0.5) -> None:
        super().__init__(name="jupyter_guard-audit-shipper", daemon=True)
        self.journal, self.url, self._token = journal, url.rstrip("/") + "/" + PATH, token
        self.interval, self.offset, self.events = interval, 0, Events()
        self._stop_event = threading.Event()
        self.acked = 0
        self.last_error = ""
        self._backoff = 0.0
        self._lock = threading.Lock()
        # journals of this session's children (forked workers, guarded Python children): their
        # header names this session (or one of them) as the parent; name -> bytes read
        self.children: dict[str, int] = {}
        self._sessions = {Path(journal.primary).stem}
        self._next_scan = 0.0

    def _read(self) -> None:
        self.offset = self._read_file(self.journal.path, self.offset)
        self._scan()
        folder = Path(self.journal.primary).parent
        for name, offset in list(self.children.items()):
            path = folder / name
            if not path.exists():   # ended, and moved aside by the local ingest
                path = folder / "ingested" / name
            self.children[name] = self._read_file(path, offset)

    def _scan(self) -> None:
        """Look for new child journals, at most every 2 s."""
        now = time.monotonic()
        if now < self._next_scan:
            return
        self._next_scan = now + 2.0
        folder = Path(self.journal.primary).parent
        for path in sorted(folder.glob("*.jsonl")):
            if path.name in self.children or path.stem in self._sessions:
                continue
            try:
                head = read_header(path)
            except OSError:   # moved aside meanwhile: it was not ours to miss (no parent yet)
                continue
            if head.get("parent_session") in self._sessions:
                self.children[path.name] = 0
                self._sessions.add(path.stem)

    def _read_file(self, path: Any, offset: int) -> int:
        try:
            with open(path, "rb") as f:
                if os.fstat(f.fileno()).st_size < offset:
                    offset = 0   # truncated under us: read it again (each event is stored once)
                f.seek(offset)
                data = f.read()
        except OSError:
            return offset
        cut = data.rfind(b"\n") + 1
        for i, raw in enumerate(data[:cut].splitlines()):
            if i % 100 == 99:
                time.sleep(0)   # let a cell's thread run between chunks
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if isinstance(line, dict):
                self.events.feed(line)
        return offset + cut

    def _send(self) -> bool:
        """Send what is ready; True when nothing is left."""
        while self.events.ready:
            batch = list(self.events.ready.values())[:BATCH]
            try:
                acked = self._post(batch)
            except (OSError, ValueError) as e:   # down, refused, or a broken reply: resend later
                self.last_error = _why(e)
                return False
            for eid in acked:
                if self.events.ready.pop(str(eid), None) is not None:
                    self.acked += 1
            if not acked:
                self.last_error = "the authority acknowledged nothing"
                return False
            self.last_error = ""
        return True

    def _post(self, batch: list[dict[str, Any]]) -> list[Any]:
        """The event ids the authority acknowledged for ``batch``."""
        req = urllib.request.Request(
            self.url, data=json.dumps({"events": batch}).encode(), method="POST",
            headers={"Content-Type": "application/json", "X-Jupyter-Guard-Kernel": self._token})
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
            acked = json.loads(resp.read() or b"{}").get("acked") or []
        return list(acked) if isinstance(acked, list) else []

    def step(self) -> bool:
        from jupyter_guard.hooks.state import Busy

        with self._lock, Busy():
            self._read()
            return self._send()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                done = self.step()
            except Exception as e:  # noqa: BLE001 - the journal keeps every event; the next step resends
                self.last_error, done = f"{type(e).__name__}: {e}", False
            self._backoff = 0.0 if done else min(5.0, max(0.5, self._backoff * 2))
            self._stop_event.wait(self.interval + self._backoff)

    def stop(self, flush_s: float = 5.0) -> bool:
        """Stop, then send what is left for up to ``flush_s`` seconds; True when all was acked."""
        self._stop_event.set()
        self.join(timeout=flush_s)
        deadline = time.monotonic() + flush_s
        with self._lock:
            self._read()
            self.events.interrupt_running()
        while True:
            try:
                if self.step():
                    return True
            except Exception as e:  # noqa: BLE001 - at exit: unsent events stay in the journal
                self.last_error = f"{type(e).__name__}: {e}"
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)


def _why(e: Exception) -> str:
    if isinstance(e, urllib.error.HTTPError):
        return f"the authority answered {e.code}"
    return f"the authority could not be reached ({e})"


def start(audit: Any) -> Shipper | None:
    """Start shipping ``audit``'s journal when this kernel's server is an authority."""
    url, token = os.environ.get(URL_ENV, "").strip(), os.environ.get(TOKEN_ENV, "").strip()
    journal = getattr(audit, "_journal", None)
    if not url or not token or journal is None or os.environ.get(OFF_ENV) == "0":
        return None
    shipper = Shipper(journal, url, token)
    shipper.start()
    return shipper
