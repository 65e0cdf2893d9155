"""The approval loop between two people, each in their own browser on one JupyterLab (headless
Chromium): alice's cell is refused and she asks for approval; gina sees the request in her Guard
sidebar with its code, rule and reason and clicks Approve; alice's sidebar shows it approved, her
cell then runs once and is refused again, and her request shows as used.

Runs where the server has the approvals API (an ``approval_api`` module beside the server
extension)."""
from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_sidebar import CHROMIUM, CHROMIUM_ARGS, REPO, _api, lab, seed_events  # noqa: F401
from tests.e2e.test_sidebar_template import IDLE, _failure_shot, _open_sidebar
from tests.e2e.two_users import GINA_TOKEN


def _has_approvals() -> bool:
    for package in ("jupyter_guard.server", "jupyter_guard.show"):
        try:
            if importlib.util.find_spec(f"{package}.approval_api") is not None:
                return True
        except ModuleNotFoundError:   # the package itself is not there (before or after a move)
            continue
    return False


pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} is missing: apt-get install -y chromium"),
    pytest.mark.skipif(not _has_approvals(), reason="the server has no approvals API yet"),
    pytest.mark.lab_server(
        server={"identity_provider_class": "tests.e2e.two_users.TwoUsers"},
        env={"JUPYTER_GUARD_POLICY": str(Path(__file__).with_name("approvers.yaml")),
             "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH"))
                                           if p)}),
]

DROP = "con.execute(f'DROP TABLE {t}')"   # a name only the kernel resolves


def _notebook(db: Path) -> dict[str, Any]:
    def code(cell_id: str, source: str) -> dict[str, Any]:
        return {"cell_type": "code", "id": cell_id, "metadata": {}, "source": source,
                "execution_count": None, "outputs": []}

    return {"cells": [code("load", "%load_ext jupyter_guard"),
                      code("open", f"import duckdb\ncon = duckdb.connect({str(db)!r})\nt = 't'"),
                      code("drop", DROP),
                      code("ask", "%guard request nightly rebuild")],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                        "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def _run_cell(page: Any, cell: Any) -> None:
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+Enter")


def test_gina_approves_alices_request_in_her_sidebar(lab: dict[str, Any]) -> None:
    from playwright.sync_api import expect, sync_playwright

    (lab["root"] / "alice.ipynb").write_text(json.dumps(_notebook(lab["db"])))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        alice = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        gina = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page = alice
        try:
            alice.goto(f"{lab['base']}/lab/tree/alice.ipynb?token={lab['token']}")
            nb = alice.locator(".jp-NotebookPanel")
            expect(nb).to_be_visible(timeout=60_000)
            expect(alice.locator(".jp-StatusBar-TextItem", has_text=IDLE)).to_have_count(
                1, timeout=60_000)
            alice.get_by_role("menuitem", name="Run", exact=True).click()
            alice.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            cells = nb.locator(".jp-CodeCell")
            expect(cells.nth(2).locator(".jp-OutputArea")).to_contain_text(
                "Blocked by jupyter_guard [destructive-ddl]", timeout=60_000)
            expect(alice.locator(".jp-StatusBar-TextItem", has_text=IDLE)).to_have_count(
                1, timeout=60_000)
            _run_cell(alice, cells.nth(3))
            asked = cells.nth(3).locator(".jp-OutputArea")
            expect(asked).to_contain_text("Approval requested:", timeout=60_000)
            found = re.search(r"Approval requested: (\w+)", asked.inner_text())
            assert found, asked.inner_text()
            rid = found.group(1)

            alice_panel = _open_sidebar(alice)
            mine = alice_panel.locator(f".jp-GuardPanel-mine li[data-id='{rid}']")
            expect(mine).to_have_attribute("data-status", "pending", timeout=30_000)
            # alice may not approve: no buttons for her, anywhere
            expect(alice_panel.locator(".jp-GuardPanel-approve")).to_have_count(0)

            page = gina
            gina.goto(f"{lab['base']}/lab?token={GINA_TOKEN}")
            # the same workspace as alice's: the sidebar may be open already (a tab click would
            # close it), so the palette opens it
            expect(gina.locator(".jp-LabShell")).to_be_visible(timeout=60_000)
            expect(gina.locator('.jp-SideBar.jp-mod-left li[data-id="jupyter-guard-panel"]')
                   ).to_be_visible(timeout=60_000)
            gina_panel = _open_sidebar(gina)
            request = gina_panel.locator(f".jp-GuardPanel-toDecide li[data-id='{rid}']")
            expect(request).to_be_visible(timeout=30_000)
            expect(request.locator(".jp-GuardPanel-requester")).to_have_text("alice")
            expect(request.locator(".jp-GuardPanel-rule")).to_have_text("destructive-ddl")
            expect(request.locator(".jp-GuardPanel-reason")).to_have_text("nightly rebuild")
            expect(request.locator(".jp-GuardPanel-code")).to_have_text(DROP)
            request.locator(".jp-GuardPanel-decisionReason").fill("ok for tonight")
            request.locator(".jp-GuardPanel-approve").click()
            expect(gina_panel.locator(".jp-GuardPanel-requestMessage")).to_contain_text(
                f"Request {rid} of alice: approved", timeout=30_000)
            expect(request).to_have_count(0, timeout=30_000)   # nothing left to decide

            page = alice
            expect(mine).to_have_attribute("data-status", "approved", timeout=30_000)
            expect(mine).to_contain_text("by gina")
            _run_cell(alice, cells.nth(2))
            expect(cells.nth(2).locator(".jp-OutputArea")).not_to_contain_text(
                "Blocked", timeout=60_000)
            expect(cells.nth(2).locator(".jp-OutputArea")).to_contain_text(
                "DuckDBPyConnection", timeout=60_000)
            expect(mine).to_have_attribute("data-status", "used", timeout=30_000)
            _run_cell(alice, cells.nth(2))   # once only
            expect(cells.nth(2).locator(".jp-OutputArea")).to_contain_text(
                "Blocked by jupyter_guard [destructive-ddl]", timeout=60_000)
        except Exception:
            _failure_shot(page, lab)
            raise
        finally:
            browser.close()
    for kernel in _api(lab, "GET", "/api/kernels"):
        _api(lab, "DELETE", f"/api/kernels/{kernel['id']}")
    import duckdb

    con = duckdb.connect(str(lab["db"]), read_only=True)
    try:   # the approved DROP ran, once
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 't'"
                           ).fetchone() == (0,)
    finally:
        con.close()
