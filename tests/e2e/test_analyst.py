"""An analyst's notebook in a real JupyterLab (headless Chromium): connect by URL, bind
parameters, limit the rows shown, a typo with DuckDB's own hint, a `{{name}}` identifier, a
masked read, and refusals that say what to do instead (the count and a narrower WHERE, the same
export without the sensitive column). Nothing refused has any effect on the warehouse."""
from __future__ import annotations

import contextlib
import json
import re
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_sidebar import CHROMIUM, CHROMIUM_ARGS, _api, lab, seed_events  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} is missing: apt-get install -y chromium"),
]

CELLS = [
    ("load", "%load_ext jupyter_guard"),
    ("connect", "%%guarded_sql duckdb:///{db}\nSELECT count(*) AS n_orders FROM orders"),
    ("params", "city = 'c3'\nlow = 10"),
    ("limit", "%%guarded_sql --limit 5\n"
              "SELECT id, amount FROM orders WHERE city = :city AND id > $low ORDER BY id"),
    ("ident", "tbl = 'orders'"),
    ("template", "%%guarded_sql\nSELECT count(*) AS n_tpl FROM {{{{tbl}}}}"),
    ("masked", "%%guarded_sql\nSELECT email FROM customers ORDER BY id LIMIT 3"),
    # run one by one below: each ends in an error, which would stop Run All
    ("typo", "%%guarded_sql\nSELECT * FROM ordrs"),
    ("bulk", "%%guarded_sql\nDELETE FROM orders WHERE amount > 1"),
    ("export", "%%guarded_sql\nCOPY (SELECT id, email FROM customers) TO '{out}'"),
]
FIRST_ERROR = [c for c, _ in CELLS].index("typo")


def _warehouse(db: Path) -> None:
    import duckdb

    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE orders AS SELECT range AS id, 'c' || (range % 7) AS city, "
                "range * 1.5 AS amount FROM range(2000)")
    con.execute("CREATE TABLE customers AS SELECT range AS id, "
                "'user' || range || '@example.com' AS email FROM range(50)")
    con.close()


def _notebook(db: Path, out: Path) -> dict[str, Any]:
    return {"cells": [{"cell_type": "code", "id": cid, "metadata": {}, "execution_count": None,
                       "outputs": [], "source": src.format(db=db, out=out)}
                      for cid, src in CELLS],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                        "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


@contextlib.contextmanager
def _notebook_run(lab: dict[str, Any], name: str, cells: list[tuple[str, str]]) -> Iterator[Any]:
    """``name`` open in JupyterLab, its kernel idle and Run All clicked: yields the page, the
    notebook, the idle status item and ``output(cell name)``. A failure saves a screenshot; the
    kernels are shut down after (the kernel holds the warehouse's lock)."""
    from playwright.sync_api import expect, sync_playwright

    idle = re.compile(r"Python 3 \(ipykernel\) \| Idle")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(f"{lab['base']}/lab/tree/{name}?token={lab['token']}")
            nb = page.locator(".jp-NotebookPanel")
            expect(nb).to_be_visible(timeout=60_000)
            status = page.locator(".jp-StatusBar-TextItem", has_text=idle)
            expect(status).to_have_count(1, timeout=60_000)
            code = nb.locator(".jp-CodeCell")

            def output(cell: str) -> Any:
                return code.nth([c for c, _ in cells].index(cell)).locator(".jp-OutputArea")

            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            yield types.SimpleNamespace(page=page, nb=nb, status=status, cells=code,
                                        output=output)
        except Exception:
            failure = lab["root"].parent / "failure.png"
            page.screenshot(path=str(failure))
            print(f"screenshot of the failure: {failure}\nlab log: {lab['log']}")
            raise
        finally:
            browser.close()
    for kernel in _api(lab, "GET", "/api/kernels"):
        _api(lab, "DELETE", f"/api/kernels/{kernel['id']}")


def test_an_analysts_notebook(lab: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    db, out = lab["root"] / "shop.duckdb", lab["root"] / "emails.csv"
    _warehouse(db)
    (lab["root"] / "analyst.ipynb").write_text(json.dumps(_notebook(db, out)))
    with _notebook_run(lab, "analyst.ipynb", CELLS) as run:
        output = run.output
        # Run All stops at the typo, the first error: everything before it ran, in order
        expect(output("typo")).to_contain_text('Did you mean "orders"?', timeout=90_000)
        expect(output("typo")).to_contain_text("LINE 1: SELECT * FROM ordrs")
        expect(output("connect")).to_contain_text("2000")
        expect(output("limit")).to_contain_text("showing 5 of more than 5 rows (--limit 5)")
        shown = output("limit").inner_text()
        for order_id in ("17", "24", "31", "38", "45"):   # city c3, id > 10, first five
            assert re.search(rf"\b{order_id}\b", shown), shown
        assert not re.search(r"\b52\b", shown), shown
        expect(output("template")).to_contain_text("2000")
        expect(output("masked")).to_contain_text("@example.com")
        assert "user0@example.com" not in output("masked").inner_text()
        expect(output("bulk").locator(".jp-OutputArea-output")).to_have_count(0)
        expect(run.status).to_have_count(1, timeout=30_000)

        for name in ("bulk", "export"):   # run the refused cells one at a time
            run.cells.nth([c for c, _ in CELLS].index(name)).locator(".jp-InputArea").click()
            run.page.keyboard.press("Control+Enter")
            expect(output(name)).to_contain_text("Blocked by jupyter_guard", timeout=60_000)
            expect(run.status).to_have_count(1, timeout=30_000)
        bulk = output("bulk")
        expect(bulk).to_contain_text("[bulk-change]")
        expect(bulk).to_contain_text("deletes 1999 rows of orders")
        expect(bulk).to_contain_text("SELECT COUNT(*) FROM orders WHERE amount > 1")
        export = output("export")
        expect(export).to_contain_text("[exfiltration]")
        # the refused statement, its sensitive column underlined
        shown = export.inner_text().splitlines()
        stmt = next(i for i, line in enumerate(shown) if "> COPY (SELECT id, email" in line)
        col = shown[stmt].index("email")
        assert shown[stmt + 1][col:col + 5] == "^^^^^", shown
        assert set(shown[stmt + 1][:col]) <= {" "}, shown
        expect(export).to_contain_text(
            f"Safer: export the same rows without the sensitive columns: "
            f"COPY (SELECT id FROM customers) TO '{out}'")

    import duckdb

    assert not out.exists()
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM orders").fetchone() == (2000,)
    finally:
        con.close()

AUDIT_CELLS = [
    ("load", "%load_ext jupyter_guard"),
    ("bulk", "%%guarded_sql duckdb:///{db}\nDELETE FROM orders WHERE amount > 1"),
    ("left", "%%guarded_sql\nSELECT count(*) AS n_left FROM orders"),
    ("plain", "%%guarded_sql\nSELECT 40 + 2 AS answer"),
]
NOTE = "jupyter_guard (audit mode): in enforce mode this would be refused [bulk-change]"


@pytest.mark.lab_server(env={"JUPYTER_GUARD_POLICY": str(Path(__file__).with_name(
    "audit_mode.yaml"))})
def test_audit_mode_shows_the_analyst_what_would_have_been_blocked(lab: dict[str, Any]) -> None:
    """Under `mode: audit` a bulk DELETE runs (Run All goes on past it), and its cell says in
    one line what enforce mode would have refused; a plain cell gets no note."""
    from playwright.sync_api import expect

    db = lab["root"] / "shop.duckdb"
    _warehouse(db)
    nb_json = _notebook(db, lab["root"] / "unused.csv")
    nb_json["cells"] = [{"cell_type": "code", "id": cid, "metadata": {}, "execution_count": None,
                         "outputs": [], "source": src.format(db=db)} for cid, src in AUDIT_CELLS]
    (lab["root"] / "audit.ipynb").write_text(json.dumps(nb_json))
    with _notebook_run(lab, "audit.ipynb", AUDIT_CELLS) as run:
        output = run.output
        expect(output("plain")).to_contain_text("42", timeout=90_000)
        expect(output("bulk")).to_contain_text(NOTE)
        assert output("bulk").inner_text().count("jupyter_guard (audit mode)") == 1
        expect(output("bulk")).to_contain_text("1999")        # it ran: rows deleted
        expect(output("left")).to_contain_text("n_left")
        assert "audit mode" not in output("left").inner_text()
        assert "audit mode" not in output("plain").inner_text()
        assert "Blocked by jupyter_guard" not in run.nb.inner_text()
        expect(run.status).to_have_count(1, timeout=30_000)

    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:   # audit mode refused nothing: the DELETE ran
        assert con.execute("SELECT count(*) FROM orders").fetchone() == (1,)
    finally:
        con.close()
