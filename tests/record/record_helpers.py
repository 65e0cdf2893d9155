"""Helpers shared by the record tests (imported as a plain module: tests/ has no packages)."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from jupyter_guard.record import AuditLog


def cell(log: AuditLog, i: int, **over: object) -> str:
    """One allowed SQL cell that reads a sensitive column, begun and finished."""
    kw: dict = dict(user="ada", actor="human", notebook="n.ipynb", cell_id=f"c{i}",  # noqa: C408
                    execution_count=i, kind="sql", code=f"SELECT ssn FROM customers -- {i}",
                    decision="allow", rule_id="", reason="no rule matched",
                    lineage=[("read", "table", "customers", False),
                             ("read", "column", "customers.ssn", True)])
    kw.update(over)
    event_id = log.begin(**kw)  # type: ignore[arg-type]
    if kw.get("status", "running") == "running":
        log.finish(event_id, status="ok", duration_ms=2.5, rows_affected=3,
                   lineage=[("write", "variable", f"df{i}", False)])
    return event_id


def python(code: str, **kw: object) -> subprocess.Popen[str]:
    """A real Python process running ``code`` with this package importable."""
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=Path(__file__).parents[2], **kw)  # type: ignore[call-overload]
