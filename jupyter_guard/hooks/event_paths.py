"""The path an audit event names (``open``, ``os.remove``, ``os.rename``, …), for the kernel's
run-time layer and the guard inside children alike."""
from __future__ import annotations

import os
from typing import Any

from jupyter_guard.model import UNKNOWN


def event_path(p: Any, dir_fd: Any = None) -> str | None:
    """``p`` as text, joined to the folder ``dir_fd`` stands for when it is relative; ``None``
    for a file descriptor or something that is no path; ``UNKNOWN/…`` when the folder is gone."""
    if p is None or isinstance(p, int):
        return None
    try:
        s = os.fsdecode(p)
    except TypeError:
        return None
    if isinstance(dir_fd, int) and dir_fd >= 0 and not os.path.isabs(s):
        try:
            s = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), s)
        except OSError:
            s = UNKNOWN + "/" + s
    return s


_MAGIC = ((8, b"DUCK"), (0, b"SQLite format 3\x00"))


def database_file(path: str) -> bool:
    """A DuckDB or SQLite database, by its header (whatever its name)."""
    try:
        with open(path, "rb") as f:
            head = f.read(24)
    except OSError:   # not a readable file: nothing to copy from it
        return False
    return any(head[at:at + len(magic)] == magic for at, magic in _MAGIC)
