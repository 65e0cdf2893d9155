"""Who may change the audit store: the guard's own processes, and people outside kernels.

A guarded kernel marks its environment (``JUPYTER_GUARD_KERNEL``, inherited by every child) and
writes its pid into its journal's header. ``jupyter guard compact``, ``repair`` and ``export`` into
the store's own folder refuse to run when either says they were started from inside a guarded
kernel (``!jupyter guard compact ...``), so a cell cannot archive or rewrite the store away.
"""
from __future__ import annotations

import os
from pathlib import Path

from .journal import HOST, journal_dir, read_header

MARKER = "JUPYTER_GUARD_KERNEL"


def _parent(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])


def _kernel_pids(audit: str) -> set[int]:
    folder = journal_dir(audit)
    pids: set[int] = set()
    for journal in folder.glob("*.jsonl") if folder.is_dir() else ():
        try:
            head = read_header(journal)
        except OSError:
            continue
        if head.get("host") == HOST and isinstance(head.get("pid"), int):
            pids.add(head["pid"])
    return pids


def inside_kernel(audit: str) -> str:
    """Why this process counts as started by a guarded kernel, or "" if it does not."""
    if os.environ.get(MARKER):
        return f"started from a guarded kernel (pid {os.environ[MARKER]})"
    kernels = _kernel_pids(audit)
    pid, seen = os.getppid(), 0
    while pid > 1 and seen < 64:
        if pid in kernels:
            return f"started from a guarded kernel (pid {pid})"
        pid, seen = _parent(pid), seen + 1
    return ""


def refuse_inside_kernel(command: str, audit: str) -> str:
    """The one-line refusal for a store-changing command run from a kernel, or ""."""
    why = inside_kernel(audit)
    if not why:
        return ""
    return (f"jupyter guard {command}: refused: it changes the audit store and was {why}; "
            "run it from a terminal outside any kernel")
