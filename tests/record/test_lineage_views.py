"""Lineage that answers questions, on an audit file from real kernels (governance_session)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from governance_session import rows

from jupyter_guard.record.report import report

pytestmark = pytest.mark.kernel


def test_sensitive_access_by_table_and_column_returns_the_reads(session_audit: Path) -> None:
    got = rows(session_audit, """SELECT execution_count, decision, qualified_name
        FROM sensitive_access WHERE name = 'customers.ssn' AND user_name = 'ada'
        ORDER BY execution_count""")
    # the %%guarded_sql SELECT (In [3]) and the Python cell's SQL string (In [4]); nothing else
    # read ssn by table; both ran, recorded `mask` (they read sensitive columns, shown masked)
    assert [(c, d) for c, d, _ in got] == [(3, "mask"), (4, "mask")]
    assert {q for *_, q in got} == {"customers.ssn"}
    # a join names each column's own table, through the aliases
    joined = rows(session_audit, """SELECT name FROM cell_lineage WHERE object_kind = 'column'
        AND code_has_join""".replace("AND code_has_join", "AND execution_count = 10"))
    assert sorted(n for (n,) in joined) == ["customers.city", "customers.id",
                                           "orders.customer_id", "orders.total"]


def test_a_renamed_sensitive_column_stays_sensitive_on_the_blocked_export(
        session_audit: Path) -> None:
    got = dict(rows(session_audit, """SELECT l.name, l.is_sensitive FROM cell_lineage l
        WHERE l.kind = 'runtime' AND l.execution_count = 7 AND l.direction = 'read'"""))
    assert got["tax_id"] is True and got["contact"] is True      # renamed from ssn and email
    assert got["ssn"] is True and got["email"] is True           # and where they came from
    assert got["id"] is False and got["city"] is False


def test_to_sql_is_a_table_write_and_to_csv_a_file_write(session_audit: Path) -> None:
    writes = rows(session_audit, """SELECT execution_count, kind, object_kind, name
        FROM cell_lineage WHERE direction = 'write' AND execution_count IN (7, 8)
        AND object_kind <> 'variable' ORDER BY 1, 2""")
    assert writes == [(7, "python", "file", "out.csv"), (7, "runtime", "file", "out.csv"),
                      (8, "python", "table", "leak"), (8, "runtime", "table", "leak")]


def test_the_pivot_export_stores_a_bounded_lineage_with_the_count_kept(
        session_audit: Path) -> None:
    from jupyter_guard.guard.lineage import LIMIT

    got = rows(session_audit, """SELECT l.name FROM lineage l JOIN events e USING (event_id)
        WHERE e.kind = 'runtime' AND e.execution_count = 9""")
    names = [n for (n,) in got]
    assert len(names) <= LIMIT + 3
    (summary,) = [n for n in names if n.startswith("+")]
    # 1,000 customers -> 1,000 pivot columns: LIMIT kept, the rest counted in one row
    dropped = int(summary.removeprefix("+").removesuffix(" columns"))
    assert dropped + len(names) - 2 >= 1000
    assert "p.csv" in names


def test_which_tables_does_summary_come_from_is_one_recursive_query(
        session_audit: Path) -> None:
    got = rows(session_audit, """WITH RECURSIVE up(name, kind) AS (
            SELECT 'summary', 'variable'
            UNION
            SELECT d.source, d.source_kind FROM derivations d JOIN up
              ON d.target = up.name AND d.target_kind = up.kind WHERE up.kind = 'variable')
        SELECT DISTINCT name FROM up WHERE kind = 'table' ORDER BY name""")
    assert got == [("customers",)]
    cols = rows(session_audit, """SELECT DISTINCT source FROM derivations
        WHERE target = 'df' AND source_kind = 'column' AND source_sensitive ORDER BY 1""")
    assert cols == [("customers.email",), ("customers.ssn",)]


def test_cells_count_once_and_report_counts_cells(session_audit: Path) -> None:
    cells = rows(session_audit, """SELECT execution_count, decision, rule_id, status, layers
        FROM cells WHERE user_name = 'ada' ORDER BY execution_count""")
    by_count = {c: (d, r, s, layers) for c, d, r, s, layers in cells}
    assert len(cells) == 16                                      # 16 cells, 19 events
    assert by_count[7] == ("block", "exfiltration", "blocked", ["python", "runtime"])
    assert by_count[14] == ("block", "destructive-ddl", "blocked", ["sql"])
    assert by_count[17][3] == ["python"] and by_count[17][2] == "error"
    (events,), = rows(session_audit, "SELECT count(*) FROM events WHERE user_name = 'ada'")
    assert events > len(cells)
    got = report(session_audit, user="ada")
    assert sum(r["events"] for r in got) == 16
    assert {r["rule_id"]: r["blocked"] for r in got if r["blocked"]} == {
        "exfiltration": 3, "bulk-change": 1, "destructive-ddl": 1, "destructive-files": 1}


def test_decisions_record_their_facts_for_replay(session_audit: Path) -> None:
    (facts,), = rows(session_audit, """SELECT facts FROM events WHERE kind = 'sql'
        AND code LIKE 'DELETE FROM orders WHERE order_id < 1500%'""")
    doc = json.loads(facts)
    (intent,) = doc["intents"]
    assert intent["action"] == "sql.delete" and intent["estimated_rows"] == 1500
    assert doc["user"] == "ada" and doc["actor"] == "human" and doc["connection"] == "con"
