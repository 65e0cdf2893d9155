"""A write whose values are read from a sensitive column fails on one of them, and DuckDB's error
quotes it (red team 21, issue 15): ``INSERT INTO t (b DATE) SELECT replace(ssn, '-', '') …`` raises
``invalid date field format: "332206469"``. In a real guarded kernel on a real DuckDB file (random
SSNs), the write runs under the effect check, and the values its error quotes are masked like the
SELECT form's: no SSN, its digits or an e-mail's local part in any message, in a kernel that has
fetched nothing before (a fetch would make the column's values known anyway). Twin: a write of a
plain value that fails still names it.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.enforce.raw_answers import Answers
from tests.enforce.test_cast21_temporal import SSNS, expected
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel
__all__ = ["expected"]   # the warehouse fixture, shared


@pytest.fixture(scope="module")
def k(expected: tuple[Path, Answers]) -> Iterator[Kernel]:
    with guarded_kernel(expected[0], connect=True) as kernel:
        kernel.ok("con.sql('CREATE TABLE td (b DATE)')\ncon.sql('CREATE TABLE ti (b INT)')")
        yield kernel


@pytest.mark.parametrize(("table", "value", "n"), [
    ("td", "replace(ssn, '-', '')", 12), ("ti", "replace(ssn, '-', ' ')", 13),
    ("td", "ssn", 14), ("td", "replace(ssn, '-', '') || '!'", 15),
    ("ti", "split_part(email, '@', 1)", 17), ("td", "split_part(email, '@', 1) || '!'", 18)])
def test_a_writes_error_quotes_no_sensitive_value(k: Kernel, table: str, value: str,
                                                  n: int) -> None:
    r = k.run(f"con.sql(\"INSERT INTO {table} SELECT {value} FROM customers WHERE id = {n}\")")
    seen = r.everything() + "\n" + repr(r.reply)
    assert r.status == "error" and "Conversion" in seen, seen
    digits = SSNS[n].replace("-", "")
    assert not any(v in seen for v in (SSNS[n], digits, digits[:5], SSNS[n].replace("-", " "),
                                       f"user{n}!", f'"user{n}"', f"'user{n}'")), seen


def test_a_relation_writes_error_quotes_no_sensitive_value(k: Kernel) -> None:
    """The relational API's writes run under the effect check by another road: same masking."""
    n = 19
    r = k.run(f"con.sql(\"SELECT replace(ssn, '-', '') AS b FROM customers WHERE id = {n}\")"
              ".insert_into('td')")
    seen = r.everything() + "\n" + repr(r.reply)
    assert r.status == "error" and "Conversion" in seen, seen
    digits = SSNS[n].replace("-", "")
    assert not any(v in seen for v in (SSNS[n], digits, digits[:5])), seen


def test_a_plain_writes_error_still_names_its_value(k: Kernel) -> None:
    r = k.run("con.sql(\"INSERT INTO td SELECT city FROM customers WHERE id = 12\")")
    assert r.status == "error" and '"Paris"' in r.everything(), r.everything()
    r = k.run("con.sql(\"INSERT INTO ti VALUES ('12ab34')\")")
    assert r.status == "error" and "12ab34" in r.everything(), r.everything()
