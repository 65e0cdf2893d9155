"""Cells run, and are refused, as usual while the collector runs the user's code at every
allocation: threshold 1, ``gc.callbacks`` that read frames (refused while the guard's frames
are live: the refusal leaves the callback as an unraisable error) or build a tree themselves,
a Python ``sys.unraisablehook`` that formats that error as pytest's does (``traceback`` parses
source lines for its carets), and a ``__del__`` that walks frames to the raw connection.

CPython keeps the AST constructor's recursion count per interpreter: a collection during the
cell's own parse that builds a tree made the parse fail with ``SystemError: AST constructor
recursion depth mismatch``, and the benign cell failed closed. The guard now parses a cell with
no collection inside (``cellhook._parse_uncollected``); the frame reads stay refused.
"""
from __future__ import annotations

import faulthandler
import gc
import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from jupyter_guard.connections import unwrap
from jupyter_guard.record.audit import AuditLog
from tests.conftest import make_warehouse, new_workspace
from tests.enforce.test_frame17_walks import SETUP
from tests.kernelutil import Kernel, Reply, guarded_kernel, wait_stopped

pytestmark = pytest.mark.kernel

HOSTILE = '''\
import ast
UNRAISED, PEEKS, ON = [], [], [1]
def _unraisable(u):
    UNRAISED.append(''.join(traceback.format_exception(u.exc_type, u.exc_value,
                                                       u.exc_traceback)))
def peek(phase, info):
    if phase == 'start' and ON:
        PEEKS.append(1)
        if len(PEEKS) % 20 == 0:
            hunt(sys._getframe(1))
        if len(PEEKS) % 5 == 0:
            ast.parse('a + b')
DELS = []
class D:   # frame17's finalizer: it walks frames at each collection (cycle() starts it)
    def __del__(s):
        if ON:
            DELS.append(1)
            try:
                len(DELS) % 4 or hunt(sys._getframe(1))
            except BaseException:
                TRIED.append(0)
            cycle()
def cycle():
    d = D()
    d.me = d
OLD = gc.get_threshold()
sys.unraisablehook = _unraisable
gc.callbacks.append(peek)
gc.set_threshold(1, 1, 1)
'''
CALM = '''\
ON.clear()
gc.set_threshold(*OLD)
sys.unraisablehook = sys.__unraisablehook__
gc.collect()
'''


@pytest.fixture()
def k(work_root: Path) -> Iterator[Kernel]:
    d = new_workspace(work_root)
    make_warehouse(d / "wh.duckdb", rows=50)
    c = unwrap(duckdb.connect(str(d / "wh.duckdb")))
    c.execute("CREATE TABLE victim1 AS SELECT 1 AS x")
    c.close()
    with guarded_kernel(d, connect=True) as kernel:
        kernel.ok(SETUP)
        yield kernel


def _no_guard_failure(r: Reply) -> None:
    text = r.everything()
    assert "SystemError" not in text and "guard-error" not in text and \
        "recursion depth mismatch" not in text, text


def _refused(r: Reply) -> None:
    """Refused with the guard's one error; IPython's own traceback rendering may still trip on
    the user's ``ast.parse`` in the collector (its fallback names that SystemError), never the
    guard's refusal path."""
    text = r.everything()
    assert r.status == "error" and r.error.get("ename") == "GuardBlocked", text
    assert "guard-error" not in text and "_refusal_tree" not in text and \
        "cellhook.py" not in text.split("SystemError")[0][-3000:], text


def _victim(k: Kernel) -> int:
    k.ok(CALM)
    r = k.ok("print('V', con.execute(\"SELECT count(*) FROM duckdb_tables() "
             "WHERE table_name = 'victim1'\").fetchall()[0][0], len(PEEKS) > 0, "
             "sum('reads the guard' in u for u in UNRAISED) > 0)")
    return int(r.stream.split("V ")[1].split()[0])


def test_cells_run_while_collections_run_the_users_code(k: Kernel) -> None:
    k.ok(HOSTILE + "cycle()\n")
    r = k.run("print('SUM', con.execute('SELECT count(*), CAST(sum(amount) AS DOUBLE) FROM customers')"
              ".fetchall())")
    _no_guard_failure(r)
    assert r.ok and "SUM [(50, 1837.5)]" in r.stream, r.everything()
    r = k.run("rows = [x * 2 for x in range(5)]\nprint('ROWS', rows, len(UNRAISED) > 0)")
    _no_guard_failure(r)
    assert r.ok and "ROWS [0, 2, 4, 6, 8] True" in r.stream, r.everything()
    # the collector's user code ran, and the frame reads it made were refused, not passed
    r = k.ok("print('SEEN', len(PEEKS) > 0, any('reads the guard' in u and 'GuardBlocked' in u "
             "for u in UNRAISED), len(UNRAISED))")
    assert "SEEN True True" in r.stream, r.everything()
    assert _victim(k) == 1


def test_refusals_still_come_while_collections_run_the_users_code(k: Kernel) -> None:
    # (IPython's first traceback loads its lexers: minutes with the collector at every
    # allocation; not what this test is about)
    assert k.run("raise ValueError('warm')").status == "error"
    k.ok(HOSTILE)
    for _ in range(3):
        _refused(k.run("con.execute('DROP TABLE victim1')"))
        _refused(k.run("open('wh.duckdb', 'wb').close()"))
    assert _victim(k) == 1
    assert (k.workdir / "wh.duckdb").stat().st_size > 0


def test_a_finalizer_walking_frames_in_a_guarded_call_finds_no_raw_connection(k: Kernel) -> None:
    """frame17's ``__del__`` spelling, with the parse-time hostility on as well."""
    k.ok(HOSTILE + "cycle()\n")
    r = k.run("try:\n    for i in range(30):\n        con.execute('SELECT 42').fetchall()\n"
              "        if BOX:\n            break\nexcept BaseException as e:\n"
              "    print('ERR', type(e).__name__)\nprint('DEL', len(TRIED) > 0)\nfinish(1)")
    _no_guard_failure(r)
    assert r.ok, r.everything()
    assert "DEL True" in r.stream and "NORAW" in r.stream and "RAWFOUND" not in r.stream, \
        r.everything()
    assert _victim(k) == 1


# -- the audit writer re-entered on its own thread -------------------------------------------

def _begin(log: AuditLog, cell: str, status: str) -> str:
    return log.begin(user="alice", actor="human", notebook="n.ipynb", cell_id=cell,
                     execution_count=1, kind="runtime", code="sys._getframe(1)",
                     decision="block" if status == "blocked" else "allow",
                     rule_id="self-protection" if status == "blocked" else "", reason="r",
                     status=status)


def test_a_refusal_recorded_while_the_audit_writes_is_recorded_after_it(tmp_path: Path) -> None:
    """No collection starts while the writer holds its lock (one would run the user's
    ``__del__``, whose refused frame read is recorded on the same thread: before, the lock was
    taken twice and the kernel hung); a write re-entered anyway, here from a signal handler,
    is written after the outer one, in chain order, and the chain verifies."""
    wait_stopped()   # no kernel of an earlier module exits in a thread beside it (its
    # collections would start while this thread holds the writer's lock)
    path = tmp_path / "audit.duckdb"
    log = AuditLog(path, background=False)
    nested: list[str] = []
    inside: list[int] = []

    lock: Any = log._lock
    held = getattr(lock, "_is_owned", None) or lock.locked   # (by this thread: the only writer)
    busy: list[int] = []

    def in_collection(phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and held():
            inside.append(1)

    def refused_in_handler(signum: int, frame: Any) -> None:
        if not nested and not busy and held():
            busy.append(1)   # (the timer fires again inside the handler)
            nested.append(_begin(log, "nested", "blocked"))
            log.request_approval(nested[0], requested_by="alice", code="x", reason="r")

    outer: list[str] = []
    faulthandler.dump_traceback_later(60, exit=True)   # a hang ends the run, with its stacks
    old, old_handler = gc.get_threshold(), signal.signal(signal.SIGALRM, refused_in_handler)
    gc.callbacks.append(in_collection)
    gc.set_threshold(1)
    signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)
    try:
        for i in range(20000):
            outer.append(_begin(log, f"c{i}", "running"))
            log.finish(outer[-1], status="ok", duration_ms=1.0)
            if nested:
                break
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        gc.set_threshold(*old)
        gc.callbacks.remove(in_collection)
        faulthandler.cancel_dump_traceback_later()
    assert not inside, f"{len(inside)} collections started while the writer held its lock"
    assert nested, "the handler never ran inside a write: the test proves nothing"
    lines = [json.loads(x) for x in Path(log.journal_path).read_text().splitlines()]
    log.close()
    final = [x for x in lines if x.get("seq")]
    assert [x["seq"] for x in final] == list(range(1, len(final) + 1))
    assert any(x["t"] == "begin" and x["event_id"] == nested[0] for x in lines)
    assert any(x["t"] == "approval" and x["event_id"] == nested[0] for x in lines)
    assert len([x for x in lines if x["t"] == "end"]) == len(outer)
    from jupyter_guard.record.verify import verify

    res = verify(path)   # (``close`` brought the journal into the store)
    assert res.ok, res
