"""``AuditLog``: what a kernel uses to record cells. Never blocks on the store.

``begin`` and ``finish`` append one journal line each (~tens of µs); a daemon thread brings the
journal into the DuckDB file about every half second (see ``ingest.py``). The chain hash of an
event is computed here, by the writer, when the event becomes final (``finish``, or ``begin`` with
status ``blocked``): events are chained in the order they become final, ``seq`` 1, 2, 3, ... A
forked child (``multiprocessing`` workers, ``os.fork``) records into a session of its own, its
journal opened at its first event: two processes appending to one chain would break it. No
collection runs while the writer holds its lock (a user's ``__del__`` whose frame read the hook
refuses and records would take it again: a hang); a write re-entered anyway (a signal handler,
another thread re-enabling the collector) is written after the outer one (``_locked``).
"""
from __future__ import annotations

import atexit
import contextlib
import gc
import hashlib
import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from jupyter_guard.model import new_id

from .chain import LineageItem, chain_hash, norm_lineage
from .journal import HOST, JournalWriter, journal_dir
from .schema import DECISIONS, DIRECTIONS, FINAL_STATUSES, KINDS, OBJECT_KINDS, STATUSES

Redactor = Callable[[str], str]


def _identity(text: str) -> str:
    return text


def _lineage(items: Iterable[LineageItem]) -> list[list[Any]]:
    rows = norm_lineage(items)
    for direction, kind, _name, _s in rows:
        if direction not in DIRECTIONS or kind not in OBJECT_KINDS:
            raise ValueError(f"lineage item ({direction!r}, {kind!r}) is not one of "
                             f"{DIRECTIONS} x {OBJECT_KINDS}: fix the caller")
    return rows


def _redacted(value: Any, redact: Redactor) -> Any:
    """Every string inside ``value`` (a decision's facts) through the redactor: statements and
    targets may hold literals (``WHERE ssn = '…'``)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v, redact) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(v, redact) for v in value]
    return value


def _check(name: str, value: str, allowed: Iterable[str]) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not one of {tuple(allowed)}: fix the caller")


class AuditLog:
    """Records one kernel session's events into the audit file at ``path``."""

    def __init__(self, path: str | os.PathLike[str], *, session_id: str | None = None,
                 background: bool = True, redact: Redactor | None = None,
                 interval: float = 0.5) -> None:
        self.path = os.fspath(path)
        self.session_id = session_id or uuid.uuid4().hex
        self.parent_session = ""   # set in a forked child: the session it was forked from
        self.redact: Redactor = redact or _identity
        self._journal: JournalWriter | None = JournalWriter(self.path, self.session_id)
        self._lock = threading.RLock()   # (a signal before ``_owner`` is set)
        self._owner = 0                           # the thread holding ``_lock`` (0: none)
        self._nested: list[Callable[[], Any]] = []   # its re-entered writes, run after its own
        self._pending: dict[str, dict[str, Any]] = {}
        self._seq = 0
        self._prev = ""
        self._closed = False
        self.last_error = ""
        self._ingester: Ingester | None = None
        # the last facts redacted (held, so its id is not reused) and their redacted copy
        self._facts_memo: tuple[dict[str, Any], Any] | None = None
        if background:
            self.start_ingest(interval)
        _LOGS.add(self)

    def start_ingest(self, interval: float = 0.5, busy: Callable[[], bool] | None = None
                     ) -> None:
        """Start the background ingest (a guard starts it once everything else is installed:
        a thread importing modules while the guard snapshots ``sys.modules`` was a race).
        ``busy``: whether the process is running a cell now (the ingest then waits for its
        end, at most ``Ingester.DEFER`` s)."""
        if self._ingester is None and self._journal is not None and not self._closed:
            # the ingest thread also writes what waits and moves a fallen-back journal home
            self._ingester = Ingester(self.path, self.progress, interval=interval,
                                      retry=self.retry, busy=busy)
            self._ingester.start()

    @property
    def journal_path(self) -> str:
        return os.fspath(journal_dir(self.path) / f"{self.session_id}.jsonl")

    def _locked(self, fn: Callable[[], Any]) -> Any:
        """``fn()`` under the lock; re-entered on its thread, queued after it (returns None)."""
        me = threading.get_ident()
        if self._owner == me:
            self._nested.append(fn)
            return None
        with self._lock:
            self._owner, was = me, gc.isenabled()
            try:   # no collection inside (no user code), nor in the nested writes' own writes
                gc.disable()
                return fn()
            finally:
                try:
                    while self._nested:
                        gc.disable()
                        self._nested.pop(0)()
                finally:
                    self._owner = 0
                    if was:
                        gc.enable()

    def _write(self, line: dict[str, Any]) -> None:
        if self._journal is None:
            self._journal = JournalWriter(self.path, self.session_id, parent=self.parent_session)
        self._journal.write(line)

    @property
    def failure(self) -> str:
        """Why events are not on disk right now ("" when every line is written)."""
        j = self._journal
        return j.error if j is not None and j.error else ""

    @property
    def waiting(self) -> int:
        """Bytes of journal lines waiting in memory for the journal to be writable."""
        return self._journal.waiting if self._journal is not None else 0

    def progress(self) -> object:
        """Where the journal is and its size (``JournalWriter.progress``): what the ingest thread
        compares to know whether there is anything new to ingest."""
        return self._journal.progress() if self._journal is not None else None

    def retry(self) -> bool:
        """Write the lines waiting in memory now, if the journal allows."""
        return self._journal is None or bool(self._locked(self._journal.retry))

    def take_notice(self) -> str:
        """A one-time message about the journal (it moved, or was written again)."""
        j = self._journal
        if j is None or not j.notice:
            return ""
        note, j.notice = j.notice, ""
        return note

    def _forked(self) -> None:
        """In a forked child: a new session and chain; the parent's running cells are not ours."""
        self.parent_session, self.session_id = self.session_id, uuid.uuid4().hex
        self._lock, self._owner, self._nested = threading.RLock(), 0, []
        self._journal, self._ingester = None, None
        self._pending, self._seq, self._prev = {}, 0, ""

    def begin(self, *, user: str, actor: str, notebook: str, cell_id: str,
              execution_count: int | None, kind: str, code: str, decision: str, rule_id: str,
              reason: str, status: str = "running", policy_revision: str = "",
              decision_id: str = "", lineage: Iterable[LineageItem] = (),
              groups: Iterable[str] = (), facts: dict[str, Any] | None = None,
              server_event_id: str = "") -> str:
        """Journal an event before its cell runs; returns its ``event_id``.

        A ``status`` other than ``running`` (e.g. ``blocked``) makes the event final at once.
        ``facts`` (intents and decision context, for ``replay``) and ``server_event_id`` (the
        server gate's event of the same cell) are stored beside the chained fields.
        """
        _check("kind", kind, KINDS)
        _check("decision", decision, DECISIONS)
        _check("status", status, STATUSES)
        row: dict[str, Any] = {
            "event_id": new_id(), "session_id": self.session_id,
            "ts_us": time.time_ns() // 1000, "user_name": user, "actor": actor,
            "groups": sorted(str(g) for g in groups), "notebook": notebook, "cell_id": cell_id,
            "execution_count": execution_count, "kind": kind, "code": self.redact(code),
            "code_sha256": hashlib.sha256(code.encode()).hexdigest(), "decision": decision,
            "rule_id": rule_id, "reason": self.redact(reason), "policy_revision": policy_revision,
            "decision_id": decision_id, "status": status, "duration_ms": None,
            "rows_affected": None, "lineage": _lineage(lineage), "host": HOST,
        }
        extra: dict[str, Any] = {}
        if facts:
            memo = self._facts_memo   # the caller passes the same dict for the same facts
            if memo is None or memo[0] is not facts:
                memo = self._facts_memo = (facts, _redacted(facts, self.redact))
            extra["facts"] = memo[1]
        if server_event_id:
            extra["server_event_id"] = server_event_id
        def write() -> None:
            if status in FINAL_STATUSES:
                self._seal(row)
            else:
                self._pending[row["event_id"]] = row
            self._write({"t": "begin", **row, **extra})

        self._locked(write)
        return str(row["event_id"])

    def finish(self, event_id: str, *, status: str, duration_ms: float,
               rows_affected: int | None = None, lineage: Iterable[LineageItem] = ()) -> None:
        """Complete a ``running`` event with its outcome (idempotent: a second call is ignored)."""
        _check("status", status, FINAL_STATUSES)
        extra = _lineage(lineage)
        self._locked(lambda: self._finish(event_id, status, duration_ms, rows_affected, extra))

    def _finish(self, event_id: str, status: str, ms: float, rows: int | None, extra: Any) -> None:
        row = self._pending.pop(event_id, None)
        if row is None:
            return
        row.update(status=status, duration_ms=round(float(ms), 3),
                   rows_affected=None if rows is None else int(rows),
                   lineage=norm_lineage(row["lineage"] + extra))
        self._seal(row)
        self._write({
            "t": "end", "event_id": event_id, "ts_us": row["ts_us"], "status": status,
            "duration_ms": row["duration_ms"], "rows_affected": row["rows_affected"],
            "lineage": extra, "finished_us": time.time_ns() // 1000, "seq": row["seq"],
            "prev_hash": row["prev_hash"], "hash": row["hash"]})

    def request_approval(self, event_id: str, *, requested_by: str, code: str, reason: str,
                         expires_in_s: float = 3600.0, request_id: str = "") -> str:
        """Journal a pending approval request for a blocked event; returns its ``request_id``
        (the one the refusal reserved, when given)."""
        request_id = request_id or uuid.uuid4().hex[:12]
        now = time.time_ns() // 1000
        self._locked(lambda: self._write({
            "t": "approval", "request_id": request_id, "event_id": event_id,
            "requested_by": requested_by, "requested_us": now, "reason": self.redact(reason),
            "code_sha256": hashlib.sha256(code.encode()).hexdigest(), "code": self.redact(code),
            "expires_us": now + int(expires_in_s * 1e6)}))
        return request_id

    def use_approval(self, request_id: str) -> None:
        """Journal that an approved request was spent (an approval lets code run once)."""
        self._locked(lambda: self._write({"t": "approval_use", "request_id": request_id}))

    def _seal(self, row: dict[str, Any]) -> None:
        self._seq += 1
        row["seq"], row["prev_hash"] = self._seq, self._prev
        row["hash"] = self._prev = chain_hash(self._prev, row)

    def close(self) -> None:
        """Flush, mark the session closed, make one last ingest attempt, stop the thread."""
        if self._closed:
            return
        self._closed = True
        if self._ingester is not None:
            self._ingester.stop()
            self._ingester = None
        if self._journal is None:   # a forked child that recorded nothing: nothing to bring in
            return
        journal = self._journal
        with contextlib.suppress(ValueError):
            self._locked(lambda: journal.write({"t": "close"}))
        self._locked(journal.close)
        from .ingest import try_ingest

        try:
            try_ingest(self.path, wait=2.0)
        except Exception as exc:  # noqa: BLE001 - the journal stays; the next guard ingests it
            self.last_error = str(exc)

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_LOGS: weakref.WeakSet[AuditLog] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for log in list(_LOGS):
        log._forked()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _stop_ingesters() -> None:
    """At exit, before finalization: stop and join every ingest thread still running (a log
    nobody closed). A daemon thread stopped by finalization while inside DuckDB's C++ code
    aborts the whole process (``FATAL: exception not rethrown``)."""
    for thread in threading.enumerate():
        if isinstance(thread, Ingester):
            thread.stop()


atexit.register(_stop_ingesters)


class Ingester(threading.Thread):
    """Daemon thread: ingest when the journal grew or moved, about every ``interval`` s; never
    raises. ``progress`` says where the journal is and how big (``JournalWriter.progress``).

    ``busy`` (a kernel: a cell is running) puts an ingest off until the cell ends, at most
    ``DEFER`` s after the last one: an ingest (a copy of the store, DuckDB, Python work) taken
    in the middle of a cell ran beside it on the machine's cores and in its GIL, and every
    call of the cell that gives the GIL up (a write, a ``stat``, a send to the kernel's I/O
    thread) then waited for it. The lines are on disk in the journal already: putting the
    ingest off delays what the store shows, never what it records."""

    DEFER = 5.0

    def __init__(self, path: str, progress: Callable[[], object], *, interval: float,
                 retry: Callable[[], Any] = lambda: True,
                 busy: Callable[[], bool] | None = None) -> None:
        super().__init__(name="jupyter_guard-audit-ingest", daemon=True)
        self.path, self._progress, self.interval, self._retry = path, progress, interval, retry
        self._busy = busy
        self._stop_event = threading.Event()
        self.done: object = None   # ``progress`` when an ingest last succeeded
        self.last_error = ""
        self._last = time.monotonic()   # when an ingest was last tried

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.tick()
            self._stop_event.wait(self.interval)

    def tick(self) -> None:
        """One round: write what waits (a fallen-back journal may move home), then ingest if the
        journal grew or moved since the last ingest that succeeded."""
        from .ingest import try_ingest

        try:
            self._retry()   # lines waiting in memory go out as soon as the disk allows
        except Exception as exc:  # noqa: BLE001 - the writer reports through its error
            self.last_error = str(exc)
        now = self._progress()
        if now != self.done and not self._put_off():
            self._last = time.monotonic()
            try:
                if try_ingest(self.path) is not None:
                    self.done = now
                self.last_error = ""
            except Exception as exc:  # noqa: BLE001 - the guard never breaks the kernel
                self.last_error = str(exc)


    def _put_off(self) -> bool:
        """Whether to wait for the running cell to end (``busy``), ``DEFER`` s at most."""
        if self._busy is None or time.monotonic() - self._last >= self.DEFER:
            return False
        try:
            return bool(self._busy())
        except Exception:  # noqa: BLE001 - a broken probe must not stop the ingest: ingest now
            return False


class BrokenAudit:
    """Stands in for an ``AuditLog`` that could not start: every event fails to record, so the
    guard applies ``audit.on_failure`` (refuse by default) and says why."""

    def __init__(self, path: str, why: str) -> None:
        self.path, self.failure, self.waiting = path, f"{why} ({path})", 0

    def begin(self, **kw: Any) -> str:
        raise OSError(self.failure)

    def finish(self, *a: Any, **kw: Any) -> None:
        return None

    def request_approval(self, *a: Any, **kw: Any) -> str:
        raise OSError(self.failure)

    def use_approval(self, *a: Any, **kw: Any) -> None:
        raise OSError(self.failure)

    def retry(self) -> bool:
        return False

    def start_ingest(self, interval: float = 0.5, busy: Callable[[], bool] | None = None
                     ) -> None:
        return None   # nothing is written, so there is nothing to ingest

    def take_notice(self) -> str:
        return ""

    def close(self) -> None:
        return None
