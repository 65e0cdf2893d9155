"""Local tamper forms that the chain heads kept beside the store reveal, even after the next
ingest (every CLI command ingests first): a whole session deleted from the store, a truncated
tail, a chain recomputed after an edit with its journal gone. The heads file itself is the
subject's too: editing it as well is not detected in local mode (see the threat model)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from record_helpers import cell

from jupyter_guard.record import AuditLog, ingest, verify
from jupyter_guard.record.chain import chain_hash
from jupyter_guard.record.ingest import load_rows
from jupyter_guard.record.journal import ingested_dir


@pytest.fixture
def two(audit: Path) -> tuple[str, str]:
    sids = []
    for _ in range(2):
        log = AuditLog(audit, background=False)
        for i in range(1, 6):
            cell(log, i)
        sids.append(log.session_id)
        log.close()
    assert verify(audit).ok
    return sids[0], sids[1]


def _sql(audit: Path, *statements: str, params: list | None = None) -> None:
    con = duckdb.connect(str(audit))
    for s in statements:
        con.execute(s, params or [])
    con.close()


def _cli_verify(audit: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jupyter_guard.cli", "verify"],
                          env={**os.environ, "JUPYTER_GUARD_AUDIT": str(audit)},
                          capture_output=True, text=True, timeout=120)


def test_a_whole_session_deleted_with_its_journal_is_named(audit: Path, two) -> None:
    victim, _ = two
    _sql(audit, "DELETE FROM lineage_live WHERE event_id IN (SELECT event_id FROM events_live "
                "WHERE session_id = ?)", "DELETE FROM events_live WHERE session_id = ?",
         "DELETE FROM sessions WHERE session_id = ?", params=[victim])
    (ingested_dir(audit) / f"{victim}.jsonl").unlink()
    out = _cli_verify(audit)     # ingests first, which rewrites the heads
    assert out.returncode == 1 and victim in out.stderr and "gone" in out.stderr, out.stderr
    result = verify(audit)
    assert not result.ok and result.problems[0].session_id == victim


def test_a_truncated_tail_is_named(audit: Path, two) -> None:
    victim, _ = two
    reader = duckdb.connect(str(audit), read_only=True)
    (h3,), = reader.execute("SELECT hash FROM events WHERE session_id = ? AND seq = 3",
                            [victim]).fetchall()
    reader.close()
    _sql(audit, "DELETE FROM events_live WHERE session_id = ? AND seq > 3", params=[victim])
    _sql(audit, "UPDATE sessions SET last_seq = 3, last_hash = ? WHERE session_id = ?",
         params=[h3, victim])
    (ingested_dir(audit) / f"{victim}.jsonl").unlink()
    ingest(audit)
    result = verify(audit)
    assert not result.ok
    first = result.problems[0]
    assert (first.session_id, first.what, first.seq) == (victim, "deleted", 5), result.problems


def test_a_recomputed_chain_without_its_journal_is_named(audit: Path, two) -> None:
    victim, _ = two
    con = duckdb.connect(str(audit))
    con.execute("UPDATE events_live SET user_name = 'mallory' WHERE session_id = ? AND seq = 2",
                [victim])
    prev = ""
    for row in load_rows(con, "session_id = ? ORDER BY seq", [victim], table="events_live",
                         lineage_table="lineage_live"):
        row["prev_hash"] = prev
        prev = chain_hash(prev, row)
        con.execute("UPDATE events_live SET prev_hash = ?, hash = ? WHERE event_id = ?",
                    [row["prev_hash"], prev, row["event_id"]])
    con.execute("UPDATE sessions SET last_hash = ? WHERE session_id = ?", [prev, victim])
    con.close()
    (ingested_dir(audit) / f"{victim}.jsonl").unlink()
    ingest(audit)
    result = verify(audit)
    assert not result.ok
    assert any(p.session_id == victim and p.what == "edited" and "recomputed" in p.detail
               for p in result.problems), result.problems


def test_an_untouched_store_stays_clean_across_many_ingests(audit: Path, two) -> None:
    log = AuditLog(audit, background=False)
    for i in range(1, 4):
        cell(log, i)
        ingest(audit)
    log.close()
    assert not list(audit.parent.glob(f"{audit.name}.tampered-*"))
    assert verify(audit).ok
