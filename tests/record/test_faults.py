"""Journal and verify faults without kernels: malformed lines, lines lost beyond the memory bound
on a full disk (a real tmpfs), a rebuild whose journals are gone."""
from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from record_helpers import cell

from jupyter_guard.record import AuditLog, ingest, journal, verify
from tests.conftest import mounted_tmpfs


@pytest.fixture()
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    yield from mounted_tmpfs(tmp_path / "mnt", "16m")


def test_a_wrong_typed_journal_line_is_reported_not_a_crash(audit: Path) -> None:
    log = AuditLog(audit, background=False)
    for i in range(3):
        cell(log, i)
    ingest(audit)
    path = Path(log.journal_path)
    lines = path.read_bytes().splitlines()
    end = next(i for i, raw in enumerate(lines) if json.loads(raw).get("t") == "end")
    bad = json.loads(lines[end])
    bad["seq"] = "one"
    lines[end] = json.dumps(bad).encode()
    path.write_bytes(b"\n".join(lines) + b"\n")
    res = verify(audit)
    assert not res.ok and any(p.what == "malformed" for p in res.problems)
    assert "wrong type" in str(res.problems[0]) or any("wrong type" in str(p) for p in res.problems)
    log.close()


def test_lines_beyond_the_memory_bound_are_counted_as_lost_not_tampering(
        tmpfs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal, "LIMIT", 2048)
    audit = tmpfs / "audit.duckdb"
    log = AuditLog(audit, background=False)
    cell(log, 0)
    filler = tmpfs / "filler"
    with contextlib.suppress(OSError), open(filler, "wb") as f:
        while True:
            f.write(b"\0" * 65536)
            f.flush()
    for i in range(1, 40):
        cell(log, i)
    assert log.failure and "No space" in log.failure
    filler.unlink()
    assert log.retry() and not log.failure
    log.close()
    ingest(audit)
    res = verify(audit)
    assert not res.ok and {p.what for p in res.problems} == {"lost"}, res.problems
    assert "an outage, not an edit" in str(res.problems[0])


def test_a_rebuilt_store_whose_journals_are_gone_fails_verify(audit: Path) -> None:
    for n in range(2):
        log = AuditLog(audit, background=False, session_id=f"s{n}")
        for i in range(3):
            cell(log, i)
        log.close()
    ingest(audit)
    assert verify(audit).ok
    for j in journal.ingested_dir(audit).glob("s0.jsonl"):
        j.unlink()
    audit.unlink()
    ingest(audit)            # rebuilt from what is left
    res = verify(audit)
    assert not res.ok and "session s0" in str(res) and "lost" in str(res)


def test_a_dead_writers_fallback_journal_comes_home(audit: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import sys

    from jupyter_guard.record import health

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    code = ("import os, sys\nsys.path.insert(0, sys.argv[2])\nfrom record_helpers import cell\n"
            "from jupyter_guard.record import AuditLog\n"
            "log = AuditLog(sys.argv[1], background=False, session_id='gone')\n"
            "for i in range(4):\n    cell(log, i)\nos._exit(0)")
    subprocess.run([sys.executable, "-c", code, str(audit), str(Path(__file__).parent)],
                   check=True, env={**os.environ}, timeout=120)
    spare = journal.fallback_dir(audit)
    spare.mkdir(parents=True)
    home = journal.journal_dir(audit) / "gone.jsonl"
    os.replace(home, spare / "gone.jsonl")       # as if the folder was not writable then
    assert "fallback" in health.staleness(audit)
    ingest(audit)
    assert not (spare / "gone.jsonl").exists() and health.staleness(audit) == ""
    res = verify(audit)
    assert res.ok and res.checked == 4, res


def test_a_deleted_audit_folder_is_detected_by_the_heads_kept_outside(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from jupyter_guard.record.health import heads_copy

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    audit = tmp_path / "guard" / "audit.duckdb"
    for n in range(2):
        log = AuditLog(audit, background=False, session_id=f"s{n}")
        for i in range(3):
            cell(log, i)
        log.close()
    ingest(audit)
    assert verify(audit).ok and heads_copy(audit).is_file()
    assert not str(heads_copy(audit)).startswith(str(audit.parent))
    shutil.rmtree(audit.parent)          # the store, its heads, journals and ingested journals
    ingest(audit)                        # a new, empty store
    res = verify(audit)
    found = " ".join(map(str, res.problems))
    assert not res.ok and "session s0" in found and "session s1" in found, res
    # twin: a store that never existed before starts clean
    fresh = tmp_path / "other" / "audit.duckdb"
    log = AuditLog(fresh, background=False, session_id="t0")
    cell(log, 0)
    log.close()
    ingest(fresh)
    assert verify(fresh).ok


@pytest.mark.parametrize("forge", [
    pytest.param(lambda b: b.pop("ts_us"), id="no-ts_us"),
    pytest.param(lambda b: b.pop("user_name"), id="no-user_name"),
    pytest.param(lambda b: b.update(status=None), id="null-status"),
    pytest.param(lambda b: b.update(lineage=[["read", None, "t", True], "x"]), id="bad-lineage"),
    pytest.param(lambda b: b.update(lineage={"read": "t"}), id="lineage-not-a-list"),
])
def test_a_begin_line_missing_what_the_store_needs_is_a_bad_line_not_a_blocker(
        audit: Path, forge: Any) -> None:
    """Such a line once made every copy-on-write ingest of its journal fail, for good."""
    from jupyter_guard.record import connect_readonly

    def stored() -> tuple[int, int]:
        con = connect_readonly(audit)
        try:
            (n,), = con.execute("SELECT count(*) FROM events").fetchall()
            (bad,), = con.execute("SELECT coalesce(sum(bad_lines), 0) FROM sessions").fetchall()
            return int(n), int(bad)
        finally:
            con.close()

    log = AuditLog(audit, background=False)
    cell(log, 1)
    ingest(audit)
    path = Path(log.journal_path)
    begin = json.loads(next(raw for raw in path.read_bytes().splitlines()
                            if json.loads(raw).get("t") == "begin"))
    begin["event_id"] = "f" * 32
    forge(begin)
    with open(path, "ab") as f:
        f.write(json.dumps(begin).encode() + b"\n")
    cell(log, 2)
    ingest(audit)
    n, bad = stored()
    assert n in (2, 3) and (bad == 1 or n == 3), (n, bad)   # kept, or taken without its junk
    cell(log, 3)
    ingest(audit)
    assert stored()[0] == n + 1   # the journal's next events still come in
    log.close()


def test_thousands_of_junk_files_in_the_journal_folder_are_booked_at_once(
        audit: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """3,000 files that hold no journal line once took the closing ingest minutes (one
    ingest each); they are booked together, and a real journal beside them, one whose key is
    spelled with an escape included, is still ingested line by line."""
    import importlib

    from jupyter_guard.record import connect_readonly

    ingest_module = importlib.import_module("jupyter_guard.record.ingest")
    from jupyter_guard.record.journal import journal_dir

    log = AuditLog(audit, background=False)
    cell(log, 1)
    ingest(audit)
    folder = journal_dir(audit)
    for i in range(3000):
        body = [b"", b"not json\n", b"x\ny\nz", b"[1, 2]\n{\"a\": 1}\n"][i % 4]
        (folder / f"junk{i:04}.jsonl").write_bytes(body)
    raw = Path(log.journal_path).read_bytes().splitlines()
    begin = json.loads(next(x for x in raw if json.loads(x).get("t") == "begin"))
    begin.update(event_id="e" * 32, session_id="escaped", seq=None, status="running")
    escaped = json.dumps(begin).replace('"t"', '"\\u0074"', 1)
    (folder / "escaped.jsonl").write_text(escaped + "\n")
    cell(log, 2)
    calls: list[str] = []
    real = ingest_module._ingest_journal
    monkeypatch.setattr(ingest_module, "_ingest_journal",
                        lambda con, j: calls.append(j.name) or real(con, j))
    log.close()   # the closing ingest
    assert sorted(calls) == sorted([Path(log.journal_path).name, "escaped.jsonl"]), calls[:5]
    con = connect_readonly(audit)
    try:
        ids = {r[0] for r in con.execute("SELECT event_id FROM events").fetchall()}
        booked = dict(con.execute("SELECT journal, bad_lines FROM sessions WHERE journal "
                                  "LIKE 'junk%'").fetchall())
        offsets = dict(con.execute("SELECT journal, byte_offset FROM sessions WHERE journal "
                                   "LIKE 'junk%'").fetchall())
    finally:
        con.close()
    assert "e" * 32 in ids and len(ids) == 3   # both cells and the escaped line's event
    assert len(booked) == 3000
    assert [booked[f"junk{i:04}.jsonl"] for i in range(4)] == [0, 1, 2, 2]
    assert [offsets[f"junk{i:04}.jsonl"] for i in range(4)] == [0, 9, 4, 16]
    calls.clear()
    ingest(audit)   # nothing new: none of them is looked at again
    assert calls == []


def test_a_file_whose_last_line_has_no_newline_does_not_keep_every_ingest_busy(
        audit: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A junk file ending in a partial line (and a journal whose writer is mid-line) leaves the
    store up to date: the next ingest takes no lock and reads nothing. Bytes added to either
    are read at the next ingest: the completed line's event is stored."""
    import importlib

    from jupyter_guard.record import connect_readonly
    from jupyter_guard.record.health import staleness
    from jupyter_guard.record.journal import journal_dir

    ingest_module = importlib.import_module("jupyter_guard.record.ingest")
    log = AuditLog(audit, background=False)
    cell(log, 1)
    ingest(audit)
    folder = journal_dir(audit)
    (folder / "junk.jsonl").write_bytes(b"hello\nno newline at the end")
    line = json.loads(next(x for x in Path(log.journal_path).read_bytes().splitlines()
                           if json.loads(x).get("t") == "begin"))
    line.update(event_id="f" * 32, session_id="torn", seq=None, status="running")
    text = json.dumps(line).encode()
    (folder / "torn.jsonl").write_bytes(text[:40])   # a writer mid-line
    ingest(audit)
    ingest(audit)
    assert ingest_module._nothing_new(audit)
    locks: list[object] = []
    real = ingest_module.store_lock
    monkeypatch.setattr(ingest_module, "store_lock",
                        lambda *a, **k: locks.append(a) or real(*a, **k))
    assert ingest(audit) == 0 and locks == []   # up to date: no lock, no journal read
    assert staleness(audit) == ""   # every complete line is in: `report` does not say STALE
    with open(folder / "torn.jsonl", "ab") as f:   # the writer finishes its line
        f.write(text[40:] + b"\n")
    assert not ingest_module._nothing_new(audit)
    assert "1 journal(s) hold events not yet in" in staleness(audit)
    ingest(audit)
    assert locks, "the completed line was ingested under the lock"
    con = connect_readonly(audit)
    try:
        ids = {r[0] for r in con.execute("SELECT event_id FROM events").fetchall()}
    finally:
        con.close()
    assert "f" * 32 in ids and len(ids) == 2
    log.close()
