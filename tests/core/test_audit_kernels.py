"""The audit store under real kernels: concurrency, readers at any moment, SIGKILL mid-cell."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from jupyter_guard.record import ingest, verify
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel


def test_four_kernels_hundred_cells_each_while_a_reader_polls(work_root: Path):
    d = work_root / "four"
    d.mkdir()
    audit = d / "audit.duckdb"
    env = {"JUPYTER_GUARD_AUDIT": str(audit)}
    kernels = [Kernel(d, {**env, "JUPYTER_GUARD_USER": f"user{n}"}) for n in range(4)]
    failures: list[str] = []
    polls = 0
    stop = threading.Event()

    def reader() -> None:
        nonlocal polls
        while not stop.is_set():
            if audit.exists():
                try:  # a plain read-only open, no retry: must never fail
                    con = duckdb.connect(str(audit), read_only=True)
                    con.execute("SELECT count(*) FROM events").fetchall()
                    con.close()
                    polls += 1
                except duckdb.Error as e:
                    failures.append(str(e))
            time.sleep(0.05)

    def work(k: Kernel, n: int) -> None:
        for i in range(100):
            code = f"v{i} = {i} * 2" if i % 10 else "con.execute('DROP TABLE customers')"
            k.run(code, metadata={"cellId": f"k{n}-c{i}"})

    try:
        for k in kernels:
            assert k.run("%load_ext jupyter_guard\nimport duckdb\ncon = duckdb.connect()").status == "ok"
        t = threading.Thread(target=reader)
        t.start()
        workers = [threading.Thread(target=work, args=(k, n)) for n, k in enumerate(kernels)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    finally:
        for k in kernels:
            k.stop()
        stop.set()
    t.join()
    ingest(audit)
    assert not failures, failures[:3]
    assert polls > 10
    con = duckdb.connect(str(audit), read_only=True)
    rows = con.execute("SELECT user_name, count(*), count(DISTINCT cell_id), "
                       "count(*) FILTER (WHERE status = 'blocked') FROM events WHERE cell_id LIKE 'k%' "
                       "GROUP BY user_name ORDER BY 1").fetchall()
    con.close()
    assert rows == [(f"user{n}", 100, 100, 10) for n in range(4)]
    assert verify(audit).ok


def test_sigkill_mid_cell_leaves_an_interrupted_event(work_root: Path):
    d = work_root / "killed"
    d.mkdir()
    audit = d / "audit.duckdb"
    k = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(audit)})
    try:
        assert k.run("%load_ext jupyter_guard").status == "ok"
        msg = k.kc.session.msg("execute_request", {"code": "import time\ntime.sleep(60)", "silent": False,
                                                   "store_history": True, "user_expressions": {},
                                                   "allow_stdin": False, "stop_on_error": True},
                               metadata={"cellId": "long-cell"})
        k.kc.shell_channel.send(msg)
        deadline = time.monotonic() + 60        # the cell has begun: its event is journaled
        journals = d / "audit.duckdb.journal"
        while not any("long-cell" in f.read_text() for f in journals.glob("*.jsonl")):
            assert time.monotonic() < deadline, "the long cell never started"
            time.sleep(0.05)
        pid = k.km.provisioner.process.pid
        os.kill(pid, signal.SIGKILL)  # not reaped yet: a zombie is dead too
        while _alive(pid):
            assert time.monotonic() < deadline, "the killed kernel is still running"
            time.sleep(0.05)
    finally:
        k.kc.stop_channels()
        k.km.cleanup_resources()
    out = subprocess.run([sys.executable, "-m", "jupyter_guard.cli", "--audit", str(audit), "verify"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    con = duckdb.connect(str(audit), read_only=True)
    status = con.execute("SELECT status FROM events WHERE cell_id = 'long-cell'").fetchall()
    con.close()
    assert status == [("interrupted",)]


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie nobody reaped yet."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
