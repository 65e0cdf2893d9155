"""Bytes of a database file leaving by a write, whatever the offset they start at.

A DuckDB or SQLite file holds every table in it: its bytes written elsewhere are a copy of all
of them, even without its header (``open(x, 'wb').write(data[16:])``, a chunked copy after a
``seek``, ``mmap`` slices). So the guard remembers the database files user code opened for
reading (``open``, ``os.open``: by header, looked at once per file version), and a write whose
bytes are found in one of them (windows of ``WINDOW`` bytes in two of a few stretches of the
write, wherever it began) is refused as the pages of a database file. While no database file was
opened that way, a write costs one emptiness test.

``os.sendfile``, ``os.splice`` and ``os.copy_file_range`` out of a database file are refused
the same way (``from_database``): the copy is made by the kernel, below any write the exits see.

What it cannot see: bytes altered on the way (compressed, encoded, XORed) and a database read
by a route that opens no file in Python (``read_blob`` in SQL, ``sqlite3`` ``serialize``: those
keep the header check, which sees a copy that starts at the header).
"""
from __future__ import annotations

import io
import os
import stat
import sys
from typing import Any

from jupyter_guard.hooks.event_paths import SMALLEST, database_file, database_header
from jupyter_guard.hooks.sealed_events import sealed
from jupyter_guard.hooks.state import busy

DATABASE_PAGES = "the pages of a database file (every table in it)"
WINDOW = 32
"""Bytes per window: long enough that a match is a copy."""
SOURCES: dict[str, None] = {}
"""Database files user code opened for reading (real paths, in the order they were opened)."""
_seen: dict[tuple[int, int, int], bool] = {}   # (device, inode, mtime) -> is a database
_tails: dict[Any, bytes] = {}   # destination -> the end of what was written there last


def note(path: Any, rt: Any = None, frame: Any = None) -> None:
    """A file opened for reading: remembered when it is a database file that user code opened
    (``rt.user_stack(frame)``: the guard's own reads of its audit store, from its threads, are
    not copies)."""
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
    if db and (rt is None or rt.user_stack(frame)):
        SOURCES[os.path.realpath(os.fsdecode(path))] = None


def from_database(fd: Any) -> bool:
    """The descriptor is a database file (its first bytes, whatever its position)."""
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode) and database_header(os.pread(fd, 24, 0))
    except (OSError, TypeError, ValueError):
        return False   # not a readable file: the copy itself raises


def copied(data: Any, dest: Any = None) -> str | None:
    """The database file whose bytes ``data`` is (a slice of, at any offset), or None. A write
    to ``dest`` too short to hold an indexed window wherever it begins (under the index's step
    plus a window) is looked at with the end of what was written there before it, so a copy
    in such pieces (unbuffered writes; a large file's wider step) is found within a few."""
    if not SOURCES:
        return None
    view = _view(data)
    tail = max((hit[1] for hit in _indexes.values()), default=64) + WINDOW
    if view is not None and isinstance(dest, (str, int)) and len(view) < tail:
        before = _tails.pop(dest, b"")
        joined = before + bytes(view)
        _tails[dest] = joined[-tail:]
        if len(_tails) > 64:
            del _tails[next(iter(_tails))]
        view = memoryview(joined)
    if view is None or len(view) < WINDOW + 8:
        return None
    if not bytes(view).translate(None, _TEXT):   # text only: no window of it is a page's
        return None   # structure (``_structure``), so no stretch can match; one C pass
    for src in list(SOURCES):
        index = _index(src)
        if index is not None and _found(view, index):
            return src
    return None


# the bytes ``_structure`` does not count as a page's: printable ASCII and above, tab, LF, CR
_TEXT = bytes(c for c in range(256) if (c >= 0x20 and c != 0x7F) or c in (9, 10, 13))


def _view(data: Any) -> memoryview | None:
    if isinstance(data, str):
        try:
            data = data.encode("latin-1")
        except UnicodeEncodeError:
            data = data.encode("utf-8", "surrogateescape")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return None
    view = memoryview(data)
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view


# A window's hash is a mix of its four 8-byte words. The file is indexed at every ``step``-th
# byte (aligned: numpy reads its words in place); the written bytes are hashed at every byte of
# a few stretches of ``step`` bytes, so one of them lines up with an indexed window, wherever the
# slice began.
_K = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9)
MAX_ENTRIES = 4_000_000
STRETCHES = 8
TELLING = 12   # different bytes in a window of 32 that holds data
LOOKS = 512   # non-zero bytes a telling stretch is looked for around (a database is mostly zeros)
_indexes: dict[str, tuple[tuple[int, int], int, Any]] = {}


def _mix(w: Any) -> Any:
    import numpy as np

    k1, k2, k3 = (np.uint64(k) for k in _K)
    with np.errstate(over="ignore"):
        return w[..., 0] ^ (w[..., 1] * k1) ^ (w[..., 2] * k2) ^ (w[..., 3] * k3)


def _index(src: str) -> tuple[int, Any] | None:
    """(step, sorted hashes of the file's windows at every ``step``-th byte), built once per
    file version; windows found more than 4 times (runs of zeros, padding) are left out."""
    import numpy as np

    try:
        st = os.stat(src)
    except OSError:
        return None   # gone: nothing of it is left to copy
    key = (st.st_size, st.st_mtime_ns)
    hit = _indexes.get(src)
    if hit is not None and hit[0] == key:
        return hit[1], hit[2]
    step = 64
    while st.st_size // step > MAX_ENTRIES:
        step *= 2
    try:
        words = np.memmap(src, dtype="<u8", mode="r", shape=(st.st_size // 8,))
    except (OSError, ValueError):
        return None   # unreadable or empty now
    n = (len(words) - WINDOW // 8) * 8 // step
    parts = []
    for at in range(0, max(n, 0), 1 << 20):   # a million windows at a time
        rows = np.arange(at, min(n, at + (1 << 20))) * (step // 8)
        w = np.stack([words[rows + j] for j in range(4)], axis=-1)
        parts.append(_mix(w)[_telling(w.view(np.uint8))])
    del words
    if not parts:
        return None
    hashes, counts = np.unique(np.concatenate(parts), return_counts=True)
    index = hashes[counts <= 4]
    _indexes[src] = (key, step, index)
    return step, index


def _telling(w8: Any) -> Any:
    """Windows (rows of 32 bytes) with at least ``TELLING`` different bytes: data, not the zeros
    and small numbers every database file's headers and page headers share."""
    import numpy as np

    s = np.sort(w8, axis=1)
    return (s[:, 1:] != s[:, :-1]).sum(axis=1) + 1 >= TELLING


def _found(view: memoryview, index: tuple[int, Any]) -> bool:
    """Windows of the file in most of up to ``STRETCHES`` stretches of ``view`` that hold data
    (and in two at least, when there are more than two), each stretch ``step`` bytes long, so
    that one of its windows starts where an indexed one does if the bytes are the file's."""
    import numpy as np

    step, hashes = index
    if not len(hashes):
        return False
    n = len(view)
    span = min(step, n - WINDOW + 1)
    filled = np.flatnonzero(np.frombuffer(view, np.uint8))   # look where the bytes are
    if not len(filled):
        return False
    picks = filled[np.linspace(0, len(filled) - 1, min(LOOKS, len(filled))).astype(np.int64)]
    starts = sorted({max(0, min(n - WINDOW - span + 1, int(q) - span // 2)) for q in picks})
    tried = matched = 0
    for at in starts:
        piece = bytes(view[at:at + span + WINDOW - 1])
        if len(set(piece)) < TELLING:
            continue   # zeros or a few repeated bytes: tells nothing
        w8 = np.lib.stride_tricks.as_strided(np.frombuffer(piece, np.uint8), (span, WINDOW),
                                             (1, 1))
        if not _telling(w8).all():
            continue   # the window that lines up with the index may tell nothing: look on
        probe = _mix(np.ndarray((span, 4), dtype="<u8", buffer=piece, strides=(1, 8)))
        where = np.minimum(np.searchsorted(hashes, probe), len(hashes) - 1)
        hits = np.flatnonzero(hashes[where] == probe)
        if len(hits) and not _structure(piece, hits):
            continue   # text that is also in the file (a value, a schema): not its pages
        tried += 1
        matched += bool(len(hits))
        if tried == STRETCHES:
            break
    return matched >= min(2, tried) and matched > 0 and 2 * matched >= tried


def _structure(piece: bytes, hits: Any) -> bool:
    """A matched window holds a byte no text holds (a control byte other than tab and line
    ends: record headers, lengths, page headers): the write carries the file's pages, not only
    a value stored in them. Values themselves are judged by the data exits (detectors, known
    values), so a CSV of a table's long text fields is no copy of the file."""
    import numpy as np

    b = np.frombuffer(piece, np.uint8)
    odd = ((b < 0x20) & (b != 9) & (b != 10) & (b != 13)) | (b == 0x7F)
    run = np.concatenate(([0], np.cumsum(odd)))
    return bool((run[hits + WINDOW] - run[hits] > 0).any())


def local_copy(data: Any, dest: Any = None) -> str | None:
    """Bytes that begin as a database file does (``data``), and are the start of a database file
    under the working folder (other than ``dest``): a copy of it, made by a route no index saw.
    A database downloaded or built in memory matches none and is written (its values still go
    through the data exits). ``None`` when no file matches; under ``SMALLEST`` bytes tell
    nothing (the header alone)."""
    view = _view(data)
    if view is None or len(view) < SMALLEST:
        return None
    from jupyter_guard.hooks.event_paths import database_in

    try:
        skip = os.path.realpath(os.fsdecode(dest)) if isinstance(dest, (str, bytes)) else ""
    except (TypeError, ValueError):
        skip = ""
    head = bytes(view[:PREFIX])
    for p in database_in(".", True, WALK_SECONDS):
        if p.startswith("(unchecked"):
            return p   # a folder too large to look through in time: refused, it may be there
        real = os.path.realpath(p)
        if real == skip:
            continue
        try:
            with io.FileIO(p, "r") as f:   # not ``open``: the guard's own read, not noted
                start = f.read(len(head))
        except OSError:
            continue   # gone or unreadable: not what was written
        saved = _DOWNLOADED.get(real)
        if start == head and not (saved and start[:len(saved)] == saved[:len(start)]):
            return p
    if skip:   # written as a download: a later copy of it is no copy of this machine's data
        if len(_DOWNLOADED) > 256:
            _DOWNLOADED.clear()
        _DOWNLOADED[skip] = head
    return None


_DOWNLOADED: dict[str, bytes] = {}
"""Files written from bytes that began as a database file of no local one (real path -> their
first bytes): while they still begin so (unchanged since), they are no local database's copy."""


PREFIX = 1 << 16
"""Bytes of a write that begins with a database header compared with each local database file."""
WALK_SECONDS = 10.0


def downloading(frame: Any) -> bool:
    """The write is ``urllib.request.urlretrieve`` saving what a server sent: a database file
    downloaded, not one of this machine's (``!curl -o`` is not refused either). Bytes of a
    database file read here are still found by ``copied``."""
    while frame is not None:
        code = frame.f_code
        if code.co_name == "urlretrieve" and code.co_filename.endswith(
                os.path.join("urllib", "request.py")):
            return True
        frame = frame.f_back
    return False


def install(rt: Any, module_patched: dict[tuple[Any, str], Any]) -> None:
    """``os.open`` notes the database files it opens for reading; ``os.copy_file_range`` out
    of a database file is refused."""
    import posix

    orig_open = os.open
    if not getattr(orig_open, "_jg", False):
        def open(path: Any, flags: int, *args: Any, **kw: Any) -> int:
            fd = int(orig_open(path, flags, *args, **kw))
            if not flags & (os.O_WRONLY | os.O_RDWR):
                note(path, rt, sys._getframe(1))
            return fd
        opener = sealed(open, orig_open)   # its cells (the runtime): sealed
        opener._jg = True   # a marker on our own function
        for mod in (os, posix):
            mod.open = opener  # type: ignore[attr-defined]  # os.open and posix.open, replaced
            module_patched[(mod, "open")] = opener
    orig_cfr = getattr(os, "copy_file_range", None)
    if orig_cfr is not None and not getattr(orig_cfr, "_jg", False):
        def copy_file_range(src: int, dst: int, count: int, *args: Any, **kw: Any) -> int:
            refuse_copy(rt, src, dst, "os.copy_file_range", sys._getframe(1))
            return int(orig_cfr(src, dst, count, *args, **kw))
        copier = sealed(copy_file_range, orig_cfr)   # its cells (the runtime): sealed
        copier._jg = True   # a marker on our own function
        for mod in (os, posix):
            mod.copy_file_range = copier  # type: ignore[attr-defined]  # replaced
            module_patched[(mod, "copy_file_range")] = copier


def refuse_copy(rt: Any, src: Any, dst: Any, how: str, frame: Any) -> None:
    """A copy made by the OS kernel (``sendfile``, ``splice``, ``copy_file_range``) out of a
    database file, by user code: refused (``exfiltration``), whatever the offset or count."""
    if busy() or not from_database(src) or not rt.user_stack(frame):
        return
    from jupyter_guard.hooks import exits
    from jupyter_guard.hooks.exit_streams import _fd_name

    exits.refuse(rt.guard, rt, DATABASE_PAGES, _fd_name(dst), how)
