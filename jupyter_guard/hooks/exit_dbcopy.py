"""Bytes of a database file leaving by a write, whatever the offset they start at.

A DuckDB or SQLite file holds every table in it: its bytes written elsewhere are a copy of all
of them, even without its header (``open(x, 'wb').write(data[16:])``, a chunked copy after a
``seek``, ``mmap`` slices). So the guard remembers the database files user code opened for
reading (``open``, ``os.open``: by header, looked at once per file version), and a write whose
bytes are found in one of them (a few spread windows of ``WINDOW`` bytes, all of them found)
is refused as the pages of a database file. While no database file was opened that way, a
write costs one emptiness test.

``os.sendfile``, ``os.splice`` and ``os.copy_file_range`` out of a database file are refused
the same way (``from_database``): the copy is made by the kernel, below any write the exits see.

What it cannot see: bytes altered on the way (compressed, encoded, XORed) and a database read
by a route that opens no file in Python (``read_blob`` in SQL, ``sqlite3`` ``serialize``: those
keep the header check, which sees a copy that starts at the header).
"""
from __future__ import annotations

import io
import mmap
import os
import stat
import sys
from typing import Any

from jupyter_guard.hooks.event_paths import SMALLEST, database_file, database_header
from jupyter_guard.hooks.state import busy

WINDOW = 32
"""Bytes per probe: long enough that a match is a copy, short enough for a small write."""
PROBES = 3
SOURCES: dict[str, None] = {}
"""Database files user code opened for reading (real paths, in the order they were opened)."""
_seen: dict[tuple[int, int, int], bool] = {}   # (device, inode, mtime) -> is a database


def note(path: Any) -> None:
    """A file opened for reading: remembered when it is a database file."""
    if busy() or isinstance(path, int) or path is None:
        return
    try:
        st = os.stat(path)
    except (OSError, TypeError, ValueError):
        return   # no such file (the open itself raised or will): nothing was read
    if not stat.S_ISREG(st.st_mode) or st.st_size < SMALLEST:
        return
    key = (st.st_dev, st.st_ino, st.st_mtime_ns)
    db = _seen.get(key)
    if db is None:
        if len(_seen) > 4096:
            _seen.clear()
        db = _seen[key] = database_file(os.fsdecode(path))
    if db:
        SOURCES[os.path.realpath(os.fsdecode(path))] = None


def from_database(fd: Any) -> bool:
    """The descriptor is a database file (its first bytes, whatever its position)."""
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode) and database_header(os.pread(fd, 24, 0))
    except (OSError, TypeError, ValueError):
        return False   # not a readable file: the copy itself raises


def copied(data: Any) -> str | None:
    """The database file whose bytes ``data`` is (a slice of), or None."""
    if not SOURCES:
        return None
    probes = _probes(data)
    if not probes:
        return None
    for src in list(SOURCES):
        try:
            with io.FileIO(src, "r") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                if all(m.find(p) >= 0 for p in probes):
                    return src
        except (OSError, ValueError):   # gone or empty now: nothing of it is left to copy
            continue
    return None


def _probes(data: Any) -> list[bytes]:
    """Up to ``PROBES`` windows spread over ``data``, each with enough different bytes that
    finding it in a file is no chance (runs of zeros or spaces are skipped)."""
    if isinstance(data, str):
        try:
            data = data.encode("latin-1")
        except UnicodeEncodeError:
            data = data.encode("utf-8", "surrogateescape")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return []
    view = memoryview(data).cast("B") if isinstance(data, memoryview) else memoryview(data)
    n = len(view)
    if n < WINDOW:
        return []
    out: list[bytes] = []
    step = max(WINDOW, (n - WINDOW) // 4096)   # at most ~4,096 looks, spread over the data
    for start in (0, n // 3, (2 * n) // 3):   # the first telling window from each third on
        for at in range(start, n - WINDOW + 1, step):
            w = bytes(view[at:at + WINDOW])
            if len(set(w)) >= 8:
                out.append(w)
                break
    return out


def install(rt: Any, module_patched: dict[tuple[Any, str], Any]) -> None:
    """``os.open`` notes the database files it opens for reading; ``os.copy_file_range`` out
    of a database file is refused."""
    import posix

    orig_open = os.open
    if not getattr(orig_open, "_jg", False):
        def open(path: Any, flags: int, *args: Any, **kw: Any) -> int:
            fd = int(orig_open(path, flags, *args, **kw))
            if not flags & (os.O_WRONLY | os.O_RDWR):
                note(path)
            return fd
        open._jg = True  # type: ignore[attr-defined]  # a marker on our own function
        open.__name__, open.__doc__ = "open", orig_open.__doc__
        for mod in (os, posix):
            setattr(mod, "open", open)
            module_patched[(mod, "open")] = open
    orig_cfr = getattr(os, "copy_file_range", None)
    if orig_cfr is not None and not getattr(orig_cfr, "_jg", False):
        def copy_file_range(src: int, dst: int, count: int, *args: Any, **kw: Any) -> int:
            refuse_copy(rt, src, dst, "os.copy_file_range", sys._getframe(1))
            return int(orig_cfr(src, dst, count, *args, **kw))
        copy_file_range._jg = True  # type: ignore[attr-defined]  # a marker on our own function
        copy_file_range.__name__, copy_file_range.__doc__ = "copy_file_range", orig_cfr.__doc__
        for mod in (os, posix):
            setattr(mod, "copy_file_range", copy_file_range)
            module_patched[(mod, "copy_file_range")] = copy_file_range


def refuse_copy(rt: Any, src: Any, dst: Any, how: str, frame: Any) -> None:
    """A copy made by the OS kernel (``sendfile``, ``splice``, ``copy_file_range``) out of a
    database file, by user code: refused (``exfiltration``), whatever the offset or count."""
    if busy() or not from_database(src) or not rt.user_stack(frame):
        return
    from jupyter_guard.hooks import exits
    from jupyter_guard.hooks.exit_files import DATABASE_PAGES
    from jupyter_guard.hooks.exit_streams import _fd_name

    exits.refuse(rt.guard, rt, DATABASE_PAGES, _fd_name(dst), how)
