"""A delta written by DuckDB (the ingest thread of a kernel that never imported pandas) holds the
same rows, types and journal states as one written by pyarrow, so the views read both alike."""
from __future__ import annotations

from pathlib import Path

import duckdb

from jupyter_guard.record import delta

ROWS = [
    {"event_id": "e1", "ts": 1764560000123456, "user_name": "o'brien", "actor": "human",
     "groups": ["a", "b"], "session_id": "s1", "seq": 3, "notebook": "n.ipynb", "cell_id": "c",
     "execution_count": 7, "kind": "python", "code": "x = 'é\n\"1'", "code_sha256": "ab",
     "decision": "allow", "rule_id": None, "reason": None, "policy_revision": "r",
     "decision_id": "d", "status": "ok", "duration_ms": 1.5, "rows_affected": 2**40,
     "finished_at": 1764560000223456, "host": "h", "prev_hash": "p", "hash": "h2",
     "facts": '{"a":1}', "server_event_id": None,
     "lineage": [{"direction": "read", "object_kind": "table", "name": "t",
                  "is_sensitive": True}], "_v": 1},
    {"event_id": "e2", "ts": 1764560000123457, "user_name": "u", "actor": "agent",
     "groups": None, "session_id": "s1", "seq": 4, "notebook": None, "cell_id": None,
     "execution_count": None, "kind": "sql", "code": None, "code_sha256": None,
     "decision": "block", "rule_id": "drop", "reason": "no", "policy_revision": None,
     "decision_id": None, "status": "running", "duration_ms": None, "rows_affected": None,
     "finished_at": None, "host": None, "prev_hash": None, "hash": None, "facts": None,
     "server_event_id": None, "lineage": [], "_v": 1},
]
SESSIONS = {"s1.jsonl": {"session_id": "s1", "offset": 10, "host": "it's", "last_seq": 4}}


def test_duckdb_delta_equals_pyarrow_delta(tmp_path: Path) -> None:
    by_arrow = delta.write(tmp_path, 1, [dict(r) for r in ROWS], SESSIONS)
    by_duck = delta._write_duck(tmp_path, 2, [dict(r) for r in ROWS], SESSIONS)
    con = duckdb.connect()
    rows = [con.execute("SELECT * EXCLUDE (_v) FROM read_parquet(?)", [str(p)]).fetchall()
            for p in (by_arrow, by_duck)]
    kinds = [con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(p)]).fetchall()
             for p in (by_arrow, by_duck)]
    assert rows[0] == rows[1] and len(rows[1]) == 2
    assert kinds[0] == kinds[1]
    assert delta.sessions_in([by_duck]) == SESSIONS == delta.sessions_in([by_arrow])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["00000001.parquet", "00000002.parquet"]


def test_duckdb_delta_without_rows_keeps_the_journal_states(tmp_path: Path) -> None:
    written = delta._write_duck(tmp_path, 3, [], SESSIONS)
    (n,), = duckdb.connect().execute("SELECT count(*) FROM read_parquet(?)",
                                     [str(written)]).fetchall()
    assert n == 0 and delta.sessions_in([written]) == SESSIONS
