"""``verify --incremental``: segments verified before, unchanged since, are not read again.

After a ``verify`` that passed, ``<audit>.verified.json`` keeps each segment it covered with the
SHA-256 of its two files, and each session's last ``seq`` and hash in them. The next incremental
run hashes the files (fast, sequential reads): when every covered segment is still listed and
unchanged, their rows are skipped and the chains continue from those heads; live rows and new
segments are always checked. Any change (a segment merged, pruned or edited) means a full run.
Like the store itself, the file is the subject's to edit in local mode: it saves time, it is
not evidence.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .segments import segment_dir


@dataclass(frozen=True)
class Checkpoint:
    segments: dict[str, str]                 # name -> digest of its files
    heads: dict[str, tuple[int, str]]        # session -> (seq, hash) at the end of them
    events: int                              # rows in them


def checkpoint_path(path: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(path)}.verified.json")


def digest(path: Path, name: str) -> str:
    h = hashlib.sha256()
    for kind in ("events", "lineage"):
        with open(segment_dir(path) / f"{name}.{kind}.parquet", "rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
    return h.hexdigest()


def load_checkpoint(con: duckdb.DuckDBPyConnection, path: Path) -> Checkpoint | None:
    try:
        data = json.loads(checkpoint_path(path).read_text())
        point = Checkpoint(dict(data["segments"]),
                           {s: (int(q), str(h)) for s, (q, h) in data["heads"].items()},
                           int(data["events"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    listed = {n for (n,) in con.execute("SELECT name FROM segments").fetchall()}
    try:
        if not set(point.segments) <= listed or any(
                digest(path, n) != d for n, d in point.segments.items()):
            return None
    except OSError:
        return None
    return point


def save_checkpoint(con: duckdb.DuckDBPyConnection, path: Path, read: list[str],
                    before: Checkpoint | None) -> None:
    """Cover the segments this run read (and those the previous checkpoint covered)."""
    segments = dict(before.segments) if before else {}
    heads = dict(before.heads) if before else {}
    events = before.events if before else 0
    if read:
        folder = segment_dir(path).resolve()
        files = ", ".join("'" + os.fspath(folder / f"{n}.events.parquet").replace("'", "''")
                          + "'" for n in read)
        for sid, seq, h, n in con.execute(f"""SELECT session_id, max(seq), arg_max(hash, seq),
                count(*) FROM read_parquet([{files}], union_by_name = true)
                WHERE seq IS NOT NULL GROUP BY 1""").fetchall():
            heads[sid] = max(heads.get(sid, (0, "")), (int(seq), str(h)))
            events += int(n)
        try:
            segments.update({n: digest(path, n) for n in read})
        except OSError:
            return
    target = checkpoint_path(path)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(json.dumps({"segments": segments, "events": events,
                                   "heads": {s: list(v) for s, v in heads.items()}}))
        os.replace(tmp, target)
    except OSError:   # only saves time next run
        with contextlib.suppress(OSError):
            tmp.unlink()
