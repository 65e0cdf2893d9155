"""The ingest hint, ``<audit>.ingested.json``: each journal's ingested offset and state, the
published file's stamp, and the approved requests. Read without opening DuckDB: a no-op ingest
is skipped by it, an unchanged journal costs no SQL, and a refused cell learns from it that no
approval can let it run."""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import duckdb

from .journal import writer_alive

_PUBLISHED = "__published__"
_APPROVED = "__approved__"


def _stamp(path: Path) -> list[int]:
    try:
        st = path.stat()
    except OSError:
        return []
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def hint_path(path: str | os.PathLike[str]) -> Path:
    """A small JSON of ingested offsets, read without opening DuckDB to skip no-op ingests."""
    return Path(f"{os.fspath(path)}.ingested.json")


def _up_to_date(path: Path, journals: list[Path]) -> bool:
    hint = read_hint(path)
    if hint.get(_PUBLISHED) != _stamp(path):
        return False   # the published file changed since (replaced, truncated, deleted)
    for journal in journals:
        known = hint.get(journal.name)
        if not known or _seen(known) != journal.stat().st_size:
            return False
        if known["running"] and not writer_alive(known["head"]):
            return False
    return path.exists()


def _seen(known: dict[str, Any]) -> Any:
    """The journal's size when it was last read: past ``offset`` by a last line with no newline
    (a line being written, or a junk file's tail), which new bytes would change."""
    return known.get("seen", known.get("offset"))


def _unchanged(known: Any, journal: Path) -> bool:
    """The hint's state of a journal still holds: no new bytes, and not a running session whose
    writer is gone (its running events are then completed as ``interrupted``)."""
    if not isinstance(known, dict) or known.get("ended"):
        return False
    try:
        if _seen(known) != journal.stat().st_size:
            return False
    except OSError:
        return False
    return not (known.get("running") and not writer_alive(known.get("head") or {}))


def approved_now(con: duckdb.DuckDBPyConnection) -> list[list[Any]]:
    """``[user, code_sha256, expires (epoch s)]`` of every approved request in the store."""
    return [list(r) for r in con.execute("SELECT requested_by, code_sha256, epoch(expires_at) "
                                         "FROM approvals WHERE status = 'approved'").fetchall()]


def write_hint(published: Path, hint: dict[str, Any], approved: list[list[Any]]) -> None:
    """Publish the hint: journal offsets, the store's stamp, and the approved requests (so a
    refused cell learns without opening DuckDB that no approval can let it run)."""
    hint = {**hint, _PUBLISHED: _stamp(published), _APPROVED: approved}
    tmp = hint_path(published).with_suffix(".tmp")
    try:
        tmp.write_text(json.dumps(hint))
        os.replace(tmp, hint_path(published))
    except OSError:   # only a hint: the next ingest checks the journals itself
        with contextlib.suppress(OSError):
            tmp.unlink()


def read_hint(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        hint = json.loads(hint_path(path).read_text())
    except (OSError, ValueError):
        return {}
    return hint if isinstance(hint, dict) else {}
