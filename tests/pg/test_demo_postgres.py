"""The PostgreSQL demo notebook runs top to bottom under nbclient against a throwaway server:
blocked cells (tagged raises-exception) end in the guard's error, everything else runs, no email
or SSN reaches the outputs, and the database is intact but for the one targeted DELETE."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.pg.conftest import Db

ROOT = Path(__file__).resolve().parent.parent.parent


def test_postgres_demo_notebook_runs(db: Db, work_root: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    d = work_root / "pg-demo"
    d.mkdir()
    shutil.copy(ROOT / "notebooks" / "postgres.ipynb", d / "postgres.ipynb")
    monkeypatch.setenv("JUPYTER_GUARD_AUDIT", str(d / "audit.duckdb"))
    monkeypatch.setenv("JUPYTER_GUARD_DEMO_PG", db.dsn)
    nb = nbformat.read(d / "postgres.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(d)}}).execute()
    blocked = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if "raises-exception" in cell.metadata.get("tags", []):
            assert errors and errors[0].ename == "GuardBlocked", (cell.source, errors)
            assert "Blocked by jupyter_guard [" in "".join(errors[0].traceback)
            blocked += 1
        else:
            assert not errors, (cell.source, errors)
        text = "".join(str(o.get("text", "")) + str(o.get("data", "")) for o in cell.outputs)
        assert not re.search(r"user\d+@example\.com|1000000\d\d", text), text
    assert blocked == 6
    assert not os.path.exists("/tmp/jg-demo-leak.csv")
    assert db.count("customers") == 10_000
    assert db.count("orders") == 50_000 - 1
    assert db.query("SELECT count(*) FROM pg_trigger WHERE tgenabled = 'D'")[0][0] == 0
