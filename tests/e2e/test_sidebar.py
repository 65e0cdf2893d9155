"""The Guard sidebar in a real JupyterLab, driven by headless Chromium (Playwright).

Starts ``jupyter lab`` on 127.0.0.1 with a token, a temporary root dir holding a small notebook and
``JUPYTER_GUARD_AUDIT`` pointing at a temporary audit file, opens the Guard panel and checks the
counts, the rows and the rule ids it shows. Saves ``docs/sidebar.png`` for the README.
"""
from __future__ import annotations

import json
import os
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
SCREENSHOT = REPO / "docs" / "sidebar.png"
USER = "e2e-user"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} is missing: apt-get install -y chromium"),
]

NOTEBOOK = {
    "cells": [{"cell_type": "markdown", "id": "intro", "metadata": {},
               "source": "# Guard demo\nRun the cells and watch the Guard panel."}],
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
def lab(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A running ``jupyter lab`` whose Guard API reads a pre-populated audit file."""
    root = tmp_path / "root"
    root.mkdir()
    (root / "demo.ipynb").write_text(json.dumps(NOTEBOOK))
    audit = tmp_path / "audit" / "audit.duckdb"
    audit.parent.mkdir()
    _populate(audit)
    # The prebuilt labextension, found by its package name like an installed one.
    labext = tmp_path / "labextensions"
    labext.mkdir()
    (labext / "jupyter-guard").symlink_to(PREBUILT, target_is_directory=True)
    config = tmp_path / "config"
    config.mkdir()
    (config / "jupyter_server_config.json").write_text(json.dumps({
        "ServerApp": {"jpserver_extensions": {"jupyter_guard": True}},
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
        yield {"base": base, "token": token, "audit": audit, "root": root, "log": log_path}
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


def test_api_answers_for_the_servers_owner(lab: dict[str, Any]) -> None:
    url = f"{lab['base']}/jupyter-guard/api/summary?token={lab['token']}"
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.loads(response.read())
    assert body["requester"] == USER
    assert body["counts"]["block"] == 1 and body["counts"]["allow"] == 1


def test_sidebar_shows_blocked_and_allowed_events(lab: dict[str, Any]) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if "jupyter-guard" in m.text
                    and m.type == "error" else None)
            page.goto(f"{lab['base']}/lab/tree/demo.ipynb?token={lab['token']}")
            page.wait_for_selector(".jp-NotebookPanel", timeout=60_000)

            tab = page.locator('.jp-SideBar.jp-mod-left li[data-id="jupyter-guard-panel"]')
            expect(tab).to_be_visible(timeout=30_000)
            tab.click()
            panel = page.locator("#jupyter-guard-panel")
            expect(panel).to_be_visible()
            expect(panel.locator(".jp-GuardPanel-title")).to_have_text("Guard")

            def count(decision: str) -> Any:
                return panel.locator(f".jp-GuardPanel-count[data-decision='{decision}'] "
                                     ".jp-GuardPanel-countValue")

            expect(count("block")).to_have_text("1", timeout=15_000)
            expect(count("allow")).to_have_text("1")
            expect(count("mask")).to_have_text("0")
            expect(panel.locator(".jp-GuardPanel-badge")).to_have_text("1")
            expect(tab).to_have_attribute("data-guardblocks", "1")

            rows = panel.locator("li.jp-GuardPanel-event")
            expect(rows).to_have_count(2)
            blocked = panel.locator("li.jp-GuardPanel-event[data-decision='block']")
            expect(blocked.locator(".jp-GuardPanel-rule")).to_have_text("destructive-ddl")
            expect(blocked.locator(".jp-GuardPanel-reason")).to_contain_text("DROP TABLE t")
            expect(blocked.locator(".jp-GuardPanel-cell")).to_have_text("[2]")
            allowed = panel.locator("li.jp-GuardPanel-event[data-decision='allow']")
            expect(allowed.locator(".jp-GuardPanel-cell")).to_have_text("[3]")

            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))

            # The filters narrow the list without asking the server again.
            panel.locator(".jp-GuardPanel-decisionFilter").select_option("block")
            expect(rows).to_have_count(1)
            panel.locator(".jp-GuardPanel-decisionFilter").select_option("")
            panel.locator(".jp-GuardPanel-search").fill("select count")
            expect(rows).to_have_count(1)
            expect(rows.first).to_have_attribute("data-decision", "allow")
            assert errors == []
        finally:
            browser.close()
