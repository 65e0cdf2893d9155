"""With the server gate on and the guard loaded in the kernel, one cell is one row of ``cells``:
the server's row and the kernel's rows are linked, and ``report`` and the sidebar count cells."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from jupyter_guard.record.report import report
from jupyter_guard.server.api import summary

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = pytest.mark.kernel


@pytest.fixture
def guard_audit(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    wh = workdir / "wh.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("CREATE TABLE customers AS SELECT range AS id, 'x' || range AS ssn FROM range(10)")
    con.close()
    audit = workdir / "audit.duckdb"
    monkeypatch.setenv("JUPYTER_GUARD_AUDIT", str(audit))
    monkeypatch.setenv("JUPYTER_GUARD_USER", "alice")
    monkeypatch.delenv("JUPYTER_GUARD_POLICY", raising=False)
    return audit


@pytest.fixture
def jp_server_config(guard_audit: Path) -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_guard": True}}}


def cells(audit: Path, n: int) -> list[tuple[Any, ...]]:
    """Rows of ``cells`` once ``n`` of them have ended and been joined by their kernel rows."""
    deadline = time.monotonic() + 30
    got: list[tuple[Any, ...]] = []
    while time.monotonic() < deadline:
        if audit.exists():
            con = duckdb.connect(str(audit), read_only=True)
            got = con.execute("""SELECT code, decision, status, layers, events FROM cells
                WHERE status <> 'running' ORDER BY ts""").fetchall()
            con.close()
            # every cell after %load_ext has its kernel row too (a refused one: the kernel's
            # row of the refusal the gate put in its place)
            if len(got) >= n and all(len(r[3]) > 1 for r in got[1:]):
                return got
        time.sleep(0.3)
    return got


async def test_server_and_kernel_rows_are_one_cell(jp_fetch: Any, jp_ws_fetch: Any,
                                                    guard_audit: Path, workdir: Path) -> None:
    from tests.server.test_gate import open_kernel

    kid, client = await open_kernel(jp_fetch, jp_ws_fetch, v1=True)
    assert (await client.execute("%load_ext jupyter_guard"))["reply"]["content"]["status"] == "ok"
    ok = await client.execute("x = 6 * 7")
    assert ok["reply"]["content"]["status"] == "ok"
    wh = str(workdir / "wh.duckdb")
    sql = await client.execute(f"import duckdb\ncon = duckdb.connect({wh!r})")
    assert sql["reply"]["content"]["status"] == "ok"
    # refused by the kernel at run time (the server cannot see the data): server row + kernel rows
    leak = await client.execute("df = con.execute('SELECT ssn FROM customers').df()\n"
                                "df.rename(columns={'ssn': 'tid'}).to_csv('out.csv')")
    assert leak["reply"]["content"]["ename"] == "GuardBlocked"
    # refused by the server: only a server row
    drop = await client.execute("con.execute('DROP TABLE customers')")
    assert drop["reply"]["content"]["ename"] == "GuardBlocked"
    got = cells(guard_audit, 5)
    by_code = {code.splitlines()[0]: (d, s, layers, n) for code, d, s, layers, n in got}
    assert by_code["x = 6 * 7"] == ("allow", "ok", ["python", "server"], 2)
    assert by_code["df = con.execute('SELECT ssn FROM customers').df()"] == (
        "block", "blocked", ["python", "runtime", "server"], 3)
    # refused by the server; the kernel ran only the refusal the gate put in the cell's place,
    # and its row of that joins the server's row: one cell, not two
    assert by_code["con.execute('DROP TABLE customers')"] == (
        "block", "blocked", ["python", "server"], 2)
    # counts are of cells: 5 cells (load_ext, x, connect, leak, drop), 2 blocked
    rows = report(guard_audit, user="alice")
    assert sum(r["events"] for r in rows) == 5 and sum(r["blocked"] for r in rows) == 2
    s = summary(guard_audit)
    assert s["total"] == 5 and s["counts"]["block"] == 2
    # and the DROP never ran: the table is still there (asked last, as a sixth cell)
    left = await client.execute("print(con.execute('SELECT count(*) FROM customers').fetchone())")
    assert [m["content"]["text"] for m in left["iopub"] if m["msg_type"] == "stream"] == ["(10,)\n"]
    await jp_fetch("api", "kernels", kid, method="DELETE")
