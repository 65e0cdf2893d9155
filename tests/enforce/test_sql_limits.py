"""Limits over time: rows changed per table add up per cell and over the session window."""
from __future__ import annotations

from dataclasses import replace

import duckdb
import pytest

from jupyter_guard.errors import GuardBlocked
from jupyter_guard.guard.effect import state
from jupyter_guard.guard.service import Guard
from jupyter_guard.hooks.sinks import GuardedConnection
from jupyter_guard.policy.load import build


@pytest.fixture()
def guarded():
    raw = duckdb.connect()
    raw.execute("CREATE TABLE t AS SELECT range AS id FROM range(5000)")
    guard = Guard.create()
    guard.plug(runtime_sql=True)
    guard.policy = replace(guard.policy, max_affected_rows_per_session=1000,
                           session_window_minutes=1)
    return GuardedConnection(raw, guard), raw, guard


def delete(con, lo, hi):
    return con.execute(f"DELETE FROM t WHERE id >= {lo} AND id < {hi}").fetchall()


def test_cells_add_up_over_the_window(guarded):
    con, raw, guard = guarded
    assert delete(con, 0, 600) == [(600,)]
    state(guard).cell.clear()                       # a new cell
    with pytest.raises(GuardBlocked) as e:
        delete(con, 600, 1200)
    assert "1200 in the last 1 minutes" in str(e.value) and "nothing was changed" in str(e.value)
    assert raw.execute("SELECT count(*) FROM t").fetchone()[0] == 4400
    st = state(guard)                                # the window passes (entries made older)
    st.log = type(st.log)((ts - 120, k, n) for ts, k, n in st.log)
    assert delete(con, 600, 1200) == [(600,)]


def test_executemany_counts_every_parameter_set(guarded):
    con, raw, guard = guarded
    guard.policy = replace(guard.policy, max_affected_rows_per_session=0)
    with pytest.raises(GuardBlocked):
        con.executemany("DELETE FROM t WHERE id = ?", [[i] for i in range(1001)])
    assert raw.execute("SELECT count(*) FROM t").fetchone()[0] == 5000
    con.executemany("DELETE FROM t WHERE id = ?", [[i] for i in range(999)])
    assert raw.execute("SELECT count(*) FROM t").fetchone()[0] == 4001


@pytest.mark.parametrize("data,problem", [
    ({"max_affected_rows_per_session": -1}, "'max_affected_rows_per_session' must be a whole"),
    ({"session_window_minutes": 0}, "'session_window_minutes' must be a whole number >= 1"),
    ({"sql": {"allow_extension": ["json"]}}, "Did you mean 'allow_extensions'?"),
    ({"sql": {"allow_extensions": "json"}}, "'sql.allow_extensions' must be a list"),
])
def test_new_keys_are_validated(data, problem):
    with pytest.raises(Exception) as e:
        build(data, {}, "p.yaml")
    assert problem in str(e.value)


def test_new_keys_load():
    p = build({"max_affected_rows_per_session": 20000, "session_window_minutes": 30,
               "sql": {"allow_extensions": ["JSON"]}}, {}, "p.yaml")
    assert (p.max_affected_rows_per_session, p.session_window_minutes, p.allow_extensions) == (
        20000, 30, ("json",))
