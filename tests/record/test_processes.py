"""Real processes: concurrent writers with a plain read-only poller, and a SIGKILLed kernel."""
from __future__ import annotations

import json
import signal
from pathlib import Path

from record_helpers import python

from jupyter_guard.record import AuditLog, connect_readonly, ingest, verify

WRITER = """
import sys, time
sys.path.insert(0, {helpers!r})
from jupyter_guard.record import AuditLog
from record_helpers import cell
log = AuditLog({audit!r}, interval=0.3)
for i in range(100):
    cell(log, i, user="user{n}")
    time.sleep(0.005)
log.close()
"""

POLLER = """
import os, time, duckdb
ok = fail = 0
errors = []
print("ready", flush=True)
while not os.path.exists({stop!r}):
    try:
        con = duckdb.connect({audit!r}, read_only=True)
        con.execute("SELECT count(*) FROM events WHERE status = 'ok'").fetchall()
        con.close()
        ok += 1
    except Exception as exc:
        fail += 1
        errors.append(str(exc)[:200])
print(ok, fail, errors[:3])
"""


def test_four_writers_and_a_plain_reader(audit: Path, tmp_path: Path) -> None:
    ingest(audit)  # the file exists before the reader starts polling
    stop = tmp_path / "stop"
    poller = python(POLLER.format(audit=str(audit), stop=str(stop)))
    assert poller.stdout is not None and poller.stdout.readline().strip() == "ready"
    helpers = str(Path(__file__).parent)
    writers = [python(WRITER.format(audit=str(audit), helpers=helpers, n=n)) for n in range(4)]
    for w in writers:
        out, err = w.communicate(timeout=60)
        assert w.returncode == 0, err
    ingest(audit)
    stop.touch()
    out, err = poller.communicate(timeout=30)
    reads, failures, errors = out.split(" ", 2)
    assert int(failures) == 0, errors
    assert int(reads) > 10
    print("reader polls:", reads)
    con = connect_readonly(audit)
    got = con.execute("SELECT user_name, count(*), count(DISTINCT event_id), max(seq), "
                      "count(*) FILTER (status = 'ok') FROM events GROUP BY 1 ORDER BY 1"
                      ).fetchall()
    con.close()
    assert got == [(f"user{n}", 100, 100, 100, 100) for n in range(4)]
    result = verify(audit)
    assert result.ok and result.checked == 400, result.problems


KILLED = """
import time
from jupyter_guard.record import AuditLog
log = AuditLog({audit!r}, background=False)
done = log.begin(user="ada", actor="human", notebook="n", cell_id="c1", execution_count=1,
                 kind="python", code="x = 1", decision="allow", rule_id="", reason="")
log.finish(done, status="ok", duration_ms=1.0)
cut = log.begin(user="ada", actor="human", notebook="n", cell_id="c2", execution_count=2,
                kind="sql", code="SELECT * FROM big", decision="allow", rule_id="", reason="",
                lineage=[("read", "table", "big", False)])
print(cut, flush=True)
time.sleep(60)
"""


def test_sigkill_mid_cell_leaves_an_interrupted_event(audit: Path) -> None:
    proc = python(KILLED.format(audit=str(audit)))
    assert proc.stdout is not None
    cut = proc.stdout.readline().strip()
    ingest(audit)  # writer alive: the event stays running
    con = connect_readonly(audit)
    assert con.execute(f"SELECT status FROM events WHERE event_id = '{cut}'").fetchall() == [
        ("running",)]
    con.close()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.communicate()
    # The next guard process (a new kernel here) brings it in.
    AuditLog(audit, background=False).close()
    con = connect_readonly(audit)
    assert con.execute("SELECT cell_id, status, seq FROM events ORDER BY seq").fetchall() == [
        ("c1", "ok", 1), ("c2", "interrupted", 2)]
    assert con.execute(f"SELECT name FROM lineage WHERE event_id = '{cut}'").fetchall() == [
        ("big",)]
    con.close()
    assert verify(audit).ok
    journal = audit.parent / "audit.duckdb.journal" / "ingested"
    lines = [json.loads(x) for f in journal.glob("*.jsonl") for x in f.read_text().splitlines()]
    (last,) = [x for x in lines if x.get("status") == "interrupted"]
    assert last["event_id"] == cut and last["by"] == "ingest"


def test_a_kernel_that_closes_mid_cell_is_interrupted_too(audit: Path) -> None:
    log = AuditLog(audit, background=False)
    cut = log.begin(user="ada", actor="human", notebook="n", cell_id="c1", execution_count=1,
                    kind="python", code="x = 1", decision="allow", rule_id="", reason="")
    log.close()
    con = connect_readonly(audit)
    assert con.execute(f"SELECT status FROM events WHERE event_id = '{cut}'").fetchall() == [
        ("interrupted",)]
    con.close()


FORKER = """
import os, sys, time
sys.path.insert(0, {helpers!r})
from jupyter_guard.record import AuditLog, connect_readonly
from record_helpers import cell
log = AuditLog({audit!r}, interval=0.1)

def published(n):
    for _ in range(200):
        try:
            con = connect_readonly({audit!r})
            count = con.execute("SELECT count(*) FROM events").fetchone()[0]
            con.close()
            if count >= n:
                return True
        except Exception:
            pass
        time.sleep(0.05)
    return False

cell(log, 0)
assert published(1)           # the ingester thread's DuckDB instance is up
pid = os.fork()
if pid == 0:                  # a child that records, closes and ends through a normal shutdown
    cell(log, 7)
    log.close()
    sys.exit(3)
code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
cell(log, 1)
print(code, published(3), flush=True)
log.close()
"""


def test_a_forked_child_records_exits_normally_and_every_chain_verifies(audit: Path) -> None:
    """A forked child records into a session of its own (appending to the parent's chain made
    `verify` report reordered rows), with a DuckDB of its own for its last ingest."""
    helpers = str(Path(__file__).parent)
    p = python(FORKER.format(audit=str(audit), helpers=helpers))
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert out.split() == ["3", "True"], (out, err)
    assert verify(audit).ok
    con = connect_readonly(audit)
    sessions = con.execute("SELECT cell_id, session_id FROM events ORDER BY cell_id").fetchall()
    con.close()
    by_cell = dict(sessions)
    assert set(by_cell) == {"c0", "c1", "c7"} and by_cell["c0"] == by_cell["c1"] != by_cell["c7"]
