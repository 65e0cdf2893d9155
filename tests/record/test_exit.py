"""A process that leaves without closing its audit log stops the ingest thread first.

Finalization stops daemon threads wherever they are; one inside DuckDB's C++ code aborts the
whole process (``terminate called ... FATAL: exception not rethrown``) after the user's work
is done. The child below registers its check before the guard's module is imported, so the
check runs after the guard's own exit handler (handlers run last in, first out).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CHILD = """
import atexit, sys, threading
def alive():
    from jupyter_guard.record.audit import Ingester
    names = [t.name for t in threading.enumerate() if isinstance(t, Ingester) and t.is_alive()]
    print("ALIVE" if names else "STOPPED", flush=True)
atexit.register(alive)
from jupyter_guard.record import AuditLog
log = AuditLog(sys.argv[1], interval=0.01)
for i in range(50):
    e = log.begin(user="ada", actor="human", notebook="n.ipynb", cell_id=f"c{i}",
                  execution_count=i, kind="python", code=f"x = {i}", decision="allow",
                  rule_id="", reason="no rule matched")
    log.finish(e, status="ok", duration_ms=1.0)
"""


def test_leaving_without_close_stops_the_ingest_thread_before_finalization(tmp_path: Path
                                                                           ) -> None:
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "audit.duckdb")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "STOPPED", (out.stdout, out.stderr[-2000:])
    assert "FATAL" not in out.stderr
