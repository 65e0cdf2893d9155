"""A guarded kernel's stop: every event of its last cells is in the store, once, and verifies;
the user's objects are still finalized at exit; what is alive after IPython's clean-up is frozen
so that finalization's collections skip it (``jupyter_guard/kernel/exit_order.py``)."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from jupyter_guard.record import verify
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel


def _events(audit: Path, cells: list[str]) -> list[tuple[str, str]]:
    """(cell, status) of every event of these cells, in the chain's order."""
    con = duckdb.connect(str(audit), read_only=True)
    try:
        return con.execute("SELECT cell_id, status FROM events WHERE list_contains(?, cell_id) "
                           "ORDER BY seq", [cells]).fetchall()
    finally:
        con.close()


def _send(k: Kernel, code: str, cell_id: str) -> None:
    """An execute request whose reply nobody waits for."""
    msg = k.kc.session.msg("execute_request", {
        "code": code, "silent": False, "store_history": True, "user_expressions": {},
        "allow_stdin": False, "stop_on_error": True}, metadata={"cellId": cell_id})
    k.kc.shell_channel.send(msg)


def test_a_normal_stop_leaves_every_last_event_in_the_store_once(work_root: Path):
    d = work_root / "shut22-normal"
    d.mkdir()
    audit = d / "audit.duckdb"
    with guarded_kernel(d, warehouse=50, connect=True) as k:   # stops it on leaving
        k.ok("n = con.execute('SELECT count(*) FROM customers').fetchone()[0]",
             metadata={"cellId": "last-0"})
        for i in range(1, 6):   # the ingest thread cannot have brought these in: no idle second
            r = k.run("con.execute('DROP TABLE customers')" if i == 3 else f"x{i} = {i}",
                      metadata={"cellId": f"last-{i}"})
            assert r.ok == (i != 3), r.everything()
    assert not list((d / "audit.duckdb.journal").glob("*.jsonl")), "a journal was left behind"
    assert _events(audit, [f"last-{i}" for i in range(6)]) == [(f"last-{i}", "blocked" if i == 3 else "ok")
                                        for i in range(6)]
    assert verify(audit).ok


def test_a_stop_during_a_long_cell_records_it_once_as_stopped(work_root: Path):
    d = work_root / "shut22-long"
    d.mkdir()
    audit = d / "audit.duckdb"
    k = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(audit), "JUPYTER_GUARD_POLICY": None})
    try:
        k.ok("%load_ext jupyter_guard")
        k.ok("y = 2", metadata={"cellId": "before-long"})   # the stop's SIGINT must not end it
        _send(k, "import time\ntime.sleep(120)", "long-cell")
        deadline = time.monotonic() + 60   # the cell has begun: its event is journaled
        journals = d / "audit.duckdb.journal"
        while not any("long-cell" in f.read_text() for f in journals.glob("*.jsonl")):
            assert time.monotonic() < deadline, "the long cell never started"
            time.sleep(0.05)
        t = time.monotonic()
    finally:
        k.stop()   # jupyter_client interrupts the cell (SIGINT), then asks the kernel to stop
    took = time.monotonic() - t
    rows = _events(audit, ["before-long", "long-cell"])
    assert rows[:1] == [("before-long", "ok")] and [c for c, _ in rows[1:]] == ["long-cell"], rows
    assert rows[1][1] in ("error", "interrupted"), rows   # ended by the stop, not left running
    assert verify(audit).ok
    assert took < 60, f"the stop waited for the cell ({took:.0f} s)"


# A real IPython shell in a child process: an exit function registered before ``install`` runs
# after it, and sees what the interpreter's finalization will see.
CHILD = """
import atexit, gc, sys
from IPython.core.interactiveshell import InteractiveShell
def after():
    print("FROZEN", gc.get_freeze_count() > 0, "USER_NS_CLEARED", "cyc" not in shell.user_ns,
          flush=True)
atexit.register(after)   # before the shell's own: it runs after IPython's clean-up
shell = InteractiveShell.instance()
from jupyter_guard.kernel import exit_order
if sys.argv[1] == "install":
    assert exit_order.install(shell) is not None
    assert exit_order.install(shell) is None   # once
shell.run_cell('''
class Cycle:
    def __del__(self):
        open(%r, "w").write("finalized")
cyc = Cycle(); cyc.me = cyc
''')
"""


@pytest.mark.parametrize("mode", ["install", "without"])
def test_the_exit_freezes_only_after_the_users_objects_are_finalized(tmp_path: Path, mode: str):
    mark = tmp_path / "del.txt"
    out = subprocess.run([sys.executable, "-c", CHILD % str(mark), mode], capture_output=True,
                         text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    # IPython's clean-up ran first either way: the user's object in a cycle was finalized
    assert mark.read_text() == "finalized"
    frozen = mode == "install"
    assert f"FROZEN {frozen} USER_NS_CLEARED True" in out.stdout, (out.stdout, out.stderr)
