"""The path an audit event names (``open``, ``os.remove``, ``os.rename``, …), for the kernel's
run-time layer and the guard inside children alike."""
from __future__ import annotations

import glob
import io
import os
import stat
import time
from typing import Any

from jupyter_guard.model import UNKNOWN, Intent


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
    """A DuckDB or SQLite database, by its header (whatever its name). Only a regular file is
    opened (a named pipe would block the read)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with io.FileIO(path, "r") as f:   # not ``open``: the guard's own read, not noted
            head = f.read(24)
    except OSError:   # not a readable file: nothing to copy from it
        return False
    return database_header(head)


def database_header(head: bytes) -> bool:
    """The first bytes of a DuckDB or SQLite database file.

    >>> database_header(b"SQLite format 3\\x00..."), database_header(b"PK\\x03\\x04")
    (True, False)
    """
    return any(head[at:at + len(magic)] == magic for at, magic in _MAGIC)


def database_copy(src: str | None, dst: str | None, how: str) -> list[Intent]:
    """A copy or link of a database file (``shutil.copy``, ``os.link``): an export of every
    table in it, whatever they hold; nothing for other files."""
    if src is None or dst is None or not database_file(src):
        return []
    return [Intent("df.export", "file", dst, ("?",), source=f"{how} {src!r}",
                   detail=f"copies database file {src}")]


SMALLEST = 512
"""No database file with a table in it is smaller (SQLite's smallest page; DuckDB's headers
alone take 12 KB): smaller files are passed by their size, without being opened."""
WALK_SECONDS = 30.0
"""A folder whose walk takes longer cannot be checked: it is named as such, so the rule refuses."""


def database_in(arg: str, walk: bool = True, budget: float = WALK_SECONDS) -> tuple[str, ...]:
    """The database files a command argument names or holds: the file itself, a glob's matches,
    or (``walk``) the files inside the folder it names (an archive or a recursive copy takes them
    along). Every file in the folder is looked at (by size first, then by header); a folder whose
    walk takes more than ``budget`` seconds is named as unchecked, so the rule refuses.

    >>> database_in("/nonexistent/x.db")
    ()
    """
    if not arg or "://" in arg or UNKNOWN in arg:
        return ()
    arg = os.path.expanduser(arg)
    found: list[str] = []
    end = time.monotonic() + budget
    for p in sorted(glob.glob(arg)) if glob.has_magic(arg) else [arg]:
        if database_file(p):
            found.append(p)
        elif walk and os.path.isdir(p) and not os.path.islink(p):
            inside = _walk(p, end)
            if inside is None:
                return (*found, f"(unchecked: walking {p} took more than {budget:.0f} s)")
            found += inside
    return tuple(found)


def _walk(top: str, end: float) -> list[str] | None:
    """Database files under ``top`` (a link to a file is looked through, a link to a folder is
    not, as the copiers do by default); None past ``end``."""
    found: list[str] = []
    stack = [top]
    n = 0
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:   # unreadable folder: the copier cannot read it either
            continue
        for e in entries:
            n += 1
            if n % 1024 == 0 and time.monotonic() > end:
                return None
            try:
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                elif e.is_file() and e.stat().st_size >= SMALLEST and database_file(e.path):
                    found.append(e.path)
            except OSError:   # gone while walking: nothing to copy
                continue
    return found
