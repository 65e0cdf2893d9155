"""Sealed segments: the published file stays small, the views see every event, verify checks
the segments, journals go once sealed, a lost catalog is rebuilt from segments and journals."""
from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pytest
from record_helpers import cell

from jupyter_guard.record import AuditLog, connect_readonly, ingest, segments, verify
from jupyter_guard.record.chainsql import flagged_sessions
from jupyter_guard.record.journal import ingested_dir


@pytest.fixture(autouse=True)
def small_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_GUARD_AUDIT_SEGMENT", "4")


def rows(audit: Path, sql: str) -> list[tuple]:
    con = connect_readonly(audit)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def sessions(audit: Path, n: int, cells: int, **kw: object) -> list[str]:
    ids = []
    for _ in range(n):
        log = AuditLog(audit, background=False)
        ids += [cell(log, i, **kw) for i in range(1, cells + 1)]
        log.close()
    return ids


def seg_files(audit: Path) -> list[Path]:
    return sorted(segments.segment_dir(audit).glob("seg-*.events.parquet"))


def test_final_events_are_sealed_and_every_view_sees_them(audit: Path) -> None:
    ids = sessions(audit, 3, 5)
    assert seg_files(audit)
    assert rows(audit, "SELECT count(*) FROM events_live") < [(len(ids),)]
    assert rows(audit, "SELECT count(*), count(DISTINCT event_id) FROM events") == [(15, 15)]
    assert rows(audit, "SELECT count(*) FROM lineage") == [(45,)]
    assert rows(audit, "SELECT count(*) FROM sensitive_access") == [(15,)]
    assert rows(audit, "SELECT sum(allowed) FROM blocked_by_user_day") == [(15,)]
    assert verify(audit).ok
    sealed = {s for (s,) in rows(audit, "SELECT DISTINCT session_id FROM events_live")}
    left = {j.stem for j in ingested_dir(audit).glob("*.jsonl")}
    assert left <= sealed      # a closed session's journal goes once all its events are sealed


def test_a_reader_sees_a_consistent_store_while_it_grows(audit: Path) -> None:
    sessions(audit, 2, 5)
    reader = duckdb.connect(str(audit), read_only=True)
    try:
        before = reader.execute("SELECT count(*) FROM events").fetchall()
        sessions(audit, 2, 5)
        assert reader.execute("SELECT count(*) FROM events").fetchall() == before
    finally:
        reader.close()
    assert rows(audit, "SELECT count(*) FROM events") == [(20,)]


def test_sql_chain_check_agrees_with_python_on_awkward_values(audit: Path) -> None:
    sessions(audit, 1, 6, code="SELECT 'é\\u2028 中 \"q\" \\\\ /' -- \x01 tab\t",
             groups=["b", "a"])
    con = connect_readonly(audit)
    try:
        flagged, checked = _flag(con)
    finally:
        con.close()
    assert checked == 6 and len(flagged) <= 1   # \x01 differs in case only: checked again
    assert verify(audit).ok
    plain = audit.with_name("plain.duckdb")
    sessions(plain, 1, 6)
    con = connect_readonly(plain)
    try:
        assert _flag(con) == (set(), 6)
    finally:
        con.close()


@pytest.mark.parametrize("names, flagged", [
    pytest.param(("t", "t2", "t.a"), 0, id="text-order-is-item-order"),
    pytest.param(("t b", "t"), 1, id="space-sorts-below-quote"),
    pytest.param(('a"', "a#"), 1, id="escaped-quote"),
])
def test_lineage_sorted_as_text_is_checked_again_in_python_where_orders_differ(
        audit: Path, names: tuple[str, ...], flagged: int) -> None:
    """The SQL sorts lineage items as JSON text; where that is not the items' order the session
    only looks wrong there, and Python's exact check passes it. An edit is still found."""
    lineage = [("read", "table", n, False) for n in names]
    sessions(audit, 1, 5, lineage=lineage)
    con = connect_readonly(audit)
    try:
        marks, checked = _flag(con)
    finally:
        con.close()
    assert checked == 5 and len(marks) == flagged
    assert verify(audit, full=True).ok
    _rewrite_segment(audit, "UPDATE t SET code = code || ' ' WHERE seq = 2")
    result = verify(audit, full=True)
    assert not result.ok and result.problems[0].what == "edited" and result.problems[0].seq == 2


def test_a_merge_output_changed_before_it_is_sealed_is_not_sealed(audit: Path,
                                                                   monkeypatch) -> None:
    """The merge's digests are taken as it writes the output; an edit between that and the
    seal (the swap under the lock) leaves it unsealed, and verify names the edited event."""
    from jupyter_guard.record import seal_write

    real = seal_write.seal_segment
    edited: list[str] = []

    def edit_then_seal(published, name, inputs=None, files=None):  # type: ignore[no-untyped-def]
        if inputs:   # a merge: its output edited before the seal
            _rewrite_segment(audit, "UPDATE t SET decision = 'block' WHERE seq = 3", name)
            edited.append(name)
        return real(published, name, inputs, files)

    monkeypatch.setattr(seal_write, "seal_segment", edit_then_seal)
    monkeypatch.setattr(segments, "FANOUT", 3)
    sessions(audit, 3, 5)
    assert len(edited) == 1
    result = verify(audit)
    assert not result.ok and result.problems[0].what == "edited", result
    assert not any(n.startswith("1 sealed segment(s), 15 events") for n in result.notes), result


def _flag(con: duckdb.DuckDBPyConnection) -> tuple[set[int], int]:
    """The SQL check alone, over the live rows and every segment."""
    for table in ("_cut", "_anchor"):
        con.execute(f"CREATE TEMP TABLE {table} (session_id VARCHAR, seq BIGINT, hash VARCHAR)")
    folder = segments.segment_dir(Path(con.execute("SELECT path FROM duckdb_databases() "
                                                   "WHERE NOT internal").fetchall()[0][0]))
    parts = [("events_live", "lineage_live", 10, False)] + [
        (f"read_parquet('{folder / n}.events.parquet')",
         f"read_parquet('{folder / n}.lineage.parquet')", 3, False)
        for (n,) in con.execute("SELECT name FROM segments").fetchall()]
    return flagged_sessions(con, parts)


def _rewrite_segment(audit: Path, sql: str, name: str = "") -> None:
    """Edit a segment (the first, or ``name``) in place, as a subject with write access to the
    folder could."""
    target = (segments.segment_dir(audit) / f"{name}.events.parquet") if name else (
        seg_files(audit)[0])
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{target}')")
    con.execute(sql)
    con.execute(f"COPY t TO '{target}' (FORMAT parquet)")
    con.close()


@pytest.mark.parametrize("sql, what", [
    pytest.param("UPDATE t SET decision = 'block' WHERE seq = 2", "edited", id="edited"),
    pytest.param("DELETE FROM t WHERE seq = 2", "deleted", id="row-deleted"),
    pytest.param("UPDATE t SET seq = CASE seq WHEN 2 THEN 3 ELSE 2 END WHERE seq IN (2, 3)",
                 "reordered", id="reordered"),
])
def test_tampering_with_a_sealed_segment_fails_verify(audit: Path, sql: str, what: str) -> None:
    sessions(audit, 2, 5)
    assert verify(audit).ok
    _rewrite_segment(audit, sql)
    result = verify(audit)
    assert not result.ok and result.problems[0].what == what, result.problems


def test_a_deleted_segment_is_named_by_verify(audit: Path) -> None:
    sessions(audit, 2, 5)
    gone = seg_files(audit)[0]
    gone.unlink()
    result = verify(audit)
    assert not result.ok
    assert any(p.what == "deleted" and gone.name.split(".")[0] in p.detail
               for p in result.problems), result.problems


def test_a_deleted_catalog_is_rebuilt_from_segments_and_journals(audit: Path) -> None:
    ids = sessions(audit, 3, 5)
    running = AuditLog(audit, background=False)
    cell(running, 1)
    ingest(audit)
    os.unlink(audit)
    assert ingest(audit) >= 0
    got = {r[0] for r in rows(audit, "SELECT event_id FROM events")}
    assert set(ids) <= got and len(got) == 16
    assert rows(audit, "SELECT count(*), count(DISTINCT event_id) FROM events") == [(16, 16)]
    result = verify(audit)
    assert result.ok, result.problems
    running.close()


def test_merged_segments_keep_every_event_and_readers_of_the_old_catalog(audit: Path,
                                                                         monkeypatch) -> None:
    monkeypatch.setattr(segments, "FANOUT", 3)
    reader = None
    for _ in range(4):
        sessions(audit, 1, 5)
        if reader is None:
            reader = duckdb.connect(str(audit), read_only=True)
    assert reader is not None
    try:
        assert reader.execute("SELECT count(*) FROM events").fetchall() == [(5,)]
    finally:
        reader.close()
    (count,), = rows(audit, "SELECT count(*) FROM segments")
    (largest,), = rows(audit, "SELECT max(events) FROM segments")
    assert largest > segments.seal_at()                  # a merge happened
    assert count < 5
    assert rows(audit, "SELECT count(*), count(DISTINCT event_id) FROM events") == [(20, 20)]
    assert verify(audit).ok


def test_segments_are_sealed_as_written_so_no_verify_is_cold_and_an_edit_is_seen(
        audit: Path) -> None:
    sessions(audit, 2, 5)
    first = verify(audit)   # the first run: the writer sealed each segment it wrote
    assert first.ok and first.checked == 10, first
    assert any(n.startswith("2 sealed segment(s), 10 events") for n in first.notes), first
    sessions(audit, 1, 5)
    again = verify(audit)
    assert again.ok and again.checked == 15, again
    assert any(n.startswith("3 sealed segment(s), 15 events") for n in again.notes), again
    _rewrite_segment(audit, "UPDATE t SET user_name = 'mallory' WHERE seq = 1")
    edited = verify(audit)
    assert not edited.ok and edited.problems[0].what == "edited"
    assert any("since it was sealed" in p.detail for p in edited.problems), edited


def test_a_segment_whose_rows_do_not_check_is_not_sealed_by_its_writer(audit: Path) -> None:
    """A journal line edited before its ingest: the segment written from it stays unsealed,
    and verify re-hashes it and names the event."""
    from jupyter_guard.record import seal
    from jupyter_guard.record.journal import journal_dir

    log = AuditLog(audit, background=False)
    ids = [cell(log, i) for i in range(1, 6)]
    journal = next(journal_dir(audit).glob("*.jsonl"))
    text = journal.read_text()
    assert text.count("-- 2\"") == 1
    journal.write_text(text.replace("-- 2\"", "-- 2 OR true\""))
    log.close()
    assert rows(audit, "SELECT count(*) FROM segments") == [(1,)]
    assert not seal.log_path(audit).exists() or not seal.log_path(audit).read_text().strip()
    result = verify(audit)
    assert not result.ok and result.problems[0].what == "edited", result
    assert result.problems[0].event_id == ids[1]
    assert not any("sealed segment" in n for n in result.notes), result
    sessions(audit, 1, 5)   # a twin: the next session's segment checks and is sealed
    assert len(seal.log_path(audit).read_text().splitlines()) == 1


def test_a_merge_seals_its_output_and_a_tampered_input_is_not_sealed(audit: Path,
                                                                    monkeypatch) -> None:
    """A merge links its inputs' seals instead of re-hashing them (an input whose files
    changed is re-hashed, and its edit keeps the merge unsealed)."""
    from jupyter_guard.record import chainsql

    checked: list[list[bool]] = []
    real = chainsql.unlinked_within
    monkeypatch.setattr(chainsql, "unlinked_within",
                        lambda con, parts: checked.append([p[3] for p in parts]) or
                        real(con, parts))
    monkeypatch.setattr(segments, "FANOUT", 3)
    sessions(audit, 3, 5)
    assert [False] in checked and [True, True, True] in checked, checked   # new; the merge
    (count, largest, sealed), = rows(audit, "SELECT count(*), max(events), sum(events) "
                                            "FROM segments")
    assert largest > segments.seal_at()   # a merge happened
    result = verify(audit)
    assert result.ok and any(n.startswith(f"{count} sealed segment(s), {sealed} events")
                             for n in result.notes), result
    # the merge's input edited after its writer sealed it: the merge is not sealed
    sessions(audit, 2, 5)
    (small,), = rows(audit, "SELECT name FROM segments WHERE events = 5 LIMIT 1")
    _rewrite_segment(audit, "UPDATE t SET decision = 'block' WHERE seq = 3", small)
    checked.clear()
    sessions(audit, 1, 5)
    assert sorted(checked[-1]) == [False, True, True], checked   # the edited input re-hashed
    (merged,), = rows(audit, "SELECT count(*) FROM segments WHERE events > 5")
    assert merged == 2, "the three new segments were merged"
    result = verify(audit)
    assert not result.ok and result.problems[0].what == "edited", result
    assert result.problems[0].seq == 3
    assert sum(n.startswith("1 sealed segment(s), 15 events") for n in result.notes) == 1


def test_a_sealed_segment_rewritten_with_a_recomputed_chain_is_named(audit: Path) -> None:
    """The unkeyed chain alone cannot see a consistent rewrite; the keyed seal can."""
    from jupyter_guard.record.chain import chain_hash
    from jupyter_guard.record.ingest import load_rows

    sessions(audit, 2, 5)
    assert verify(audit).ok
    target = seg_files(audit)[0]
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{target}')")
    con.execute(f"CREATE TABLE l AS SELECT * FROM read_parquet('"
                f"{str(target).replace('.events.', '.lineage.')}')")
    rows = load_rows(con, "true ORDER BY session_id, seq", [], table="t", lineage_table="l")
    prev: dict[str, str] = {}
    for r in rows:   # the subject's rewrite: another user's name, the chain recomputed
        r["user_name"] = "mallory"
        p = prev.get(r["session_id"], r["prev_hash"])
        h = chain_hash(p, r)
        con.execute("UPDATE t SET user_name = 'mallory', prev_hash = ?, hash = ? "
                    "WHERE event_id = ?", [p, h, r["event_id"]])
        prev[r["session_id"]] = h
    con.execute(f"COPY t TO '{target}' (FORMAT parquet)")
    con.close()
    for result in (verify(audit), verify(audit, full=True), verify(audit)):
        assert not result.ok   # --full does not seal the rewrite either
        assert any(p.what == "edited" and target.name.split(".")[0] in p.detail
                   and "since it was sealed" in p.detail for p in result.problems), result


def test_a_seal_not_made_with_the_key_is_ignored(audit: Path) -> None:
    from jupyter_guard.record import seal

    sessions(audit, 2, 5)
    assert verify(audit).ok
    log = seal.log_path(audit)
    forged = [json.loads(x) | {"mac": "0" * 64} for x in log.read_text().splitlines()]
    log.write_text("".join(json.dumps(x) + "\n" for x in forged))
    _rewrite_segment(audit, "UPDATE t SET decision = 'block' WHERE seq = 2")
    result = verify(audit)
    assert not result.ok and result.problems[0].what == "edited", result
    assert any("do not check under this key" in n for n in result.notes), result


def test_sigkill_of_a_writer_while_it_seals_and_merges_loses_nothing(audit: Path,
                                                                     tmp_path: Path) -> None:
    """A writer ingesting as it goes (sealing every 2 events, merging every 2 segments) is
    killed at three different moments; the next ingest brings every event in, once."""
    import signal
    import time as clock

    from record_helpers import python

    script = f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from jupyter_guard.record import AuditLog, ingest, segments
        from record_helpers import cell
        segments.FANOUT = 2
        log = AuditLog({str(audit)!r}, background=False)
        i = 0
        while True:
            i += 1
            cell(log, i)
            print(i, flush=True)
            ingest({str(audit)!r})
    """
    env = {**os.environ, "JUPYTER_GUARD_AUDIT_SEGMENT": "2"}
    written = 0
    for wait in (0.5, 1.5, 3.0):
        proc = python(script, env=env)
        start = clock.monotonic()
        assert proc.stdout is not None
        last = 0
        while clock.monotonic() - start < wait or last < 3:
            line = proc.stdout.readline()
            if not line:
                break
            last = int(line)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        written += last
    ingest(audit)
    (total, distinct), = rows(audit, "SELECT count(*), count(DISTINCT event_id) FROM events")
    assert total == distinct >= written
    assert rows(audit, "SELECT count(*) FROM events WHERE status = 'running'") == [(0,)]
    result = verify(audit)
    assert result.ok, result.problems


def test_report_from_rollups_equals_the_report_over_every_cell(audit: Path) -> None:
    from jupyter_guard.record.report import report

    sessions(audit, 3, 5)
    log = AuditLog(audit, background=False)
    cell(log, 1, decision="block", rule_id="destructive-ddl", reason="drop", status="blocked")
    cell(log, 2, decision="warn", rule_id="bulk-changes", reason="would block: no WHERE")
    log.close()
    ingest(audit)
    assert rows(audit, "SELECT count(*) FROM report_rollup") != [(0,)]
    fast = report(audit)
    exact = report(audit, since="2000-01-01T00:00:01")    # not a whole day: the exact query
    assert fast == exact and sum(r["events"] for r in fast) == 17
    assert report(audit, user="nobody") == []


def test_a_cell_is_sealed_whole(audit: Path) -> None:
    """A run-time refusal inside a running cell waits in the file with its cell's row."""
    log = AuditLog(audit, background=False)
    for i in range(1, 5):
        cell(log, i)
    running = log.begin(user="ada", actor="human", notebook="n", cell_id="c9",
                        execution_count=9, kind="python", code="work()", decision="allow",
                        rule_id="", reason="")
    inside = log.begin(user="ada", actor="human", notebook="n", cell_id="c9",
                       execution_count=9, kind="runtime", code="os.remove('x.duckdb')",
                       decision="block", rule_id="destructive-files", reason="x",
                       status="blocked")
    ingest(audit)
    live = {r[0] for r in rows(audit, "SELECT event_id FROM events_live")}
    assert {running, inside} <= live and seg_files(audit)
    log.finish(running, status="ok", duration_ms=1.0)
    for i in range(10, 14):
        cell(log, i)
    ingest(audit)
    assert not {running, inside} & {r[0] for r in rows(audit, "SELECT event_id FROM events_live")}
    log.close()
    assert verify(audit).ok
