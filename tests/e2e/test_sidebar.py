"""The Guard sidebar in a real JupyterLab, driven by headless Chromium (Playwright).

Starts ``jupyter lab`` on 127.0.0.1 with a token, a temporary root dir holding a small notebook and
``JUPYTER_GUARD_AUDIT`` pointing at a temporary audit file, opens the Guard panel and checks the
counts, the rows and the rule ids it shows. Saves a screenshot of the panel; with
``JUPYTER_GUARD_SCREENSHOT=docs/sidebar.png`` it refreshes the README's picture (a test run
otherwise leaves the repository untouched).
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REPO = Path(__file__).resolve().parents[2]
PREBUILT = REPO / "jupyter_guard" / "labextension"
SCREENSHOT = os.environ.get("JUPYTER_GUARD_SCREENSHOT", "")
USER = "e2e-user"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} is missing: apt-get install -y chromium"),
]

def _notebook(db: Path) -> dict[str, Any]:
    """Load the guard, run an allowed query, then a DROP TABLE the default policy blocks."""
    def code(cell_id: str, source: str) -> dict[str, Any]:
        return {"cell_type": "code", "id": cell_id, "metadata": {}, "source": source,
                "execution_count": None, "outputs": []}

    return {
        "cells": [
            {"cell_type": "markdown", "id": "intro", "metadata": {},
             "source": "# Guard demo\nRun the cells and watch the Guard panel."},
            code("load", "%load_ext jupyter_guard"),
            code("count", f"%%guarded_sql duckdb:///{db}\nSELECT count(*) AS n FROM t"),
            code("drop", "%%guarded_sql\nDROP TABLE t"),
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _populate(audit: Path) -> None:
    """One blocked and one allowed event for USER, through the real store when it is there."""
    try:
        from jupyter_guard.record import AuditLog
    except ImportError:
        _populate_by_hand(audit)
        return
    log = AuditLog(audit, background=False)
    try:
        log.begin(user=USER, actor="human", notebook="demo.ipynb", cell_id="c-drop",
                  execution_count=2, kind="sql", code="DROP TABLE t", decision="block",
                  rule_id="destructive-ddl", reason="DROP TABLE t would destroy data",
                  status="blocked")
        done = log.begin(user=USER, actor="human", notebook="demo.ipynb", cell_id="c-select",
                         execution_count=3, kind="sql", code="SELECT count(*) FROM t",
                         decision="allow", rule_id="", reason="")
        log.finish(done, status="ok", duration_ms=3.0)
    finally:
        log.close()


def _populate_by_hand(audit: Path) -> None:
    import duckdb

    con = duckdb.connect(str(audit))
    try:
        con.execute("CREATE TABLE events (event_id VARCHAR, ts TIMESTAMP, user_name VARCHAR, "
                    "cell_id VARCHAR, execution_count INTEGER, kind VARCHAR, code VARCHAR, "
                    "decision VARCHAR, rule_id VARCHAR, reason VARCHAR, status VARCHAR)")
        con.execute("INSERT INTO events VALUES "
                    "('e1', now()::TIMESTAMP, ?, 'c-drop', 2, 'sql', 'DROP TABLE t', 'block', "
                    "'destructive-ddl', 'DROP TABLE t would destroy data', 'blocked'), "
                    "('e2', now()::TIMESTAMP, ?, 'c-select', 3, 'sql', 'SELECT count(*) FROM t', 'allow', "
                    "'', '', 'ok')", [USER, USER])
    finally:
        con.close()


@pytest.fixture
def seed_events() -> bool:
    """Whether the audit file starts with one blocked and one allowed event."""
    return False


@pytest.fixture
def lab(tmp_path: Path, seed_events: bool, request: pytest.FixtureRequest
        ) -> Iterator[dict[str, Any]]:
    """A running ``jupyter lab`` with demo.ipynb, a DuckDB file holding table t, an audit file.

    ``@pytest.mark.lab_server(server={...}, env={...})`` adds ServerApp settings and environment.
    """
    import duckdb

    marker = request.node.get_closest_marker("lab_server")
    extra: dict[str, Any] = dict(marker.kwargs) if marker else {}

    root = tmp_path / "root"
    root.mkdir()
    db = root / "shop.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE t AS SELECT * FROM range(3) r(a)")
    con.close()
    (root / "demo.ipynb").write_text(json.dumps(_notebook(db)))
    audit = tmp_path / "audit" / "audit.duckdb"
    audit.parent.mkdir()
    if seed_events:
        _populate(audit)
    # The prebuilt labextension, found by its package name like an installed one.
    labext = tmp_path / "labextensions"
    labext.mkdir()
    (labext / "jupyter-guard").symlink_to(PREBUILT, target_is_directory=True)
    config = tmp_path / "config"
    config.mkdir()
    (config / "jupyter_server_config.json").write_text(json.dumps({
        "ServerApp": {"jpserver_extensions": {"jupyter_guard": True},
                      **extra.get("server", {})},
        "LabApp": {"extra_labextensions_path": [str(labext)], "news_url": None,
                   "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
                   "workspaces_dir": str(tmp_path / "workspaces")},
    }))
    # No "get Jupyter news?" toast over the screenshot, no update check.
    notification = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    token, port = secrets.token_hex(16), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "JPY_"))}
    env |= {"JUPYTER_CONFIG_DIR": str(config), "JUPYTER_DATA_DIR": str(tmp_path / "data"),
            "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTER_GUARD_AUDIT": str(audit),
            "JUPYTER_GUARD_USER": USER, "JUPYTER_PLATFORM_DIRS": "1",
            "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces")}
    env |= extra.get("env", {})
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent)) or "jupyter"
    log_path = tmp_path / "lab.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [jupyter, "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
             *(["--allow-root"] if os.geteuid() == 0 else [])],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(f"{base}/api/status?token={token}", proc, log_path)
        yield {"base": base, "token": token, "audit": audit, "root": root, "db": db,
               "log": log_path}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"jupyter lab exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    pytest.fail(f"jupyter lab did not answer in 60 s:\n{log_path.read_text()[-3000:]}")


@pytest.mark.parametrize("seed_events", [True])
def test_api_answers_for_the_servers_owner(lab: dict[str, Any]) -> None:
    url = f"{lab['base']}/jupyter-guard/api/summary?token={lab['token']}"
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.loads(response.read())
    assert body["requester"] == USER
    assert body["counts"]["block"] == 1 and body["counts"]["allow"] == 1


def _api(lab: dict[str, Any], method: str, path: str) -> Any:
    request = urllib.request.Request(f"{lab['base']}{path}?token={lab['token']}", method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
    return json.loads(body) if body else None


def test_sidebar_shows_cells_blocked_and_allowed_in_the_notebook(lab: dict[str, Any]) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if "jupyter-guard" in m.text
                    and m.type == "error" else None)
            page.goto(f"{lab['base']}/lab/tree/demo.ipynb?token={lab['token']}")
            notebook = page.locator(".jp-NotebookPanel")
            expect(notebook).to_be_visible(timeout=60_000)
            # The notebook's kernel is started and idle (else Run All asks which kernel to use).
            expect(page.locator(".jp-StatusBar-TextItem",
                                has_text=re.compile(r"Python 3 \(ipykernel\) \| Idle"))
                   ).to_have_count(1, timeout=60_000)

            tab = page.locator('.jp-SideBar.jp-mod-left li[data-id="jupyter-guard-panel"]')
            expect(tab).to_be_visible(timeout=30_000)
            tab.click()
            panel = page.locator("#jupyter-guard-panel")
            expect(panel).to_be_visible()
            expect(panel.locator(".jp-GuardPanel-title")).to_have_text("Guard")
            expect(panel.locator(".jp-GuardPanel-empty")).to_have_text("No events yet.")

            # Run every cell through the UI (the blocked one is last, so Run All reaches it).
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            cells = notebook.locator(".jp-CodeCell")
            expect(cells.nth(2).locator(".jp-OutputArea")).to_contain_text(
                "Blocked by jupyter_guard [destructive-ddl]", timeout=60_000)
            expect(cells.nth(1).locator(".jp-OutputArea")).to_contain_text("3", timeout=60_000)

            def count(decision: str) -> Any:
                return panel.locator(f".jp-GuardPanel-count[data-decision='{decision}'] "
                                     ".jp-GuardPanel-countValue")

            expect(count("block")).not_to_have_text("0", timeout=15_000)
            expect(count("allow")).not_to_have_text("0")
            blocks = count("block").inner_text()
            expect(panel.locator(".jp-GuardPanel-badge")).to_have_text(blocks)
            expect(tab).to_have_attribute("data-guardblocks", blocks)

            rows = panel.locator("li.jp-GuardPanel-event")
            blocked = panel.locator("li.jp-GuardPanel-event[data-decision='block']")
            expect(blocked.first.locator(".jp-GuardPanel-rule")).to_have_text("destructive-ddl")
            expect(blocked.first.locator(".jp-GuardPanel-reason")).to_contain_text("drops table t")
            expect(blocked.first).to_have_attribute("title", re.compile("DROP TABLE t"))
            allowed = panel.locator(
                "li.jp-GuardPanel-event[data-decision='allow'][title*='SELECT count(*)']")
            expect(allowed.first).to_be_visible()

            page.mouse.click(900, 600)  # leave no hover tooltip on the screenshot
            shot = Path(SCREENSHOT) if SCREENSHOT else lab["root"].parent / "sidebar.png"
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000

            # The filters narrow the list without asking the server again.
            def shown() -> list[tuple[str, str]]:
                return [(r.get_attribute("data-decision") or "", r.get_attribute("title") or "")
                        for r in rows.all()]

            everything = len(shown())
            panel.locator(".jp-GuardPanel-decisionFilter").select_option("block")
            expect(rows).to_have_count(blocked.count())
            assert {d for d, _ in shown()} == {"block"}
            panel.locator(".jp-GuardPanel-decisionFilter").select_option("")
            panel.locator(".jp-GuardPanel-search").fill("select count")
            expect(rows).not_to_have_count(everything)
            assert shown() and all("SELECT count" in code for _, code in shown())
            assert errors == []
        except Exception:
            failure = lab["root"].parent / "failure.png"
            page.screenshot(path=str(failure))
            print(f"screenshot of the failure: {failure}\nlab log: {lab['log']}")
            raise
        finally:
            browser.close()

    # Nothing of the refused statement ran: table t is still there once the kernel is gone.
    for kernel in _api(lab, "GET", "/api/kernels"):
        _api(lab, "DELETE", f"/api/kernels/{kernel['id']}")
    import duckdb

    con = duckdb.connect(str(lab["db"]), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM t").fetchall() == [(3,)]
    finally:
        con.close()
