"""A PostgreSQL change refused by its measured effect (``%%guarded_sql``) ends on the one refuse
path (``guard.judge.refuse``), as a static refusal does: a ``blocked`` audit row with the rule,
the structured refusal on the error, and the refusal kept for ``%guard request``."""
from __future__ import annotations

import time
from typing import Any

import pytest

from tests.pg.conftest import Db, run
from tests.pg.test_magic import idle_in_transaction, target

# the function's dynamic DELETE is seen only by its effect, when it runs
CREATE = ("CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $f$ "
          "BEGIN EXECUTE format('DELETE FROM %I', 'orders'); RETURN 1; END $f$")
TEXT = "SELECT f()"


@pytest.mark.parametrize("route", ["url-psycopg", "engine"])
def test_a_measured_refusal_ends_on_the_one_refuse_path(ip: Any, db: Db, route: str) -> None:
    where = target(ip, db, route, "analyst")
    assert run(ip, f"%%guarded_sql {where}\n{CREATE}").error is None
    g = ip._jupyter_guard_kernel.guard
    t0 = time.time()   # the guard keeps its last 200 events: pick this cell's by time
    r = run(ip, f"%%guarded_sql {where}\n{TEXT}")
    err = r.error
    assert isinstance(err, PermissionError) and err.rule_id not in ("", "guard-error"), repr(err)
    new = [e for e in g.recent if e["ts"] >= t0]
    assert not [e for e in new if e["rule_id"] == "self-protection"], new
    events = [e for e in new if e["code"].strip() == TEXT]
    # decided by its effect: the static decision let it start (a running event), then refused
    assert [e["status"] for e in events] == ["running", "blocked"], events
    assert (events[1]["decision"], events[1]["rule_id"]) == ("block", err.rule_id)
    assert err.details and (err.details["rule_id"], err.details["decision"]) == (
        err.rule_id, "block")
    assert g.last_blocked["code"].strip() == TEXT and g.last_blocked["verdict"].rule_id == err.rule_id
    assert g.last_blocked["event_id"] == events[0]["event_id"]
    db.intact()
    assert idle_in_transaction(db) == 0
