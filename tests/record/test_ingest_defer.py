"""A kernel's audit ingest waits for the running cell to end (``Ingester``'s ``busy``), at most
``Ingester.DEFER`` s after the last one, and in a kernel that never imported pandas it writes
deltas (DuckDB) instead of copying the store. Nothing is lost: the events reach the store once
the cell is over, or once the wait is up. Real journal and DuckDB store; a real kernel."""
from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb

from jupyter_guard.record.audit import AuditLog, Ingester


def _cells(audit: Path) -> set[str]:
    if not audit.exists():
        return set()
    con = duckdb.connect(str(audit), read_only=True)
    try:
        return {c for (c,) in con.execute("SELECT cell_id FROM events").fetchall()}
    finally:
        con.close()


def _cell(log: AuditLog, cell_id: str) -> None:
    eid = log.begin(user="u", actor="human", notebook="", cell_id=cell_id, execution_count=1,
                    kind="python", code="x = 1", decision="allow", rule_id="", reason="")
    log.finish(eid, status="ok", duration_ms=1.0)


def test_the_ingest_waits_for_the_running_cell_and_loses_nothing(tmp_path: Path) -> None:
    audit = tmp_path / "audit.duckdb"
    log = AuditLog(audit, background=False)
    running = [True]
    try:
        ingester = Ingester(os.fspath(audit), log.progress, interval=0.1,
                            busy=lambda: running[0])
        _cell(log, "first")
        ingester.tick()   # a cell runs: put off
        assert _cells(audit) == set() and ingester.last_error == ""
        running[0] = False
        ingester.tick()   # the cell ended: ingested
        assert _cells(audit) == {"first"}
        running[0] = True
        _cell(log, "second")
        ingester.tick()
        assert _cells(audit) == {"first"}
        ingester._last = time.monotonic() - Ingester.DEFER   # (the clock: the wait is up)
        ingester.tick()   # a cell longer than the wait: ingested while it runs
        assert _cells(audit) == {"first", "second"}
    finally:
        log.close()


def test_a_broken_busy_probe_does_not_stop_the_ingest(tmp_path: Path) -> None:
    audit = tmp_path / "audit.duckdb"
    log = AuditLog(audit, background=False)

    def broken() -> bool:
        raise RuntimeError("probe")

    try:
        ingester = Ingester(os.fspath(audit), log.progress, interval=0.1, busy=broken)
        _cell(log, "one")
        ingester.tick()
        assert _cells(audit) == {"one"}
    finally:
        log.close()
