"""Property: for random data-changing statements, the guard refuses exactly when the effect
measured on a copy of the database changes more rows than ``max_affected_rows``."""
from __future__ import annotations

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_guard.errors import GuardBlocked
from jupyter_guard.guard.service import Guard
from jupyter_guard.hooks.sinks import GuardedConnection

SETUP = ("CREATE TABLE t (id BIGINT PRIMARY KEY, g BIGINT, v VARCHAR); "
         "INSERT INTO t SELECT range, range % 7, 'v' || range FROM range(3000)")


def where():
    lo = st.integers(0, 3000)
    return st.one_of(
        st.builds(lambda a, b: f"id >= {min(a, b)} AND id < {max(a, b)}", lo, lo),
        st.builds(lambda g: f"g = {g}", st.integers(0, 7)),
        st.builds(lambda a: f"id < {a} OR 1 = 1", lo),
        st.builds(lambda a: f"id IN (SELECT id FROM t WHERE id < {a})", lo),
    )


def statement():
    src = st.builds(lambda a, b: f"(SELECT range AS id FROM range({min(a, b)}, {max(a, b)}))",
                    st.integers(0, 3000), st.integers(0, 3000))
    return st.one_of(
        st.builds(lambda w: f"DELETE FROM t WHERE {w}", where()),
        st.builds(lambda w: f"UPDATE t SET v = 'x' WHERE {w}", where()),
        st.builds(lambda s: f"MERGE INTO t USING {s} s ON t.id = s.id "
                            "WHEN MATCHED THEN DELETE", src),
        st.builds(lambda s: f"MERGE INTO t USING {s} s ON t.id = s.id "
                            "WHEN MATCHED THEN UPDATE SET v = 'm'", src),
        st.builds(lambda s: f"INSERT OR REPLACE INTO t SELECT id, 0, 'r' FROM {s}", src),
        st.builds(lambda w: f"WITH d AS (DELETE FROM t WHERE {w} RETURNING id) SELECT count(*) "
                            "FROM d", where()),
    )


def changed_rows(sql: str) -> int:
    con = duckdb.connect()
    con.execute(SETUP)
    con.execute("CREATE TEMP TABLE before AS SELECT * FROM t")
    con.execute(sql)
    n = con.execute("SELECT count(*) FROM (SELECT * FROM before EXCEPT ALL SELECT * FROM t)")
    return int(n.fetchone()[0])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(statement())
def test_decision_agrees_with_measured_effect(sql):
    raw = duckdb.connect()
    raw.execute(SETUP)
    guard = Guard.create()
    guard.plug(runtime_sql=True)
    con = GuardedConnection(raw, guard)
    refused = False
    try:
        con.execute(sql)
    except GuardBlocked:
        refused = True
    effect = changed_rows(sql)
    assert refused == (effect > guard.policy.max_affected_rows), (sql, effect)
    if refused:  # nothing of it was kept
        assert raw.execute("SELECT count(*), count(*) FILTER (v IN ('x', 'm', 'r')) FROM t"
                           ).fetchone() == (3000, 0)
