"""The chain heads kept beside the store are a log: an ingest appends the heads it moved (its cost
follows the new events, not the number of sessions), a grown log is folded, and ``verify``
compares every kept head with the store's own, so a tamper is named even with no ingest since."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from record_helpers import cell

from jupyter_guard.record import AuditLog, ingest, verify
from jupyter_guard.record.health import heads_copy, heads_path, read_heads, write_heads
from jupyter_guard.record.journal import ingested_dir


@pytest.fixture(autouse=True)
def _state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def _store_heads(audit: Path) -> dict[str, list]:
    con = duckdb.connect(str(audit), read_only=True)
    try:
        return {s: [q, h] for s, q, h in con.execute(
            "SELECT session_id, last_seq, last_hash FROM sessions").fetchall()}
    finally:
        con.close()


def _sessions(audit: Path, n: int, cells: int = 2) -> list[str]:
    sids = []
    for k in range(n):
        log = AuditLog(audit, background=False, session_id=f"s{k:03d}")
        for i in range(cells):
            cell(log, i)
        log.close()
        sids.append(log.session_id)
    return sids


def test_an_ingest_appends_only_the_heads_it_moved(audit: Path) -> None:
    _sessions(audit, 30)
    ingest(audit)
    before = heads_path(audit).read_bytes()
    log = AuditLog(audit, background=False, session_id="s900")
    cell(log, 1)
    ingest(audit)
    after = heads_path(audit).read_bytes()
    assert after.startswith(before)             # appended, not rewritten
    added = after[len(before):].decode()
    assert added.count("\n") == 1 and "s900" in added and "s001" not in added
    log.close()
    assert read_heads(audit)["sessions"] == _store_heads(audit)
    assert read_heads(audit)["events"] == 31 * 2 - 1
    assert heads_copy(audit).read_bytes() == heads_path(audit).read_bytes()


def test_a_grown_log_is_folded_into_one_snapshot(audit: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyter_guard.record import health

    monkeypatch.setattr(health, "FOLD_MIN", 4096)
    write_heads(audit, [("a", 1, "h1"), ("b", 1, "h1")], 2, full=True)
    sizes = []
    for i in range(2, 1000):                    # 40 KB of appended lines
        write_heads(audit, [("a", i, f"h{i}")], i + 1)
        sizes.append(heads_path(audit).stat().st_size)
    assert max(sizes) < 4096 + 4 * 200 and sizes.index(max(sizes)) < len(sizes) - 1   # folded
    assert read_heads(audit) == {"events": 1000, "sessions": {"a": [999, "h999"],
                                                              "b": [1, "h1"]}}
    assert heads_copy(audit).read_bytes() == heads_path(audit).read_bytes()


def test_a_torn_last_line_costs_nothing_but_itself(audit: Path) -> None:
    write_heads(audit, [("a", 1, "h1")], 1, full=True)
    with open(heads_path(audit), "ab") as f:
        f.write(b'{"events": 2, "sessions": {"a": [2, "h')     # a crash mid-write
    write_heads(audit, [("b", 5, "h5")], 7)
    assert read_heads(audit) == {"events": 7, "sessions": {"a": [1, "h1"], "b": [5, "h5"]}}


def test_verify_names_a_deleted_session_with_no_ingest_since(audit: Path) -> None:
    victim, *_ = _sessions(audit, 3)
    ingest(audit)
    assert verify(audit).ok
    con = duckdb.connect(str(audit))
    for sql in ("DELETE FROM lineage_live WHERE event_id IN (SELECT event_id FROM events_live "
                "WHERE session_id = ?)", "DELETE FROM events_live WHERE session_id = ?",
                "DELETE FROM sessions WHERE session_id = ?"):
        con.execute(sql, [victim])
    con.close()
    (ingested_dir(audit) / f"{victim}.jsonl").unlink(missing_ok=True)
    res = verify(audit)           # no ingest in between: the kept heads alone name it
    assert not res.ok and res.problems[0].session_id == victim, res.problems
    assert "gone from the store" in res.problems[0].detail


def test_verify_names_a_recomputed_head_with_no_ingest_since(audit: Path) -> None:
    victim, *_ = _sessions(audit, 2)
    ingest(audit)
    con = duckdb.connect(str(audit))
    con.execute("UPDATE sessions SET last_hash = 'f00d' WHERE session_id = ?", [victim])
    con.close()
    res = verify(audit)
    assert any(p.session_id == victim and "recomputed" in p.detail for p in res.problems), res


def test_an_old_whole_heads_file_is_read_and_turned_into_a_log(audit: Path) -> None:
    sids = _sessions(audit, 2)
    ingest(audit)
    old = {"events": 4, "sessions": {sids[0]: [2, "x"], sids[1]: [2, "y"]}}
    heads_path(audit).write_text(json.dumps(old))     # the format before the log
    heads_copy(audit).unlink()
    assert read_heads(audit)["sessions"][sids[0]] == [2, "x"]
    log = AuditLog(audit, background=False, session_id="s777")
    cell(log, 1)
    log.close()
    ingest(audit)                 # compares the old file with the store, then writes a log
    assert read_heads(audit)["sessions"] == _store_heads(audit)
    assert heads_path(audit).read_text().startswith('{"heads": 2')
    res = verify(audit)           # the old heads disagreed with the store: that is named
    assert not res.ok and {p.session_id for p in res.problems} == set(sids), res.problems
