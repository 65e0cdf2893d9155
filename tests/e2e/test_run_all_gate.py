"""Run All in a real JupyterLab (headless Chromium) stops at a cell the server gate refuses, as it
does at any error: the refusal shows after the cells before it finished, with its execution count,
and the cells after it never run."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_sidebar import CHROMIUM, CHROMIUM_ARGS, _api, lab, seed_events  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} is missing: apt-get install -y chromium"),
]


def notebook(db: Path) -> dict[str, Any]:
    def code(cell_id: str, source: str) -> dict[str, Any]:
        return {"cell_type": "code", "id": cell_id, "metadata": {}, "source": source,
                "execution_count": None, "outputs": []}

    return {"cells": [
        code("slow", f"import duckdb, time\ncon = duckdb.connect({str(db)!r})\ntime.sleep(3)\n"
                     "print('first done')"),
        code("drop", "con.execute('DROP TABLE t')\nprint('dropped')"),
        code("after", "print('after ran')"),
    ], "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                   "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5}


def test_run_all_stops_at_a_gate_refusal(lab: dict[str, Any]) -> None:  # noqa: F811 - fixture
    from playwright.sync_api import expect, sync_playwright

    (lab["root"] / "runall.ipynb").write_text(json.dumps(notebook(lab["db"])))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{lab['base']}/lab/tree/runall.ipynb?token={lab['token']}")
            nb = page.locator(".jp-NotebookPanel")
            expect(nb).to_be_visible(timeout=60_000)
            expect(page.locator(".jp-StatusBar-TextItem",
                                has_text=re.compile(r"Python 3 \(ipykernel\) \| Idle"))
                   ).to_have_count(1, timeout=60_000)
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            cells = nb.locator(".jp-CodeCell")
            # queued cells show [*] while the first one runs
            expect(cells.nth(1).locator(".jp-InputPrompt")).to_contain_text("[*]", timeout=10_000)
            expect(cells.nth(1).locator(".jp-OutputArea")).to_contain_text(
                "Blocked by jupyter_guard [destructive-ddl]", timeout=60_000)
            # in order: the first cell had finished before the refusal was shown
            assert "first done" in cells.nth(0).locator(".jp-OutputArea").inner_text()
            expect(cells.nth(0).locator(".jp-InputPrompt")).to_contain_text("[1]")
            expect(cells.nth(1).locator(".jp-InputPrompt")).to_contain_text("[2]")
            expect(page.locator(".jp-StatusBar-TextItem",
                                has_text=re.compile(r"Python 3 \(ipykernel\) \| Idle"))
                   ).to_have_count(1, timeout=30_000)
            # the cell after the refusal did not run
            expect(cells.nth(2).locator(".jp-InputPrompt")).to_contain_text("[ ]")
            expect(cells.nth(2).locator(".jp-OutputArea-output")).to_have_count(0)
            assert "dropped" not in cells.nth(1).locator(".jp-OutputArea").inner_text()
        finally:
            browser.close()
    import duckdb

    for kernel in _api(lab, "GET", "/api/kernels"):   # the kernel holds the file's lock
        _api(lab, "DELETE", f"/api/kernels/{kernel['id']}")
    con = duckdb.connect(str(lab["db"]), read_only=True)
    assert con.execute("SELECT count(*) FROM t").fetchone() == (3,)
    con.close()
