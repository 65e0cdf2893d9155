"""The policy files a guard watches, and whether one changed on disk since it was read: one
``stat`` per file before a cell (the packaged default is not watched: it changes only with a
reinstall). A file that cannot be read is stamped with its error, so it appearing is a change."""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

Stamp = tuple[Any, ...]   # per file (path, mtime_ns, size, inode) or (path, errno)


def watched(policy: str, sources: tuple[str, ...]) -> tuple[str, ...]:
    """The files of the policy set as ``policy`` (which ``sources`` it extends), once each."""
    if not policy:
        return ()
    packaged = _packaged()
    return tuple(dict.fromkeys(f for f in (policy,) + sources if f != packaged))


def stamp(files: tuple[str, ...]) -> Stamp:
    out: list[Any] = []
    for f in files:
        try:
            st = os.stat(f)
            out.append((f, st.st_mtime_ns, st.st_size, st.st_ino))
        except OSError as e:
            out.append((f, e.errno))
    return tuple(out)


def changed(stamped: Stamp) -> bool:
    """Whether any file of ``stamped`` is not as it was stamped."""
    for entry in stamped:
        try:
            st = os.stat(entry[0])
        except OSError as e:
            if entry[1:] != (e.errno,):
                return True
            continue
        if entry[1:] != (st.st_mtime_ns, st.st_size, st.st_ino):
            return True
    return False


@lru_cache(maxsize=1)
def _packaged() -> str:
    from jupyter_guard.policy.load import default_path

    try:
        return str(default_path())
    except FileNotFoundError:
        return ""
