"""Per-session append-only journals: ``<audit>.journal/<session_id>.jsonl``, one JSON object a line.

The first line is the header (who writes: pid, host, pid start time). Then ``begin`` and ``end``
lines, an optional ``approval`` line, and ``close`` when the session ends cleanly. Each line is
written with one ``write`` and flushed, so a SIGKILLed kernel leaves every line it wrote.
"""
from __future__ import annotations

import json
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

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


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


def dumps(line: dict[str, Any]) -> bytes:
    return json.dumps(line, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


class JournalWriter:
    """Appends lines to one session's journal; thread-safe, one ``write`` + flush per line."""

    def __init__(self, audit_path: str | os.PathLike[str], session_id: str, *,
                 parent: str = "") -> None:
        folder = journal_dir(audit_path)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{session_id}.jsonl"
        self._lock = threading.Lock()
        self._file: BinaryIO | None = open(self.path, "ab")
        if self._file.tell() == 0:
            pid = os.getpid()
            head = {"t": "head", "v": 1, "session_id": session_id, "pid": pid, "host": HOST,
                    "pid_start": pid_start(pid)}
            self.write({**head, "parent_session": parent} if parent else head)

    def write(self, line: dict[str, Any]) -> None:
        data = dumps(line)
        with self._lock:
            if self._file is None:
                raise ValueError(f"journal {self.path} is closed: open a new AuditLog")
            self._file.write(data)
            self._file.flush()

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


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
    """Append lines written on behalf of a dead writer (``fix_tail`` ends a torn last line first)."""
    with open(path, "ab") as f:
        if fix_tail:
            f.write(b"\n")
        f.write(b"".join(dumps(line) for line in lines))
        f.flush()
        os.fsync(f.fileno())
