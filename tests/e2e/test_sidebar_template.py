"""The Guard sidebar as a JupyterLab extension should behave, in a real JupyterLab driven by
headless Chromium: opened from the command palette, restored with the layout, a refused cell's
event with the refused statement highlighted and the safer rewrite, and no polling while the
panel is hidden (the browser's requests to the events endpoint are counted).
"""
from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_sidebar import CHROMIUM, CHROMIUM_ARGS, _api, lab, seed_events  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} is missing: apt-get install -y chromium"),
]

COPY = "COPY (SELECT id, ssn FROM c) TO 'out.csv'"
SAFER = "COPY (SELECT id FROM c) TO 'out.csv'"
IDLE = re.compile(r"Python 3 \(ipykernel\) \| Idle")


def _notebook(db: Path) -> dict[str, Any]:
    def code(cell_id: str, source: str) -> dict[str, Any]:
        return {"cell_type": "code", "id": cell_id, "metadata": {}, "source": source,
                "execution_count": None, "outputs": []}

    return {"cells": [code("load", "%load_ext jupyter_guard"),
                      code("export", f"%%guarded_sql duckdb:///{db}\nSELECT 1 AS one;\n{COPY}")],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                        "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def _settings(lab: dict[str, Any], **values: Any) -> None:
    """The sidebar's user settings, read by the page when it loads."""
    folder = lab["root"].parent / "settings" / "jupyter-guard"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sidebar.jupyterlab-settings").write_text(json.dumps(values))


def _wait(page: Any, condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Wait on a condition that page events change (Playwright delivers them while it waits)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout} s for {what}")
        page.wait_for_timeout(100)


def _open_lab(p: Any, lab: dict[str, Any], path: str) -> tuple[Any, Any]:
    browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{lab['base']}/lab/tree/{path}?token={lab['token']}")
    return browser, page


def _open_sidebar(page: Any, attempts: int = 5) -> Any:
    """Open the Guard sidebar through the command palette (it stays open if it already is).

    A page still restoring its layout can take the focus away from the palette: try again."""
    from playwright.sync_api import Error, expect

    panel = page.locator("#jupyter-guard-panel")
    for attempt in range(attempts):
        if panel.is_visible():
            return panel
        try:
            page.keyboard.press("Escape")
            page.keyboard.press("Control+Shift+C")
            palette = page.locator(".lm-CommandPalette-input")
            palette.fill("Open the Guard sidebar", timeout=5_000)
            item = page.locator(".lm-CommandPalette-item", has_text="Open the Guard sidebar")
            expect(item).to_be_visible(timeout=5_000)
            item.click(timeout=5_000)
            expect(panel).to_be_visible(timeout=5_000)
            return panel
        except (AssertionError, Error):
            if attempt == attempts - 1:
                raise
    return panel


def _failure_shot(page: Any, lab: dict[str, Any]) -> None:
    failure = lab["root"].parent / "failure.png"
    page.screenshot(path=str(failure))
    print(f"screenshot of the failure: {failure}\nlab log: {lab['log']}")


def test_palette_opens_the_sidebar_which_highlights_the_refused_statement(
        lab: dict[str, Any]) -> None:
    import duckdb
    from playwright.sync_api import expect, sync_playwright

    con = duckdb.connect(str(lab["db"]))
    con.execute("CREATE TABLE c AS SELECT range AS id, 100000000 + range AS ssn FROM range(3)")
    con.close()
    (lab["root"] / "export.ipynb").write_text(json.dumps(_notebook(lab["db"])))
    _settings(lab, pollInterval=1)
    saved: list[str] = []
    with sync_playwright() as p:
        browser, page = _open_lab(p, lab, "export.ipynb")
        page.on("request", lambda r: saved.append(r.post_data or "") if r.method == "PUT"
                and "/api/workspaces" in r.url else None)
        try:
            notebook = page.locator(".jp-NotebookPanel")
            expect(notebook).to_be_visible(timeout=60_000)
            expect(page.locator(".jp-StatusBar-TextItem", has_text=IDLE)).to_have_count(
                1, timeout=60_000)
            panel = page.locator("#jupyter-guard-panel")
            expect(panel).to_be_hidden()

            _open_sidebar(page)

            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            cells = notebook.locator(".jp-CodeCell")
            expect(cells.nth(1).locator(".jp-OutputArea")).to_contain_text(
                "Blocked by jupyter_guard [exfiltration]", timeout=60_000)

            marked = panel.locator("li.jp-GuardPanel-event[data-decision='block'] "
                                   ".jp-GuardPanel-offending")
            expect(marked.first).to_have_text(COPY, timeout=30_000)
            event = panel.locator("li.jp-GuardPanel-event", has=page.locator(
                ".jp-GuardPanel-offending")).first
            expect(event.locator(".jp-GuardPanel-rule")).to_have_text("exfiltration")
            # the whole cell is shown, only the refused statement is marked
            expect(event.locator(".jp-GuardPanel-code")).to_contain_text("SELECT 1 AS one;")
            # inside it, what the refusal is about: the sensitive column, as the message
            # underlines it
            expect(event.locator(".jp-GuardPanel-offending .jp-GuardPanel-focus")).to_have_text(
                "ssn")
            expect(event.locator(".jp-GuardPanel-rewriteSql")).to_have_text(SAFER)
            expect(event.locator(".jp-GuardPanel-rewriteHint")).to_contain_text(
                "without the sensitive columns")
            expect(event.locator(".jp-GuardPanel-effect")).to_contain_text("ssn (sensitive)")
            # the mark uses the theme's colours (no fixed colour in the stylesheet)
            # (a retrying assertion: each poll re-renders the rows)
            expect(marked.first).to_have_css("background-color",
                                             re.compile(r"^rgba?\((?!0, 0, 0, 0\))"))

            # the layout restorer brings the open sidebar back after a reload
            _wait(page, lambda: any('"current":"jupyter-guard-panel"' in body.replace(" ", "")
                              for body in saved), "the workspace saved with the sidebar open")
            page.reload()
            expect(page.locator(".jp-NotebookPanel")).to_be_visible(timeout=60_000)
            expect(panel).to_be_visible(timeout=30_000)
        except Exception:
            _failure_shot(page, lab)
            raise
        finally:
            browser.close()
    for kernel in _api(lab, "GET", "/api/kernels"):
        _api(lab, "DELETE", f"/api/kernels/{kernel['id']}")
    assert not (lab["root"] / "out.csv").exists()


def test_a_hidden_sidebar_does_not_poll_the_events(lab: dict[str, Any]) -> None:
    from playwright.sync_api import expect, sync_playwright

    _settings(lab, pollInterval=1, hiddenPollInterval=2)
    seen: dict[str, list[float]] = {"events": [], "summary": []}

    def count(request: Any) -> None:
        for endpoint in seen:
            if f"/jupyter-guard/api/{endpoint}" in request.url:
                seen[endpoint].append(time.monotonic())

    with sync_playwright() as p:
        browser, page = _open_lab(p, lab, "demo.ipynb")
        page.on("request", count)
        try:
            expect(page.locator(".jp-NotebookPanel")).to_be_visible(timeout=60_000)
            tab = page.locator('.jp-SideBar.jp-mod-left li[data-id="jupyter-guard-panel"]')
            panel = page.locator("#jupyter-guard-panel")
            tab.click()
            expect(panel).to_be_visible()
            start = len(seen["events"])
            _wait(page, lambda: len(seen["events"]) >= start + 3, "three polls of the open sidebar")

            tab.click()   # collapses the left sidebar: the panel is hidden
            expect(panel).to_be_hidden()
            hidden_at = time.monotonic()
            summaries = len(seen["summary"])
            # the badge's summary poll goes on, every 2 s: three of them is 4 s or more of a hidden
            # sidebar, in which an open one would have asked for events four times
            _wait(page, lambda: len(seen["summary"]) >= summaries + 3, "the hidden badge's polls")
            late = [t for t in seen["events"] if t > hidden_at + 0.5]
            assert late == [], f"{len(late)} requests for events while the sidebar was hidden"
            assert time.monotonic() - hidden_at >= 4
            hidden = [t for t in seen["summary"] if t > hidden_at + 0.5]
            gaps = [b - a for a, b in itertools.pairwise(hidden)]
            assert gaps and min(gaps) > 1.5, f"hidden summary polls too often: {gaps}"

            tab.click()
            expect(panel).to_be_visible()
            shown = len(seen["events"])
            _wait(page, lambda: len(seen["events"]) >= shown + 2, "polls after showing it again")
        except Exception:
            _failure_shot(page, lab)
            raise
        finally:
            browser.close()
