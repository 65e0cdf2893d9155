"""Seals: a segment checked once is not re-hashed again while its files are unchanged.

A seal in ``<audit>.seals.jsonl`` holds a segment's name, its event count, the SHA-256 of its two
files (taken *before* its rows were read) and an HMAC-SHA256 of those under ``audit.seal.key``
(32 random bytes, 0600, beside the authority's key in the Jupyter data folder: a file the guard
refuses to open from a cell). The writer of a segment seals it once its rows check
(``seal_write.py``), and a ``verify`` that passed seals what it re-hashed. ``verify`` hashes each
sealed segment's files (sequential reads, SHA-NI):

- unchanged: its rows are not re-hashed; each session's first and last event in it are linked to
  the parts around it (``chainsql.hash_rows``);
- changed: ``edited`` (a segment is never rewritten in place: a merge or prune writes a new one),
  and its rows are re-hashed to name the events;
- a seal whose MAC does not check (written by hand, or under another key) is ignored and the
  segment is re-hashed, so a forged seal saves its forger nothing.

``verify --full`` ignores every seal. In local mode the key is the user's like every file (see
``docs/threat-model.md``): a seal stops a segment rewritten with a recomputed chain only for
someone who cannot read the key.
"""
from __future__ import annotations

import contextlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from .segments import digest as digest

KEY_NAME = "audit.seal.key"


@dataclass(frozen=True)
class Seal:
    name: str
    events: int
    files: tuple[str, str]      # SHA-256 of the events and lineage files


def key_path() -> Path:
    """``JUPYTER_GUARD_SEAL_KEY_FILE``, else ``audit.seal.key`` beside the authority's key."""
    explicit = os.environ.get("JUPYTER_GUARD_SEAL_KEY_FILE", "").strip()
    if explicit:
        return Path(os.path.expanduser(explicit))
    from jupyter_guard.authority_files import paths

    return Path(os.path.dirname(paths()[0])) / KEY_NAME


def load_key(create: bool = True) -> bytes | None:
    """The seal key, made on first use; None when it can be neither read nor made."""
    path = key_path()
    try:
        data = path.read_bytes()
        return data if len(data) >= 32 else None
    except FileNotFoundError:
        if not create:
            return None
    except OSError:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:   # another verify made it first
        return load_key(create=False)
    except OSError:
        return None
    with os.fdopen(fd, "wb") as f:
        f.write(secrets.token_bytes(32))
    return load_key(create=False)


def log_path(audit: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(audit)}.seals.jsonl")


def _mac(key: bytes, s: Seal) -> str:
    return hmac.digest(key, f"{s.name}\n{s.events}\n{s.files[0]}\n{s.files[1]}".encode(),
                       "sha256").hex()


def read(audit: str | os.PathLike[str], key: bytes) -> tuple[dict[str, Seal], int]:
    """Valid seals by segment name, and how many lines were not valid seals."""
    try:
        text = log_path(audit).read_text(errors="replace")
    except OSError:
        return {}, 0
    seals: dict[str, Seal] = {}
    bad = 0
    for line in text.splitlines():
        try:
            d = json.loads(line)
            s = Seal(str(d["name"]), int(d["events"]), (str(d["files"][0]), str(d["files"][1])))
            ok = hmac.compare_digest(_mac(key, s), str(d["mac"]))
        except (ValueError, KeyError, TypeError, IndexError):
            ok = False
        if ok:
            seals[s.name] = s
        elif line.strip():
            bad += 1
    return seals, bad


def check(folder: Path, listed: dict[str, int], seals: dict[str, Seal]
          ) -> tuple[set[str], list[str]]:
    """(segments whose seal holds: unchanged since sealed, what changed in the others)."""
    good: set[str] = set()
    changed: list[str] = []
    for name, events in sorted(listed.items()):
        s = seals.get(name)
        if s is None:
            continue
        try:
            now = digest(folder, name)
        except OSError:
            continue   # a missing file is named by the catalog's list
        if now == s.files and events == s.events:
            good.add(name)
        else:
            what = "its files changed" if now != s.files else (
                f"the catalog lists {events} events, {s.events} were sealed")
            changed.append(f"segment {name}: {what} since it was sealed")
    return good, changed


def add(audit: str | os.PathLike[str], key: bytes, new: list[Seal]) -> None:
    """Add seals to the log (a writer's new segment, or what a passing ``verify`` re-hashed).

    Under ``<audit>.seals.lock``, the log is read again and rewritten (atomic replace) with its
    valid seals whose segment files are still on disk and the new ones: writers and ``verify``
    may add seals at the same time without losing one."""
    from .segments import segment_dir
    from .store import hold

    folder = segment_dir(audit)
    with hold(Path(f"{os.fspath(audit)}.seals.lock"), wait=30.0) as got:
        if not got:
            return   # only saves time: what is not sealed is re-hashed by the next verify
        kept, _ = read(audit, key)
        for s in new:
            kept[s.name] = s
        lines = [json.dumps({"name": s.name, "events": s.events, "files": list(s.files),
                             "mac": _mac(key, s)}) for s in kept.values()
                 if (folder / f"{s.name}.events.parquet").exists()]
        target = log_path(audit)
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        try:
            tmp.write_text("".join(x + "\n" for x in lines))
            os.replace(tmp, target)
        except OSError:   # only saves time: verify re-hashes what it could not seal
            with contextlib.suppress(OSError):
                tmp.unlink()
