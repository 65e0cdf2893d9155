"""Every governance query in the README runs on an audit file from real kernels (the scripted
sessions of governance_session) and returns the rows a governance team expects."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from governance_session import rows

pytestmark = pytest.mark.kernel
README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def readme_queries() -> list[str]:
    section = README.split("## The audit file", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sql\n(.*?)```", section, re.S)
    return [q.strip() for block in blocks for q in block.split(";\n") if q.strip(" \n;")]


def check_ssn(got: list[tuple[Any, ...]]) -> None:
    # the %%guarded_sql SELECT and the SQL string in a Python cell, by ada: both ran, and both
    # are recorded `mask` (they read ssn while masking was on); the two refused exports of the
    # frame that cell fetched carry its SQL lineage (customers.ssn) and are recorded `block`
    assert [(u, a, d, r) for _, u, a, d, r, _ in got] == [
        ("ada", "human", "mask", "sensitive-data")] * 2 + [
        ("ada", "human", "block", "exfiltration")] * 2


def check_day(got: list[tuple[Any, ...]]) -> None:
    assert [(u, b, a, e) for u, _, b, a, e in got] == [("ada", 6, 10, 16), ("bot", 1, 3, 4)]


def check_sources(got: list[tuple[Any, ...]]) -> None:
    assert got == [("customers",)]


def check_exports(got: list[tuple[Any, ...]]) -> None:
    by_cell: dict[int, set[str]] = {}
    for _, count, column, _ in got:
        by_cell.setdefault(count, set()).add(column)
    assert by_cell[7] == by_cell[8] == {"contact", "email", "ssn", "tax_id",
                                        "customers.email", "customers.ssn"}   # fetched lineage
    assert len(by_cell[9]) == 100                     # the pivot: bounded, every column sensitive
    assert set(by_cell) == {7, 8, 9}


def check_cells(got: list[tuple[Any, ...]]) -> None:
    # ada's two reads of ssn ran masked; bot's typo is an allow with status error
    assert got == [("ada", "allow", 8), ("ada", "block", 6), ("ada", "mask", 2),
                   ("bot", "allow", 3), ("bot", "approval", 1)]


EXPECTED = [check_ssn, check_day, check_sources, check_exports, check_cells]


def test_the_readme_has_the_queries_this_test_checks() -> None:
    assert len(readme_queries()) == len(EXPECTED)


@pytest.mark.parametrize("n", range(len(EXPECTED)), ids=[f.__name__ for f in EXPECTED])
def test_readme_query(session_audit: Path, n: int) -> None:
    EXPECTED[n](rows(session_audit, readme_queries()[n]))
