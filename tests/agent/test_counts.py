"""Counts that match the screen, in a real kernel: execution counts, the notebook path, typos as
errors, a real ``mask`` count, ``%guard status`` one per cell, and the database's whole error."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel


def events(audit: Path) -> list[dict[str, Any]]:
    from jupyter_guard.record import ingest

    ingest(str(audit))
    con = duckdb.connect(str(audit), read_only=True)
    try:
        cur = con.execute("SELECT notebook, execution_count, kind, code, decision, rule_id, status "
                          "FROM events ORDER BY seq")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()


@pytest.fixture(scope="module")
def session(work_root: Path) -> Iterator[tuple[Kernel, Path]]:
    d = work_root / "counts"
    (d / "data").mkdir(parents=True)
    with guarded_kernel(d, {"JPY_SESSION_NAME": str(d / "analysis.ipynb")}, warehouse=50) as k:
        yield k, d


CELLS = [  # (code, what the notebook shows)
    ("import duckdb\ncon = duckdb.connect('wh.duckdb')", "ok"),
    ("x = 1", "ok"),
    ("con.execute('DROP TABLE customers')", "error"),                 # blocked
    ("%%guarded_sql con\nDROP TABLE orders", "error"),                # blocked
    ("%%guarded_sql con\nSELEC 1", "error"),                          # a typo
    ("%%guarded_sql con\nSELECT * FROM custmers", "error"),           # a wrong name
    ("%%guarded_sql con\nSELECT id, email FROM customers LIMIT 3", "ok"),
    ("q = ' '.join(['DROP', 'TABLE', 'orders'])\ncon.execute(q)", "error"),
]


def test_counts_match_the_screen(session: tuple[Kernel, Path]) -> None:
    k, d = session
    replies = [k.run(code, metadata={"cellId": f"cell-{n}"}) for n, (code, _) in enumerate(CELLS)]
    assert [r.status for r in replies] == [shown for _, shown in CELLS]
    blocked = sum(r.error.get("ename") == "GuardBlocked" for r in replies)
    errors = sum(r.status == "error" for r in replies) - blocked
    oks = sum(r.status == "ok" for r in replies)
    assert (blocked, errors, oks) == (3, 2, 3)
    status = k.run("%guard status").text
    assert f"cells    ok {oks}, error {errors}, blocked {blocked}" in status
    assert "block 3" in status and "mask 1" in status

    rows = events(d / "audit.duckdb")
    numbers = {r.reply["execution_count"] for r in replies}
    by_count = {e["execution_count"]: e for e in rows if e["kind"] != "runtime"}
    assert numbers <= set(by_count), (numbers, sorted(by_count))
    for r, (code, _) in zip(replies, CELLS):
        assert code.split("\n")[-1] in by_count[r.reply["execution_count"]]["code"]
    assert {e["notebook"] for e in rows} == {str(d / "analysis.ipynb")}

    typo = by_count[replies[4].reply["execution_count"]]
    assert (typo["status"], typo["rule_id"]) == ("error", "sql-parse-error")
    assert typo["decision"] != "block"
    masked = by_count[replies[6].reply["execution_count"]]
    assert (masked["decision"], masked["rule_id"]) == ("mask", "sensitive-data")
    assert Counter(e["decision"] for e in rows)["block"] == 3


def test_the_whole_database_error_is_shown(session: tuple[Kernel, Path]) -> None:
    k, _ = session
    r = k.run("%%guarded_sql con\nSELECT id FROM custmers WHERE city = 'ann.lee@example.com'")
    tb = "\n".join(r.error["traceback"])
    assert 'Did you mean "customers"' in tb and "LINE 1:" in tb and "^" in tb
    assert "ann.lee@example.com" not in tb and "ann.lee@example.com" not in r.error["evalue"]


def test_notebook_from_cell_metadata(session: tuple[Kernel, Path]) -> None:
    k, d = session
    meta = {"cellId": "m", "jupyter_guard": {"notebook": "reports/weekly.ipynb"}}
    assert k.run("y = 2", metadata=meta).status == "ok"
    assert events(d / "audit.duckdb")[-1]["notebook"] == "reports/weekly.ipynb"


def test_silent_cells_and_unmasked_reads_count_as_they_are(session: tuple[Kernel, Path]) -> None:
    k, _ = session
    before = k.run("%guard status").text
    out = k.run("%%guarded_sql con\nSELECT id, city FROM customers LIMIT 2")
    assert out.status == "ok"
    after = k.run("%guard status").text
    assert _count(after, "mask") == _count(before, "mask")       # no sensitive column read
    assert _count(after, "ok") == _count(before, "ok") + 2       # the SELECT and the first status


def _count(status: str, word: str) -> int:
    line = next(x for x in status.splitlines() if x.startswith(("counts", "cells")) and
                f" {word} " in f" {x} ")
    return int(line.split(f" {word} ", 1)[1].split(",")[0])


@pytest.mark.parametrize("line, expect", [
    pytest.param("%guard --help", "usage: %guard status | reload | connections", id="all"),
    pytest.param("%guard status --help", "how they ended", id="status"),
    pytest.param("%guard request -h", "ask for approval of the last refused cell", id="request"),
    pytest.param("%guard connections --help", "--alias names", id="connections"),
])
def test_guard_help(session: tuple[Kernel, Path], line: str, expect: str) -> None:
    k, _ = session
    r = k.run(line)
    assert r.status == "ok" and expect in r.text
    assert "Approval requested" not in r.text   # --help never runs the subcommand
