"""Per-session append-only journals: ``<audit>.journal/<session_id>.jsonl``, one JSON object a line.

The first line is the header (who writes: pid, host, pid start time). Then ``begin`` and ``end``
lines, an optional ``approval`` line, and ``close`` when the session ends cleanly. Each line is
written with one ``write`` and flushed, so a SIGKILLed kernel leaves every line it wrote.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

HOST = socket.gethostname()


def journal_dir(audit_path: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(audit_path)}.journal")


def ingested_dir(audit_path: str | os.PathLike[str]) -> Path:
    """Where fully ingested journals of ended sessions are kept (for verify and repair)."""
    return journal_dir(audit_path) / "ingested"


def pid_start(pid: int) -> str:
    """The kernel's start time of ``pid`` (so a reused pid is not mistaken for the writer)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def writer_alive(header: dict[str, Any]) -> bool:
    """Whether the process that wrote a journal may still write to it.

    A writer on another host is assumed alive: only its own host can tell.
    """
    if header.get("host") != HOST:
        return True
    pid = int(header.get("pid") or 0)
    if pid <= 0:
        return False
    if pid == os.getpid() and header.get("pid_start") in ("", None, _own_start()):
        return True   # this process (reading /proc for it cost ms with DuckDB's threads)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if _zombie(pid):  # killed, not yet reaped by its parent: it will never write again
        return False
    start = header.get("pid_start") or ""
    return not start or pid_start(pid) in ("", start)


_OWN: dict[int, str] = {}


def _own_start() -> str:
    pid = os.getpid()   # a forked child has its own
    if pid not in _OWN:
        _OWN[pid] = pid_start(pid)
    return _OWN[pid]


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


def dumps(line: dict[str, Any]) -> bytes:
    """One journal line. orjson writes it ~8x faster than ``json`` (two lines per cell); what
    orjson refuses (a lone surrogate, an integer past 64 bits) goes ``json``'s way, as before.

    >>> dumps({"t": "end", "n": 1, "s": "é"}) == '{"t":"end","n":1,"s":"é"}\\n'.encode()
    True
    """
    try:
        return orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:   # orjson's JSONEncodeError: json's own rules (and its error) decide
        return json.dumps(line, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


LIMIT = 8 << 20   # bytes of journal lines kept in memory while the journal cannot be written


def fallback_dir(audit_path: str | os.PathLike[str]) -> Path:
    """Where a journal goes while its own folder cannot be written or re-created: the user's
    state folder (else the temp dir), one folder per audit file."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    if not os.access(base, os.W_OK) and not os.access(os.path.dirname(base), os.W_OK):
        base = tempfile.gettempdir()
    tag = hashlib.sha256(os.path.abspath(os.fspath(audit_path)).encode()).hexdigest()[:16]
    return Path(base) / "jupyter_guard" / "journals" / tag


class JournalWriter:
    """Appends lines to one session's journal; thread-safe, one ``write`` per line, never raises
    for a write that fails.

    Lines that cannot be written (a full disk, a read-only folder) wait in memory, up to
    ``LIMIT`` bytes, and go out first at the next write or ``retry``; beyond it they are counted
    and a ``lost`` line says how many and which ``seq``. A journal deleted under the writer (its
    folder removed) is written again, whole, from the still-open file; if its folder cannot be
    re-created it goes to ``fallback_dir`` and moves back when it can. ``error`` says what is
    wrong now ("" when every line is on disk).
    """

    def __init__(self, audit_path: str | os.PathLike[str], session_id: str, *,
                 parent: str = "") -> None:
        self.audit_path = os.fspath(audit_path)
        self.primary = journal_dir(audit_path) / f"{session_id}.jsonl"
        self.path = self.primary
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._ident: tuple[int, int] = (0, 0)   # (st_dev, st_ino) of the file ``_fd`` opened
        self._end: int | None = None        # the journal's size after our last write
        self._buf = bytearray()
        self._lost: list[int] = []          # [count, first seq, last seq] of dropped lines
        self._closed = False
        self._next_try = 0.0
        self._next_look = 0.0
        self._st: os.stat_result | None = None  # ``_still_ours``'s stat, for ``_unlinked``
        self.error = ""
        self.notice = ""                    # set once when the journal moved; read by the caller
        pid = os.getpid()
        head = {"t": "head", "v": 1, "session_id": session_id, "pid": pid, "host": HOST,
                "pid_start": pid_start(pid)}
        with self._lock:
            self._buf += dumps({**head, "parent_session": parent} if parent else head)
            self._flush()

    @property
    def waiting(self) -> int:
        """Bytes of lines not yet on disk."""
        return len(self._buf)

    def write(self, line: dict[str, Any]) -> bool:
        """Append one line; True if it (and every line before it) is on disk."""
        data = dumps(line)
        with self._lock:
            if self._closed:
                raise ValueError(f"journal {self.path} is closed: open a new AuditLog")
            if self._lost or len(self._buf) + len(data) > LIMIT:
                seq = line.get("seq")
                seq = seq if isinstance(seq, int) else 0
                if not self._lost:
                    self._lost = [0, seq, seq]
                self._lost[0] += 1
                self._lost[1] = min(x for x in (self._lost[1], seq) if x) if seq else self._lost[1]
                self._lost[2] = max(self._lost[2], seq)
            else:
                self._buf += data
            return self._flush()

    def retry(self) -> bool:
        """Write what waits (called by the ingest thread, so recovery needs no cell)."""
        with self._lock:
            return self._closed or self._flush()

    def _flush(self) -> bool:
        self._st = None
        try:
            if self._fd is not None and self._buf and not self._still_ours(self._fd):
                self._fd = None   # its number is no longer the journal's: never closed by us
                self.notice = ("the audit journal's descriptor was closed or replaced by code "
                               f"in this process: the journal is written at {self.primary} "
                               "again; nothing was lost")
            if self._fd is None or self.path is not self.primary or self._unlinked():
                self._reopen()
            fd = self._fd
            assert fd is not None  # _reopen opened it or raised OSError
            while self._buf:
                n = os.write(fd, self._buf)
                del self._buf[:n]
                # O_APPEND: the end of what we wrote, after each write (a full disk can take a
                # line in part: the rest follows it, not a newline)
                self._end = os.lseek(fd, 0, os.SEEK_CUR)
            if self._lost:
                count, first, last = self._lost
                self._buf += dumps({"t": "lost", "lines": count, "first_seq": first,
                                    "last_seq": last, "why": self.error or "journal not writable"})
                self._lost = []
                return self._flush()
            self.error = ""
            return True
        except OSError as e:
            self.error = f"{e.strerror or e} ({getattr(e, 'filename', None) or self.path})"
            return False

    def _still_ours(self, fd: int) -> bool:
        """Whether ``fd`` is still the file the writer opened, checked before every write (one
        ``fstat``, ~1 µs): code in the process can close the number or ``os.dup2`` another file
        (``/dev/null``) onto it, and every later line would go there without a word."""
        try:
            st = self._st = os.fstat(fd)
            if (st.st_dev, st.st_ino) != self._ident:
                return False
            if not fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND:
                return False   # ``F_SETFL`` took O_APPEND away: lines would overwrite lines
        except OSError:
            return False
        if self._end is not None and st.st_size != self._end:
            # only this writer writes the journal while it lives: bytes past its last line
            # (``posix_fallocate``'s NULs, an ``os.write`` to the number) stay as evidence, on
            # a line of their own (the next line starts after a newline), where the ingest and
            # the authority's shipper skip them and report the tampering; a ``ftruncate`` that
            # removed lines is said
            if st.st_size > self._end:
                self._buf[:0] = b"\n"
            self.notice = ("the audit journal was changed by code in this process (resized "
                           f"from {self._end} to {st.st_size} bytes): "
                           + ("the bytes added are kept apart and reported as tampering; "
                              "nothing was lost" if st.st_size > self._end else
                              "lines removed that were not yet in the store are LOST; "
                              "`jupyter guard verify` names the missing events"))
        return True

    def _unlinked(self) -> bool:
        """Whether the journal's name is gone, checked at most every 0.2 s (a ``stat`` per line
        cost as much as the write): lines written meanwhile are carried over with the rest. The
        stat ``_still_ours`` took of this write is reused (one ``fstat`` per write, not two)."""
        now = time.monotonic()
        if now < self._next_look:
            return False
        self._next_look = now + 0.2
        if self._fd is None:
            return False
        return (self._st or os.fstat(self._fd)).st_nlink == 0

    def _reopen(self) -> None:
        """Open the journal at its place; carry over what a deleted one held; fall back."""
        if self.path is not self.primary and self._fd is not None and \
                time.monotonic() < self._next_try:
            return   # in the fallback: try the real folder again at most once a second
        self._next_try = time.monotonic() + 1.0
        old = _content(self._fd)
        if old and self._fd is not None and os.fstat(self._fd).st_nlink > 0:
            old = b""   # the file is still in place (fallback): copied below when moving back
        for target in (self.primary, fallback_dir(self.audit_path) / self.primary.name):
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(target, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            except OSError:
                if target != self.primary:
                    raise
                continue
            if target == self.path and self._fd is not None and not old:
                os.close(fd)   # already writing there
                return
            carry = old or (_content(self._fd) if self._fd is not None else b"")
            if carry and os.fstat(fd).st_size == 0:
                _write_all(fd, carry)
            previous, self._fd, self._end = (self.path, self._fd), fd, None
            st = os.fstat(fd)
            self._ident = (st.st_dev, st.st_ino)
            self.path = target
            if previous[1] is not None:
                os.close(previous[1])
                if previous[0] != target and previous[0] != self.primary:
                    with contextlib.suppress(OSError):
                        os.unlink(previous[0])   # the fallback copy, now carried back
            if target != self.primary:
                self.notice = (f"the audit journal's folder cannot be written: moved to {target}; "
                               "nothing was lost")
            elif old:
                self.notice = (f"the audit journal was deleted: written again, whole, at {target}; "
                               "nothing was lost")
            return

    def size(self) -> int:
        try:
            return self.path.stat().st_size + len(self._buf)
        except OSError:
            return len(self._buf)

    def progress(self) -> tuple[str, int]:
        """(where the journal is, its size): the ingest thread ingests again when either moved.
        A journal that comes home from the fallback folder with the size it had there still
        holds lines the store lacks (an ingest never reads a live writer's fallback copy)."""
        return os.fspath(self.path), self.size()

    def close(self) -> None:
        with self._lock:
            self._flush()
            self._closed = True
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def _content(fd: int | None) -> bytes:
    """Everything written to an open journal (also after its name was deleted)."""
    if fd is None:
        return b""
    try:
        size = os.fstat(fd).st_size
        return os.pread(fd, size, 0) if size else b""
    except OSError:
        return b""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


@dataclass(frozen=True)
class Chunk:
    """The complete lines of a journal from byte ``start`` up to ``end``, unparsed."""

    data: bytes
    start: int
    end: int
    tail: int          # bytes after ``end`` with no newline yet (a line being written, or torn)


def read_from(path: Path, offset: int) -> Chunk:
    """Every complete line after ``offset`` (parsing is the ingester's job)."""
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    cut = data.rfind(b"\n") + 1
    return Chunk(data[:cut], offset, offset + cut, len(data) - cut)


def parse_lines(data: bytes) -> list[dict[str, Any]]:
    """Journal lines as dicts, skipping any that do not parse (used by ``verify``)."""
    lines = []
    for raw in data.splitlines():
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if isinstance(obj, dict):
            lines.append(obj)
    return lines


def read_header(path: Path) -> dict[str, Any]:
    with open(path, "rb") as f:
        first = f.readline()
    try:
        head = json.loads(first)
    except ValueError:
        return {}
    return head if isinstance(head, dict) and head.get("t") == "head" else {}


def append_lines(path: Path, lines: list[dict[str, Any]], *, fix_tail: bool) -> None:
    """Append lines written on behalf of a dead writer.

    ``fix_tail`` ends a torn last line first.
    """
    with open(path, "ab") as f:
        if fix_tail:
            f.write(b"\n")
        f.write(b"".join(dumps(line) for line in lines))
        f.flush()
        os.fsync(f.fileno())
