"""Seals made by the writer of a segment, so that no ``verify`` starts cold.

A seal (``seal.py``) says: these two files, while unchanged, hold rows whose content hashes to
their ``hash`` and that link, within each session, to the row before them. ``verify`` links each
session's first and last row in a sealed segment to the rows around it instead of re-hashing it.
Every writer of a segment seals what it wrote, after checking it:

- a new segment (``segments.seal``: final live events moved out; ``segments.prune``: an archive
  rewrote one): its files are digested, then its rows are read back from them, re-hashed and
  linked (the SQL of ``chainsql``, as ``verify`` would);
- a merge (``segments.merge``): each input's seal is checked (the MAC under the key, the files
  unchanged) and the inputs' per-session spans are linked across them; an input without a valid
  seal is re-hashed row by row. The output is the writer's own copy of the inputs: its event
  count must equal theirs, and its files must still have the digests the merge took as it wrote
  them (an edit made meanwhile leaves it unsealed).

What does not check is left unsealed: ``verify`` re-hashes it and names what is wrong. Sealing
runs after the writers' lock is released (``flush``); a crash before it leaves an unsealed
segment, which only costs the next ``verify`` its re-hash.
"""
from __future__ import annotations

import os
from pathlib import Path

import duckdb


def flush(published: Path) -> None:
    """Seal the segments this process wrote for ``published`` under the lock since the last
    flush (``segments.seal`` and ``segments.prune`` list them)."""
    from .segments import written

    for name in written(published):
        seal_segment(published, name)


def _q(path: Path) -> str:
    return "read_parquet('" + os.fspath(path).replace("'", "''") + "')"


def seal_segment(published: Path, name: str, inputs: list[str] | None = None,
                 files: tuple[str, str] | None = None) -> bool:
    """Check the segment ``name`` (or, for a merge, its ``inputs``) and seal it. Returns whether
    it was sealed; a segment that does not check, or that cannot be read, is left unsealed.
    ``files``: a merge's digests, taken when it wrote the segment (its rows are not re-read)."""
    from jupyter_guard.duck import own_connection

    from . import seal
    from .chainsql import limit_memory, unlinked_within
    from .segments import segment_dir

    key = seal.load_key()
    if key is None:
        return False
    folder = segment_dir(published)
    con = own_connection(":memory:")
    try:
        now = seal.digest(folder, name)   # before the rows are read: what is sealed is read
        if files is not None and now != files:
            return False   # a merge's output changed since it was written
        files = now
        limit_memory(con)
        con.execute("CREATE TEMP TABLE _cut (session_id VARCHAR, seq BIGINT, hash VARCHAR)")
        (events,), = con.execute(
            f"SELECT count(*) FROM {_q(folder / f'{name}.events.parquet')}").fetchall()
        parts = _parts(con, published, folder, key, inputs or [name])
        if sum(p[2] for p in parts) != events or unlinked_within(con, parts):
            return False
    except (duckdb.Error, OSError):   # unreadable or gone (merged away): verify re-hashes it
        return False
    finally:
        con.close()
    seal.add(published, key, [seal.Seal(name, int(events), files)])
    return True


def _parts(con: duckdb.DuckDBPyConnection, published: Path, folder: Path, key: bytes,
           names: list[str]) -> list[tuple[str, str, int, bool]]:
    """The chain check's parts for ``names``: sealed (and unchanged) ones as spans."""
    from . import seal

    counts = {n: int(con.execute(f"SELECT count(*) FROM {_q(folder / f'{n}.events.parquet')}"
                                 ).fetchall()[0][0]) for n in names}
    valid, _ = seal.read(published, key)
    good, _ = seal.check(folder, counts, valid)
    return [(_q(folder / f"{n}.events.parquet"), _q(folder / f"{n}.lineage.parquet"),
             counts[n], n in good) for n in names]
