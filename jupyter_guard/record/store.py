"""The published DuckDB file: never opened for writing in place.

Writers (ingest, compact, approvals) take ``<audit>.lock`` (a ``flock``), copy the published
file to a temp file in the same directory, change the copy, close it and ``os.replace`` it over the
published name. A reader that opened the file keeps its inode; a reader that opens it later sees the
new one. So a governance reader can open the file read-only at any moment, with no lock errors.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from jupyter_guard.duck import Scratch, own_connection

from .errors import AuditError
from .schema import ensure_schema

TRANSIENT = ("Could not set lock", "Conflicting lock", "No such file")


def lock_path(path: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(path)}.lock")


@contextlib.contextmanager
def store_lock(path: str | os.PathLike[str], *, wait: float | None) -> Iterator[bool]:
    """Hold the writers' lock; yields False (and holds nothing) if it stays busy for ``wait`` s.

    ``wait=None`` waits as long as it takes; ``wait=0`` never waits.
    """
    Path(os.fspath(path)).parent.mkdir(parents=True, exist_ok=True)
    with hold(lock_path(path), wait=wait) as got:
        yield got


@contextlib.contextmanager
def hold(path: Path, *, wait: float | None) -> Iterator[bool]:
    """An exclusive ``flock`` on ``path`` (through ``filelock``), or False after ``wait`` s.

    Only writers open such a lock, read-write and owner/group only: a reader of another account
    cannot open it at all, so it cannot hold it and freeze ingestion (readers need no lock).
    The file is kept (``preserve_lock_file``): that also rules out filelock's marker-file
    fallback, whose marker a SIGKILLed holder would leave behind for good.
    """
    from filelock import FileLock, Timeout  # here: a reader that takes no lock never loads it

    with contextlib.suppress(OSError):
        st = os.lstat(path)
        if st.st_mode & 0o007 and not os.path.islink(path):
            os.chmod(path, 0o660)   # made by an older version with 0644
    lock = FileLock(path, mode=0o660, preserve_lock_file=True, thread_local=False)
    try:
        lock.acquire(timeout=-1 if wait is None else wait, poll_interval=0.02)
    except Timeout:
        got = False
    else:
        got = True
    try:
        yield got
    finally:
        if got:
            lock.release()


def _unreadable(path: str, exc: Exception) -> AuditError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return AuditError(f"audit file {path} is unreadable ({first}): run `jupyter guard repair` "
                      "to move it aside and rebuild it from the journals")


def _clean_temps(path: Path) -> None:
    for stale in path.parent.glob(f".{path.name}.tmp-*"):
        with contextlib.suppress(OSError):
            stale.unlink()


@contextlib.contextmanager
def rewrite(path: str | os.PathLike[str], *, shrink: bool = False
            ) -> Iterator[duckdb.DuckDBPyConnection]:
    """Read-write connection on a copy of the store, published atomically if the block succeeds.

    The caller must hold ``store_lock``. ``shrink`` rebuilds the file after the block so that
    space freed by deletes is returned (DuckDB reuses but never truncates free blocks).
    """
    published = Path(os.fspath(path))
    _clean_temps(published)
    temp = published.parent / f".{published.name}.tmp-{os.getpid()}"
    compact = published.parent / f".{published.name}.tmp-{os.getpid()}-shrunk"
    if published.exists():
        try:
            shutil.copyfile(published, temp)
        except OSError:   # a full disk: the half-written copy must not keep it full
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
    if not shrink:
        yield from _rewrite_attached(published, temp)
        return
    try:
        try:
            con = own_connection(os.fspath(temp))
            ensure_schema(con)
        except duckdb.Error as exc:
            raise _unreadable(os.fspath(published), exc) from None
        try:
            yield con
            con.execute("CHECKPOINT")
            if shrink:
                (db,), = con.execute("SELECT current_database()").fetchall()
                con.execute(f"ATTACH '{compact}' AS _shrunk")
                con.execute(f'COPY FROM DATABASE "{db}" TO _shrunk')
                con.execute("DETACH _shrunk")
        finally:
            con.close()
        os.replace(compact if shrink else temp, published)
    finally:
        for leftover in (temp, compact, Path(f"{temp}.wal"), Path(f"{compact}.wal")):
            with contextlib.suppress(OSError):
                leftover.unlink()


# The in-memory DuckDB that attaches the copy (starting an instance per ingest cost ~14 ms,
# attaching a file to a running one ~2.4 ms); shared by the process, see ``jupyter_guard.duck``.
_scratch = Scratch()


def _rewrite_attached(published: Path, temp: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    quoted = os.fspath(temp).replace("'", "''")
    with _scratch.connection() as con:
        try:
            try:
                con.execute(f"ATTACH '{quoted}' AS _store")
                con.execute("USE _store")
                ensure_schema(con)
            except duckdb.Error as exc:
                raise _unreadable(os.fspath(published), exc) from None
            try:
                yield con
                con.execute("CHECKPOINT _store")
            finally:
                _detach(con)
            _closed(con, published)
            os.replace(temp, published)
        finally:
            _detach(con)  # also after a failed ATTACH/USE: the next rewrite must find it clean
            for leftover in (temp, Path(f"{temp}.wal")):
                with contextlib.suppress(OSError):
                    leftover.unlink()


def _closed(con: duckdb.DuckDBPyConnection, published: Path) -> None:
    """The copy must be closed before it is published: a copy DuckDB still holds (a DETACH that
    failed, its error suppressed) could still be written while readers open it, and a reader
    would read a torn file."""
    (held,), = con.execute("SELECT count(*) FROM duckdb_databases() "
                           "WHERE database_name = '_store'").fetchall()
    if held:
        raise AuditError(f"the new copy of {published} could not be closed, so it was not "
                         "published; the next ingest tries again")


def _detach(con: duckdb.DuckDBPyConnection) -> None:
    for statement in ("ROLLBACK", "USE memory", "DETACH DATABASE IF EXISTS _store"):
        with contextlib.suppress(duckdb.Error):
            con.execute(statement)


def connect_readonly(path: str | os.PathLike[str], *, attempts: int = 20
                     ) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published store, retried on transient lock errors.

    Close it when done: a connection keeps seeing the file version it opened.
    """
    name = os.fspath(path)
    if not os.path.exists(name):
        raise AuditError(f"audit file {name} does not exist yet: start a guarded kernel or run "
                         "`jupyter guard report` to create it")
    for attempt in range(attempts):
        try:
            return own_connection(name, read_only=True)
        except duckdb.Error as exc:
            if not any(t in str(exc) for t in TRANSIENT) or attempt == attempts - 1:
                raise _unreadable(name, exc) from None
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


def readable(published: Path) -> bool:
    """Whether every block of the store reads back (a truncated file fails here)."""
    try:
        con = own_connection(os.fspath(published), read_only=True)
    except duckdb.Error:
        return False
    try:
        for (table,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall():
            con.execute(f'SELECT sum(hash(t)) FROM "{table}" t').fetchall()
        return True
    except duckdb.Error:
        return False
    finally:
        con.close()


def set_aside(published: Path) -> Path:
    """Move an unreadable store to ``<file>.corrupt-<ts>`` (kept for inspection)."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    aside = published.with_name(f"{published.name}.corrupt-{stamp}-{os.getpid()}")
    os.replace(published, aside)
    return aside


def restore_journals(published: Path) -> None:
    """Put the journals of ended sessions back, so the next ingest rebuilds the store from all."""
    from .journal import ingested_dir, journal_dir

    done = ingested_dir(published)
    for journal in sorted(done.glob("*.jsonl")) if done.exists() else ():
        os.replace(journal, journal_dir(published) / journal.name)
