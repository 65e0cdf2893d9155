"""The kernel's side: its journal is the buffer, the authority keeps the record.

When the kernel has an authority (``destination``: on JupyterHub the guard's hub service, with
the server's hub token; else the server that started it, when ``JUPYTER_GUARD_SERVER_URL`` and
the per-kernel ``JUPYTER_GUARD_KERNEL_TOKEN`` are in its environment), a daemon thread reads the
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
import re
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from .tail import Events, Tail, read
from .tamper import report

URL_ENV, TOKEN_ENV = "JUPYTER_GUARD_SERVER_URL", "JUPYTER_GUARD_KERNEL_TOKEN"
OFF_ENV = "JUPYTER_GUARD_AUDIT_AUTHORITY"          # "0": keep the record local only
HUB_URL_ENV, HUB_TOKEN_ENV = "JUPYTER_GUARD_HUB_SERVICE_URL", "JUPYTERHUB_API_TOKEN"
TOKEN_HEADER, KERNEL_ID_HEADER = "X-Jupyter-Guard-Kernel", "X-Jupyter-Guard-Kernel-Id"
PATH = "jupyter-guard/api/kernel/audit/events"
BATCH = 250          # events per request at most (a catch-up; a busy kernel sends a few)
TIMEOUT_S = 10.0
MAX_CHILDREN = 256   # child journals followed at most (more are reported as junk)
BATCH_BYTES = 4 << 20


class Shipper(threading.Thread):
    def __init__(self, journal: Any, url: str, token: str, *, interval: float = 0.5,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(name="jupyter_guard-audit-shipper", daemon=True)
        self.journal, self.url = journal, url.rstrip("/") + "/" + PATH
        self._headers = {"Content-Type": "application/json",
                         **(headers if headers is not None else {TOKEN_HEADER: token})}
        self.interval, self.events = interval, Events()
        self._stop_event = threading.Event()
        self.acked = 0
        self.last_error = ""
        self._backoff = 0.0
        self._limit = BATCH
        self._lock = threading.Lock()
        # the journal ("") and its children's (forked workers, guarded Python children: their
        # header names this session, or one of them, as the parent): name -> where we are
        self.tails: dict[str, Tail] = {}
        self.session = Path(journal.primary).stem
        self._sessions = {self.session}
        self._looked: set[str] = set()          # names known not to be new children
        self._entries: Any = None               # the folder scan under way
        self._next_scan = 0.0

    def _tell(self, event: dict[str, Any]) -> None:
        """Send a tamper report with the events (once: its id is made from what it says)."""
        self.events.ready.setdefault(str(event["event_id"]), event)

    def _read(self) -> None:
        main = self.tails.setdefault("", Tail(Path(self.journal.primary).name))
        read(main, self.journal.path, self.session, self.events, self._tell)
        self._scan()
        folder = Path(self.journal.primary).parent
        for name, tail in list(self.tails.items()):
            if not name:
                continue
            path = folder / name
            if not path.exists():   # ended, and moved aside by the local ingest
                path, tail.ended = folder / "ingested" / name, True
            read(tail, path, self.session, self.events, self._tell)

    @property
    def children(self) -> dict[str, int]:
        """Child journals followed: name -> bytes read."""
        return {n: t.offset for n, t in self.tails.items() if n}

    def _scan(self) -> None:
        """Look for new child journals every 2 s, at most 50 ms at a time (a folder filled
        with files is read over several steps, and what is not a journal is reported)."""
        now = time.monotonic()
        if now < self._next_scan:
            return
        folder = Path(self.journal.primary).parent
        if self._entries is None:
            try:
                self._entries = os.scandir(folder)
            except OSError:
                self._next_scan = now + 2.0
                return
        junk: list[str] = []
        for entry in self._entries:
            name = entry.name
            if name.endswith(".jsonl") and name not in self._looked and name not in self.tails:
                self._look(folder / name, junk)
            if time.monotonic() - now > 0.05:
                break
        else:
            self._entries.close()
            self._entries, self._next_scan = None, now + 2.0
        if junk:
            self._tell(report("junk", self.session, f"{len(junk)} file(s) in the journal folder "
                              f"are not journals (first: {junk[0]}); skipped",
                              key=("junk", junk[0])))

    def _look(self, path: Path, junk: list[str]) -> None:
        if len(self._looked) > 100_000:
            self._looked.clear()   # bounded memory; looked at again later
        try:
            with open(path, "rb") as f:
                first = f.readline(65536)
        except OSError:   # moved aside meanwhile: it was not ours to miss (no parent yet)
            return
        if not first:
            return        # a journal being created: looked at next time
        self._looked.add(path.name)
        try:
            head = json.loads(first)
        except ValueError:
            head = None
        if not isinstance(head, dict) or head.get("t") != "head":
            junk.append(path.name)
        elif head.get("parent_session") in self._sessions:
            if len(self.tails) > MAX_CHILDREN:
                junk.append(path.name)
                return
            self.tails[path.name] = Tail(path.name)
            self._sessions.add(path.stem)

    def _batch(self) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        size = 0
        for e in self.events.ready.values():
            size += len(str(e.get("code") or "")) + 512
            if batch and (len(batch) >= self._limit or size > BATCH_BYTES):
                break
            batch.append(e)
        return batch

    def _send(self) -> bool:
        """Send what is ready; True when nothing is left."""
        while self.events.ready:
            batch = self._batch()
            try:
                acked = self._post(batch)
            except urllib.error.HTTPError as e:
                if e.code not in (400, 413):   # down or refusing us: resend later
                    self.last_error = _why(e)
                    return False
                self._refused(batch, e)         # one bad event never holds back the others
                continue
            except (OSError, ValueError) as e:   # down, or a broken reply: resend later
                self.last_error = _why(e)
                return False
            for eid in acked:
                if self.events.ready.pop(str(eid), None) is not None:
                    self.acked += 1
            if not acked:
                self.last_error = "the authority acknowledged nothing"
                return False
            self.last_error, self._limit = "", BATCH
        return True

    def _refused(self, batch: list[dict[str, Any]], e: Exception) -> None:
        """A batch the authority refused as malformed: halve it until the one event it refuses
        is alone, then set that one aside and report it."""
        if len(batch) > 1:
            self._limit = max(1, len(batch) // 2)
            return
        eid = str(batch[0].get("event_id"))
        self.events.ready.pop(eid, None)
        self._tell(report("rejected", str(batch[0].get("session_id") or self.session),
                          f"the authority refused the event {eid[:64]} ({_why(e)}); not sent",
                          key=("refused", eid), excerpt=str(batch[0].get("code") or "")))

    def _post(self, batch: list[dict[str, Any]]) -> list[Any]:
        """The event ids the authority acknowledged for ``batch``."""
        req = urllib.request.Request(
            self.url, data=json.dumps({"events": batch}).encode(), method="POST",
            headers=self._headers)
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


def destination(env: Any = None, argv: list[str] | None = None
                ) -> tuple[str, dict[str, str]] | None:
    """(authority URL, request headers) for this kernel, or None when it has no authority.

    On JupyterHub (``JUPYTER_GUARD_HUB_SERVICE_URL``) the hub service keeps the record and the
    kernel speaks with its server's hub token: the hub names the user, whatever the kernel says.
    Otherwise the jupyter server that started the kernel, with the kernel's own token."""
    env = os.environ if env is None else env
    if env.get(OFF_ENV) == "0":
        return None
    hub_url, hub_token = env.get(HUB_URL_ENV, "").strip(), env.get(HUB_TOKEN_ENV, "").strip()
    if hub_url and hub_token:
        found = re.search(r"kernel-([A-Za-z0-9-]{1,64})\.json", " ".join(argv or sys.argv))
        return hub_url, {"Authorization": f"token {hub_token}",
                         KERNEL_ID_HEADER: found.group(1) if found else "kernel"}
    url, token = env.get(URL_ENV, "").strip(), env.get(TOKEN_ENV, "").strip()
    return (url, {TOKEN_HEADER: token}) if url and token else None


def start(audit: Any) -> Shipper | None:
    """Start shipping ``audit``'s journal when this kernel has an authority."""
    where, journal = destination(), getattr(audit, "_journal", None)
    if where is None or journal is None:
        return None
    shipper = Shipper(journal, where[0], "", headers=where[1])
    shipper.start()
    return shipper
