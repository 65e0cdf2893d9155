"""Faults of the audit store under real kernels: a full disk (a small tmpfs), a deleted folder, a
deleted or truncated audit file, a read-only period. In each: no event lost or silently dropped,
the user told once, and ``audit.on_failure`` applied."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from jupyter_guard.record import ingest, verify
from jupyter_guard.record.audit import AuditLog, Ingester
from jupyter_guard.record.journal import journal_dir, parse_lines
from tests.conftest import mounted_tmpfs
from tests.kernelutil import Kernel, Reply

pytestmark = pytest.mark.kernel
TOLD = "jupyter_guard: the audit journal cannot be written"
BACK = "jupyter_guard: the audit journal is writable again"


def rows(audit: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(audit), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def wait_for(cond, timeout: float = 60.0, what: str = "condition", explain=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if cond():
                return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}{explain()}")


def journals_seen(audit: Path, *more: Path) -> str:
    """What a timed-out wait saw: the cells in the store, and every journal on disk (its own
    folder, the fallback folders under ``more``) with the cells it holds."""
    out = [f"\nstore: {sorted(cells_in_store(audit)) if audit.exists() else 'absent'}"]
    found = list(journal_dir(audit).glob("*.jsonl")) + [
        j for m in more for j in m.glob("**/jupyter_guard/journals/*/*.jsonl")]
    for j in sorted(found):
        cells = [x.get("cell_id") for x in parse_lines(j.read_bytes()) if x.get("t") == "begin"]
        out.append(f"{j} ({j.stat().st_size} bytes): {cells}")
    return "\n".join(out)


def cells_in_store(audit: Path) -> dict[str, tuple[str, str, str]]:
    return {c: (d, r, s) for c, d, r, s in rows(
        audit, "SELECT cell_id, decision, rule_id, status FROM events WHERE cell_id <> ''")}


class Session:
    def __init__(self, k: Kernel, prefix: str) -> None:
        self.k, self.n, self.sent, self.out, self.prefix = k, 0, [], [], prefix

    def run(self, code: str) -> Reply:
        self.n += 1
        cid = f"{self.prefix}{self.n}"
        r = self.k.run(code, metadata={"cellId": cid})
        self.sent.append(cid)
        self.out.append(r.text)
        return r

    def told(self, words: str) -> int:
        return sum(t.count(words) for t in self.out)


@pytest.fixture()
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    yield from mounted_tmpfs(tmp_path / "mnt", "24m")


def fill(mnt: Path) -> Path:
    filler = mnt / "filler"
    with open(filler, "wb") as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 65536)
            f.flush()
    return filler


def start(cwd: Path, audit: Path, policy: str = "", prefix: str = "c") -> Session:
    env = {"JUPYTER_GUARD_AUDIT": str(audit), "XDG_STATE_HOME": str(cwd / "state")}
    if policy:
        (cwd / "policy.yaml").write_text(policy)
        env["JUPYTER_GUARD_POLICY"] = str(cwd / "policy.yaml")
    k = Kernel(cwd, env)
    assert k.run("%load_ext jupyter_guard").status == "ok"
    return Session(k, prefix)


@pytest.mark.parametrize("on_failure", ["refuse", "warn"])
def test_a_full_disk_loses_nothing_tells_once_and_applies_on_failure(tmpfs: Path, tmp_path: Path,
                                                                      on_failure: str):
    audit = tmpfs / "guard" / "audit.duckdb"
    s = start(tmp_path, audit, f"extends: default\naudit: {{on_failure: {on_failure}}}\n")
    try:
        for i in range(3):
            assert s.run(f"before{i} = {i}").status == "ok"
        wait_for(lambda: len(cells_in_store(audit)) >= 3, what="first ingest")
        filler = fill(tmpfs)
        results = [s.run(f"during{i} = {i}") for i in range(40)]
        failed_at = next((i for i, r in enumerate(results) if TOLD in r.text), None)
        assert failed_at is not None, "the journal never failed on a full disk"
        assert s.told(TOLD) == 1                       # told once
        later = results[failed_at:]
        if on_failure == "refuse":
            assert all(r.status == "error" and "guard-error" in r.text for r in later)
        else:
            assert all(r.status == "ok" for r in later)
        # no half-written ingest copy keeps the disk full
        wait_for(lambda: not list(audit.parent.glob(".audit.duckdb.tmp-*")), 30, "no temp copy")
        filler.unlink()
        after = s.run("after = 1")
        assert after.status == "ok" and s.told(BACK) == 1
        ran = s.run("print([n for n in dir() if n.startswith('during')])")
        names = json.loads(ran.text.strip().replace("'", '"'))
        if on_failure == "refuse":   # no audit, no execution
            assert sorted(names) == sorted(f"during{i}" for i in range(failed_at))
        else:
            assert len(names) == 40
        wait_for(lambda: set(s.sent) <= set(cells_in_store(audit)), 60, "every event ingested")
        stored = cells_in_store(audit)
        assert len(rows(audit, "SELECT event_id FROM events WHERE cell_id <> ''")) == len(s.sent)
        for i in range(failed_at, 40):
            cid = f"c{4 + i}"
            status = stored[cid][2]
            assert status == ("blocked" if on_failure == "refuse" else "ok"), (cid, stored[cid])
        assert verify(audit).ok, verify(audit)
    finally:
        s.k.stop()


def test_a_deleted_audit_folder_is_written_again_whole(tmp_path: Path):
    audit = tmp_path / "guard" / "audit.duckdb"
    s = start(tmp_path, audit)
    try:
        for i in range(3):
            assert s.run(f"a{i} = {i}").status == "ok"
        wait_for(lambda: len(cells_in_store(audit)) >= 3, what="first ingest")
        shutil.rmtree(audit.parent)
        for i in range(3):
            assert s.run(f"b{i} = {i}").status == "ok"
        # the writer looks for its journal's name at most every 0.2 s: on a loaded machine the
        # three cells can all come before that look, and the user is told at the next cell
        deadline = time.monotonic() + 30
        while not s.told("the audit journal was deleted") and time.monotonic() < deadline:
            assert s.run("c = 0").status == "ok"
        assert s.told("the audit journal was deleted") == 1
        wait_for(lambda: set(s.sent) <= set(cells_in_store(audit)), 60, "every event ingested")
        assert len(rows(audit, "SELECT event_id FROM events WHERE cell_id <> ''")) == len(s.sent)
        assert verify(audit).ok
    finally:
        s.k.stop()


def test_a_deleted_or_truncated_audit_file_is_rebuilt_and_verify_tells_what_is_gone(
        tmp_path: Path):
    audit = tmp_path / "guard" / "audit.duckdb"
    first = start(tmp_path, audit, prefix="first")
    for i in range(4):
        assert first.run(f"x{i} = {i}").status == "ok"
    first.k.stop()                                  # a closed session: its journal is ingested
    ingest(audit)
    closed = set(first.sent)
    s = start(tmp_path, audit)
    try:
        for i in range(3):
            assert s.run(f"y{i} = {i}").status == "ok"
        wait_for(lambda: set(s.sent) <= set(cells_in_store(audit)), 60, "ingest")
        audit.unlink()                              # deleted
        assert s.run("z = 1").status == "ok"
        wait_for(lambda: audit.exists() and len(cells_in_store(audit)) >= 8, 60, "rebuild")
        assert closed <= set(cells_in_store(audit))
        size = audit.stat().st_size
        with open(audit, "r+b") as f:               # truncated
            f.truncate(size // 3)
        env = {k: v for k, v in os.environ.items() if k != "JUPYTER_GUARD_KERNEL"}
        cli = [sys.executable, "-m", "jupyter_guard.cli", "--audit", str(audit)]
        rep = subprocess.run(cli + ["report"], capture_output=True, text=True, env=env, timeout=120)
        assert rep.returncode in (0, 3) and "Traceback" not in rep.stderr, rep.stderr
        assert closed <= set(cells_in_store(audit)) and len(cells_in_store(audit)) >= 8
        assert list(audit.parent.glob("audit.duckdb.corrupt-*"))
        ok = subprocess.run(cli + ["verify"], capture_output=True, text=True, env=env, timeout=120)
        assert ok.returncode == 0 and "rebuilt" in ok.stderr, ok.stderr
        # where the journals cannot give events back, verify fails loudly
        for j in (audit.parent / "audit.duckdb.journal" / "ingested").glob("*.jsonl"):
            j.unlink()
        audit.unlink()
        assert s.run("w = 1").status == "ok"
        wait_for(lambda: audit.exists() and "first1" not in cells_in_store(audit), 60, "rebuild")
        bad = subprocess.run(cli + ["verify"], capture_output=True, text=True, env=env,
                             timeout=120)
        assert bad.returncode == 1 and "lost" in bad.stderr and "Traceback" not in bad.stderr
        fix = subprocess.run(cli + ["repair"], capture_output=True, text=True, env=env,
                             timeout=120)
        assert fix.returncode == 0 and "rebuilt" in fix.stdout
    finally:
        s.k.stop()


def test_a_read_only_period_is_not_tampering(tmpfs: Path, tmp_path: Path):
    audit = tmpfs / "guard" / "audit.duckdb"
    s = start(tmp_path, audit)
    try:
        assert s.run("a = 1").status == "ok"
        wait_for(lambda: len(cells_in_store(audit)) >= 1, what="first ingest")
        ro = subprocess.run(["mount", "--bind", "-o", "ro", str(tmpfs), str(tmpfs)],
                            capture_output=True, text=True)
        if ro.returncode != 0:
            pytest.skip(f"cannot bind-mount read-only here ({ro.stderr.strip()})")
        try:
            for i in range(3):
                assert s.run(f"ro{i} = {i}").status == "ok"
            (tmp_path / "late").mkdir()
            late = start(tmp_path / "late", audit, prefix="late")
            r = late.run("late = 1")
            assert r.status == "ok" and late.told("moved to") == 1   # a fallback, said once
        finally:
            subprocess.run(["umount", str(tmpfs)], capture_output=True)
        assert late.run("late2 = 2").status == "ok"
        assert s.run("back = 1").status == "ok"
        want = {f"c{n}" for n in range(1, 6)} | {"late1", "late2"}
        # no cell runs from here: the late kernel's journal, back home from the fallback folder,
        # is ingested by its own ingest thread (it once took it for done: same size as there)
        wait_for(lambda: want <= set(cells_in_store(audit)), 60, "every event ingested",
                 explain=lambda: journals_seen(audit, tmp_path))
        assert len(rows(audit, "SELECT event_id FROM events WHERE cell_id <> ''")) == 7
        result = verify(audit)
        assert result.ok, result
        late.k.stop()
    finally:
        s.k.stop()


def test_a_journal_back_from_the_fallback_is_ingested_without_another_cell(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The ingest never reads a live writer's fallback copy; when that copy comes home with the
    size it had there, the ingest thread must still see something new (it once compared sizes
    only, and the events waited for the session's next cell, for good in an idle one)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    audit = tmp_path / "guard" / "audit.duckdb"
    audit.parent.mkdir()
    journal_dir(audit).write_text("")   # a file where the journal folder goes: it falls back
    log = AuditLog(audit, background=False)
    try:
        eid = log.begin(user="u", actor="human", notebook="", cell_id="away", execution_count=1,
                        kind="python", code="x = 1", decision="allow", rule_id="", reason="")
        log.finish(eid, status="ok", duration_ms=1.0)
        assert "moved to" in log.take_notice()
        journal_dir(audit).unlink()          # the folder can be made again
        ingester = Ingester(os.fspath(audit), log.progress, interval=0.1)
        ingester.tick()   # the round before the writer moves home: nothing of it is read
        assert ingester.last_error == "" and "away" not in cells_in_store(audit)
        home = journal_dir(audit) / f"{log.session_id}.jsonl"
        wait_for(lambda: log.retry() and home.exists(), 30, "the journal back home")
        ingester.tick()   # no new line: only the move says there is something to ingest
        assert ingester.last_error == ""
        assert set(cells_in_store(audit)) == {"away"}, journals_seen(audit, tmp_path)
    finally:
        log.close()
