"""The jupyter server's authority files, which no cell may open: its private key, its approval
store (``jupyter_guard.authority``, ``jupyter_guard.server.approval_store``) and the audit
authority's MAC key and ledger (``jupyter_guard.authority_audit``), and the seal key of
``verify`` (``jupyter_guard.record.seal``).

With one OS account (a plain ``jupyter lab``) the kernel could read the key file and sign stamps
and approvals for anyone. The guard refuses every way a cell opens them that it sees: Python's
``open`` (and what calls it: ``pathlib``, ``shutil``...), ``duckdb.connect``, DuckDB's file
functions in SQL (``read_text``, ``read_blob``...), shell commands, and reads in child Python
processes. Names are resolved once (env ``JUPYTER_GUARD_AUTHORITY_KEY_FILE`` and
``JUPYTER_GUARD_APPROVALS_FILE``, which kernels inherit from their server, else the defaults in
the Jupyter data dir).
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from functools import lru_cache

KEY_ENV, STORE_ENV = "JUPYTER_GUARD_AUTHORITY_KEY_FILE", "JUPYTER_GUARD_APPROVALS_FILE"
KEY_NAME, STORE_NAME = "authority.key", "approvals.json"


def paths(env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(key file, approval store) as the server that started this process finds them."""
    env = os.environ if env is None else env
    key, store = env.get(KEY_ENV, "").strip(), env.get(STORE_ENV, "").strip()
    if not key or not store:
        from jupyter_core.paths import jupyter_data_dir

        folder = os.path.join(jupyter_data_dir(), "guard")
        key = key or os.path.join(folder, KEY_NAME)
        store = store or os.path.join(folder, STORE_NAME)
    return os.path.expanduser(key), os.path.expanduser(store)


@lru_cache(maxsize=1)
def _forms() -> tuple[str, ...]:
    out: list[str] = []
    key = paths()[0]
    folder = os.path.dirname(key)
    # the audit authority's MAC key and ledger live beside the signing key
    # and the local audit's seal key (``record/seal.py``)
    audit = [os.path.join(folder, n) for n in ("audit.mac.key", "audit.seal.key",
                                                  "audit-ledger.sqlite3",
                                                  "audit-ledger.sqlite3-wal",
                                                  "audit-ledger.sqlite3-shm")]
    seal = os.environ.get("JUPYTER_GUARD_SEAL_KEY_FILE", "").strip()
    for p in (*paths(), *audit, *([os.path.expanduser(seal)] if seal else [])):
        out += [os.path.abspath(p), os.path.realpath(p)]
    return tuple(dict.fromkeys(out))


@lru_cache(maxsize=1)
def names() -> tuple[str, ...]:
    """Base names for a cheap first test (a substring of the opened path)."""
    return tuple(dict.fromkeys(os.path.basename(p) for p in _forms()))


def files() -> tuple[str, ...]:
    """Every name of the key and the store (absolute and resolved), for the guard's own files."""
    return _forms()


def is_authority_file(path: object) -> bool:
    """Whether ``path`` is the key or the store (or the store's temporary file), by absolute and
    resolved name.

    >>> is_authority_file(3), is_authority_file("")
    (False, False)
    """
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str) or not path or not any(n in path for n in names()):
        return False   # a name without the file's base name (a link to it: see ``files``)
    p = path[len("file://"):] if path.startswith("file://") else path
    try:
        full = os.path.abspath(os.path.expanduser(p))
        given = {full, os.path.realpath(full)}
    except (OSError, ValueError):
        return False
    return any(n == f or n.startswith(f + ".") for n in given for f in _forms())


def named_in(strings: Iterable[str]) -> list[str]:
    """The strings (SQL literals, shell words) that name an authority file, or a glob that can
    match one (``*`` may cross ``/`` here: stricter than DuckDB, never looser)."""
    out = []
    for s in strings:
        if is_authority_file(s) or (any(c in s for c in "*?[") and _glob_hits(s)):
            out.append(s)
    return out


def _glob_hits(pattern: str) -> bool:
    import fnmatch

    p = pattern[len("file://"):] if pattern.startswith("file://") else pattern
    full = os.path.abspath(os.path.expanduser(p))
    return any(fnmatch.fnmatchcase(f, full) for f in _forms())
