"""The writers' lock (``filelock`` over ``flock``): one writer at a time across processes, released
by the kernel when its holder is SIGKILLed (no marker file left to freeze ingestion), and a file
no other account can open."""
from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

from record_helpers import cell, python

from jupyter_guard.record import AuditLog, try_ingest
from jupyter_guard.record.health import staleness
from jupyter_guard.record.store import lock_path, store_lock

HOLDER = """
import sys, time
from jupyter_guard.record.store import store_lock
with store_lock(sys.argv[1], wait=None):
    print("held", flush=True)
    time.sleep(600)
"""


def _holder(audit: Path):  # type: ignore[no-untyped-def]
    p = python(HOLDER.replace("sys.argv[1]", repr(str(audit))))
    assert p.stdout is not None and p.stdout.readline().strip() == "held"
    return p


def test_a_held_lock_is_said_and_a_sigkilled_holder_frees_it(audit: Path) -> None:
    log = AuditLog(audit, background=False)
    cell(log, 1)
    p = _holder(audit)
    try:
        assert try_ingest(audit, wait=0.2) is None          # another process holds it
        assert "lock" in staleness(audit)                   # and readers are told
        with store_lock(audit, wait=0) as got:
            assert not got
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=60)
    assert lock_path(audit).exists()                        # no marker semantics: file stays
    assert try_ingest(audit, wait=30) == 1                  # the kernel released the flock
    assert staleness(audit) == ""
    log.close()


def test_the_lock_is_writers_only_even_if_an_old_version_made_it_0644(audit: Path) -> None:
    with store_lock(audit, wait=0) as got:
        assert got
    mode = stat.S_IMODE(lock_path(audit).stat().st_mode)
    assert mode & 0o007 == 0, oct(mode)
    os.chmod(lock_path(audit), 0o644)
    with store_lock(audit, wait=0) as got:
        assert got
    assert stat.S_IMODE(lock_path(audit).stat().st_mode) & 0o007 == 0


def test_one_process_waits_for_the_other(audit: Path) -> None:
    p = _holder(audit)
    try:
        with store_lock(audit, wait=0.3) as got:
            assert not got
    finally:
        p.terminate()
        p.wait(timeout=60)
    with store_lock(audit, wait=30) as got:
        assert got
