"""Sealed segments under real kernels: a plain reader never fails while segments are sealed and
merged, a SIGKILLed kernel loses nothing, every event is in ``events`` exactly once."""
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


def test_kernels_seal_and_merge_while_a_reader_polls_and_one_is_killed(work_root: Path):
    d = work_root / "segments"
    d.mkdir()
    audit = d / "audit.duckdb"
    env = {"JUPYTER_GUARD_AUDIT": str(audit), "JUPYTER_GUARD_AUDIT_SEGMENT": "5"}
    kernels = [Kernel(d, {**env, "JUPYTER_GUARD_USER": f"user{n}"}) for n in range(2)]
    failures: list[str] = []
    polls = 0
    stop = threading.Event()

    def reader() -> None:
        nonlocal polls
        while not stop.is_set():
            if audit.exists():
                try:  # a plain read-only open, no retry: must never fail
                    con = duckdb.connect(str(audit), read_only=True)
                    con.execute("SELECT count(*), count(DISTINCT name) FROM events, lineage "
                                "WHERE events.event_id = lineage.event_id").fetchall()
                    con.close()
                    polls += 1
                except duckdb.Error as e:
                    failures.append(str(e))
            time.sleep(0.05)

    def work(k: Kernel, n: int) -> None:
        for i in range(40):
            code = f"v{i} = {i} * 2" if i % 10 else "import shutil; shutil.rmtree('data')"
            k.run(code, metadata={"cellId": f"k{n}-c{i}"})

    t = threading.Thread(target=reader)
    killed = kernels[1]
    try:
        for k in kernels:
            assert k.run("%load_ext jupyter_guard").status == "ok"
        t.start()
        workers = [threading.Thread(target=work, args=(k, n)) for n, k in enumerate(kernels)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        seals = Path(f"{audit}.seals.jsonl")   # the kernels' own ingests seal what they write
        deadline = time.monotonic() + 60
        while not (seals.exists() and seals.read_text().strip()):
            assert time.monotonic() < deadline, "no kernel sealed a segment"
            time.sleep(0.1)
        msg = killed.kc.session.msg("execute_request", {
            "code": "import time\ntime.sleep(60)", "silent": False, "store_history": True,
            "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
            metadata={"cellId": "long-cell"})
        killed.kc.shell_channel.send(msg)
        deadline = time.monotonic() + 60
        journals = d / "audit.duckdb.journal"
        while not any("long-cell" in f.read_text() for f in journals.glob("*.jsonl")):
            assert time.monotonic() < deadline, "the long cell never started"
            time.sleep(0.05)
        os.kill(killed.km.provisioner.process.pid, signal.SIGKILL)
    finally:
        kernels[0].stop()
        killed.kc.stop_channels()
        killed.km.cleanup_resources()
        stop.set()
        if t.is_alive():
            t.join()
    deadline = time.monotonic() + 60
    while True:   # the killed kernel's pid must be gone before its session counts as ended
        ingest(audit)
        con = duckdb.connect(str(audit), read_only=True)
        status = con.execute("SELECT status FROM events WHERE cell_id = 'long-cell'").fetchall()
        con.close()
        if status == [("interrupted",)] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == [("interrupted",)]
    assert not failures, failures[:3]
    assert polls > 5
    con = duckdb.connect(str(audit), read_only=True)
    rows = con.execute("SELECT user_name, count(*), count(DISTINCT cell_id), count(*) FILTER "
                       "(WHERE status = 'blocked') FROM events WHERE cell_id LIKE 'k%' "
                       "GROUP BY user_name ORDER BY 1").fetchall()
    (segs, biggest), = con.execute("SELECT count(*), max(events) FROM segments").fetchall()
    (live,), = con.execute("SELECT count(*) FROM events_live").fetchall()
    con.close()
    assert rows == [(f"user{n}", 40, 40, 4) for n in range(2)]
    assert segs >= 1 and live < 40     # most events left the published file
    assert biggest > 5 or segs >= 2
    out = subprocess.run([sys.executable, "-m", "jupyter_guard.cli", "verify"],
                         env={**os.environ, "JUPYTER_GUARD_AUDIT": str(audit)},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    # the store's first verify links the sealed segments
    assert "sealed segment(s)" in out.stdout + out.stderr, out
    assert verify(audit).ok
