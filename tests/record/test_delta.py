"""The usual ingest writes one delta file and leaves the DuckDB catalog alone; the catalog's views
read the deltas; a copy-on-write ingest folds them in; a crash between a delta and its cache
neither loses nor duplicates; plain read-only readers never fail while ingests publish."""
from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
from record_helpers import cell, python

from jupyter_guard.record import AuditLog, ingest, verify
from jupyter_guard.record.append import Refuse, _check
from jupyter_guard.record.delta import DELTA, delta_dir
from jupyter_guard.record.hint import hint_path


def _stamp(p: Path) -> tuple[int, int, int]:
    st = p.stat()
    return st.st_ino, st.st_mtime_ns, st.st_size


def _count(audit: Path, sql: str = "SELECT count(*), count(DISTINCT event_id) FROM events"
           ) -> tuple:   # type: ignore[type-arg]
    con = duckdb.connect(str(audit), read_only=True)
    try:
        return tuple(con.execute(sql).fetchone())   # type: ignore[arg-type]
    finally:
        con.close()


def _deltas(audit: Path) -> list[Path]:
    gen = json.loads(hint_path(audit).read_text())[DELTA]["gen"]
    return sorted((delta_dir(audit) / gen).glob("*.parquet"))


def test_the_usual_ingest_writes_a_delta_and_readers_see_it(audit: Path) -> None:
    log = AuditLog(audit, background=False)
    cell(log, 1)
    assert ingest(audit) == 1                      # a new store: the catalog is written
    before = _stamp(audit)
    for i in range(2, 12):
        cell(log, i)
    assert ingest(audit) == 10
    assert _stamp(audit) == before                 # the catalog file was not touched
    assert len(_deltas(audit)) == 2                # the empty first one and this ingest's
    assert _count(audit) == (11, 11)               # a plain read-only reader sees all
    assert _count(audit, "SELECT count(*) FROM sensitive_access") == (11,)
    assert _count(audit, "SELECT count(*) FROM lineage WHERE direction = 'write'") == (11,)
    assert _count(audit, "SELECT count(*) FROM cells WHERE status = 'ok'") == (11,)
    assert verify(audit).ok
    log.close()
    ingest(audit)                                  # a closed session: folded into the catalog
    assert _stamp(audit) != before
    assert _count(audit) == (11, 11)
    assert _count(audit, "SELECT count(*) FROM events_delta") == (0,)
    assert _count(audit, "SELECT count(*) FROM lineage") == (33,)
    assert verify(audit).ok


def test_a_cell_finished_in_a_later_delta_is_one_final_row(audit: Path) -> None:
    log = AuditLog(audit, background=False)
    cell(log, 1)
    ingest(audit)
    before = _stamp(audit)
    e = log.begin(user="ada", actor="human", notebook="n.ipynb", cell_id="c2",
                  execution_count=2, kind="python", code="x = 1", decision="allow",
                  rule_id="", reason="", lineage=[("read", "table", "t", False)])
    ingest(audit)
    assert _count(audit, "SELECT status FROM events WHERE event_id = "
                  f"'{e}'") == ("running",)
    log.finish(e, status="error", duration_ms=3.0, lineage=[("write", "variable", "x", False)])
    ingest(audit)
    assert _stamp(audit) == before                 # both through deltas
    assert _count(audit, f"SELECT count(*), max(status), max(seq) FROM events WHERE event_id "
                  f"= '{e}'") == (1, "error", 2)
    assert _count(audit, f"SELECT count(*) FROM lineage WHERE event_id = '{e}'") == (2,)
    assert verify(audit).ok
    ingest(audit, fold=True)
    assert _count(audit, f"SELECT count(*), max(status) FROM events_live WHERE event_id "
                  f"= '{e}'") == (1, "error")
    assert verify(audit).ok
    log.close()


def test_a_crash_between_a_delta_and_its_cache_loses_and_duplicates_nothing(audit: Path
                                                                             ) -> None:
    log = AuditLog(audit, background=False)
    cell(log, 1)
    ingest(audit)
    old_hint = hint_path(audit).read_text()
    for i in range(2, 6):
        cell(log, i)
    ingest(audit)
    hint_path(audit).write_text(old_hint)          # as if killed after the rename
    for i in range(6, 9):
        cell(log, i)
    assert ingest(audit) == 3                      # the fold reads the delta's own metadata
    assert _count(audit) == (8, 8)
    result = verify(audit)
    assert result.ok and result.checked == 8, result
    log.close()


def test_a_delta_left_unlisted_by_a_fold_is_not_read_twice(audit: Path) -> None:
    """A deleted hint (no cache at all): the next ingest folds; nothing appears twice."""
    log = AuditLog(audit, background=False)
    cell(log, 1)
    ingest(audit)
    for i in range(2, 5):
        cell(log, i)
    ingest(audit)
    hint_path(audit).unlink()
    cell(log, 5)
    ingest(audit)
    assert _count(audit) == (5, 5)
    assert verify(audit).ok
    log.close()


def test_lines_that_are_not_what_the_writer_writes_go_the_copy_on_write_way() -> None:
    good = {"t": "begin", "event_id": "e", "ts_us": 1, "seq": 1, "execution_count": 3,
            "duration_ms": 1.5, "groups": ["a"], "lineage": [["read", "table", "t", False]],
            "facts": {"k": 1}}
    _check(good)
    for bad in ({"seq": True}, {"seq": "1"}, {"seq": 1.0}, {"ts_us": 2**63}, {"groups": "a"},
                {"groups": [1]}, {"lineage": [["read", "table", "t"]]},
                {"lineage": [["read", "table", "t", 1]]}, {"facts": [1]}, {"code": 5},
                {"duration_ms": False}):
        try:
            _check({**good, **bad})
        except Refuse:
            continue
        raise AssertionError(f"accepted {bad}")


def test_an_odd_line_is_still_ingested_by_the_copy_on_write_way(audit: Path) -> None:
    log = AuditLog(audit, background=False)
    cell(log, 1)
    ingest(audit)
    cell(log, 2, facts={"intents": ["x"]})
    assert log._journal is not None
    with open(log._journal.path, "ab") as f:
        f.write(b'{"t": "begin", "event_id": \n')   # does not parse: not a delta's to take
    before = _stamp(audit)
    ingest(audit)
    assert _stamp(audit) != before                 # the catalog took it
    assert _count(audit) == (2, 2)
    assert _count(audit, "SELECT bad_lines FROM sessions WHERE last_seq = 2") == (1,)
    log.close()


def test_a_deleted_or_edited_delta_file_fails_verify(audit: Path) -> None:
    import pyarrow.parquet as pq

    log = AuditLog(audit, background=False)
    cell(log, 1)
    ingest(audit)
    for i in range(2, 5):
        cell(log, i)
    ingest(audit)
    edited = _deltas(audit)[-1]
    table = pq.read_table(edited)
    codes = table.column("code").to_pylist()
    codes[0] = "SELECT 1"
    meta = table.schema.metadata
    table = table.set_column(table.schema.get_field_index("code"), "code",
                             __import__("pyarrow").array(codes)).replace_schema_metadata(meta)
    pq.write_table(table, edited)
    result = verify(audit)
    assert not result.ok and result.problems[0].what == "edited", result
    for i in range(5, 8):
        cell(log, i)
    ingest(audit)
    _deltas(audit)[-1].unlink()                    # the subject deletes the newest delta
    cell(log, 8)
    ingest(audit)
    result = verify(audit)
    assert not result.ok and any(p.what == "deleted" for p in result.problems), result
    log.close()


READER = """
import sys, duckdb
path, stop = sys.argv[1], sys.argv[2]
import os
last, n = 0, 0
while not os.path.exists(stop):
    con = duckdb.connect(path, read_only=True)
    try:
        (c,), = con.execute("SELECT count(*) FROM events").fetchall()
        con.execute("SELECT count(*) FROM cells").fetchall()
    finally:
        con.close()
    if c < last:
        print("went back", last, c, flush=True)
        sys.exit(3)
    last, n = c, n + 1
print("reads", n, flush=True)
"""


def test_a_plain_reader_in_a_loop_never_fails_while_ingests_publish(audit: Path,
                                                                    tmp_path: Path) -> None:
    os.environ.setdefault("JUPYTER_GUARD_AUDIT_SEGMENT", "20000")
    log = AuditLog(audit, background=False)
    cell(log, 0)
    ingest(audit)
    stop = tmp_path / "stop"
    code = READER.replace("sys.argv[1]", repr(str(audit))).replace("sys.argv[2]",
                                                                    repr(str(stop)))
    reader = python(code)
    try:
        for i in range(1, 121):
            cell(log, i)
            if i % 40 == 0:
                ingest(audit, fold=True)           # a catalog publish
            else:
                ingest(audit)
    finally:
        stop.write_text("")
        out, err = reader.communicate(timeout=300)
    assert reader.returncode == 0, (out, err[-2000:])
    assert int(out.split()[-1]) > 0
    assert _count(audit) == (121, 121)
    log.close()


def test_the_empty_first_delta_written_without_pyarrow_has_the_arrow_schema(tmp_path: Path
                                                                            ) -> None:
    """A fold starts each generation with a file DuckDB writes (the ingest thread must not be
    the first to import pyarrow); its columns, types and journal states match an arrow delta's."""
    from jupyter_guard.record import delta

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    by_duckdb = delta.write_empty(tmp_path / "a")
    by_arrow = delta.write(tmp_path / "b", 0, [], {})
    con = duckdb.connect()
    described = [con.execute(f"DESCRIBE SELECT * FROM read_parquet('{p}')").fetchall()
                 for p in (by_duckdb, by_arrow)]
    assert described[0] == described[1]
    assert delta.sessions_in([by_duckdb]) == delta.sessions_in([by_arrow]) == {}
    assert not [p for p in (tmp_path / "a").iterdir() if p.name != delta.BASE]
