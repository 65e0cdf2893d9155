"""The demo notebook runs top to bottom under nbclient: blocked cells (tagged raises-exception) end in
the guard's error, everything else runs, and the warehouse is intact afterwards."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import duckdb
import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.kernel
def test_demo_notebook_runs(work_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = work_root / "demo"
    d.mkdir()
    run_demo(d, monkeypatch)


@pytest.mark.kernel
def test_demo_notebook_runs_from_a_clone_under_tmp(monkeypatch: pytest.MonkeyPatch) -> None:
    """The system temp dir is free to clean up, but not the protected paths of a notebook kept
    there: `!rm -rf data` and `shutil.rmtree('data')` are refused under /tmp too."""
    d = Path(tempfile.mkdtemp(prefix="jg-demo-", dir="/tmp"))
    try:
        run_demo(d, monkeypatch)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def run_demo(d: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(ROOT / "notebooks" / "demo.ipynb", d / "demo.ipynb")
    monkeypatch.setenv("JUPYTER_GUARD_AUDIT", str(d / "audit.duckdb"))
    nb = nbformat.read(d / "demo.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(d)}}).execute()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if "raises-exception" in cell.metadata.get("tags", []):
            assert errors and errors[0].ename == "GuardBlocked", cell.source
            assert "Blocked by jupyter_guard [" in "".join(errors[0].traceback)
        else:
            assert not errors, (cell.source, errors)
        text = "".join(str(o.get("text", "")) + str(o.get("data", "")) for o in cell.outputs)
        assert "user1@example.com" not in text and "4111 1111 1111 1111" not in text
    assert (d / "data" / "customers_2024.csv").exists() and not (d / "leak.csv").exists()
    con = duckdb.connect(str(d / "warehouse.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM customers").fetchone() == (5000,)
    assert con.execute("SELECT count(*) FROM orders").fetchone() == (19990,)
    con.close()
