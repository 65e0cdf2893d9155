"""Arrow streams (DuckDB's ``relation.arrow()`` and ``to_arrow_reader()`` return a
``RecordBatchReader``): the values of sensitive columns become known as the stream is read, so
printing them is masked, and pyarrow writers given a stream check it like a table (they failed
with ``AttributeError: ... 'slice'`` and left the connection with an open result)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel
RAW_SSN = re.compile(r"1000000[0-4]\d")


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "arrow_streams"
    d.mkdir()
    with guarded_kernel(d, warehouse=30, connect=True) as kernel:
        yield kernel


@pytest.mark.parametrize("code", [
    "print(con.sql('SELECT ssn, city FROM customers').arrow().read_all().column('ssn')"
    ".to_pylist()[:10])",
    "r = con.sql('SELECT ssn FROM customers').arrow()\nprint([b.column(0).to_pylist() "
    "for b in r][0][:10])",
    "print(con.execute('SELECT ssn FROM customers').to_arrow_reader().read_all()"
    ".to_pydict()['ssn'][:10])",
    "print(con.sql('SELECT lower(ssn) AS k FROM customers').fetch_arrow_reader()"
    ".read_next_batch().to_pylist()[:5])",
])
def test_values_read_from_a_stream_are_masked_when_printed(k: Kernel, code: str) -> None:
    r = k.ok(code)
    assert "████" in r.text and not RAW_SSN.findall(r.everything()), r.everything()[:300]


def test_a_stream_written_by_pyarrow_is_checked(k: Kernel) -> None:
    k.blocked("import pyarrow.csv as pc\n"
              "pc.write_csv(con.sql('SELECT ssn FROM customers').arrow(), 'ssn.csv')",
              "exfiltration")
    assert not (k.workdir / "ssn.csv").exists()
    r = k.ok("pc.write_csv(con.sql('SELECT city, count(*) AS n FROM customers GROUP BY city "
             "ORDER BY city').arrow(), 'cities.csv')\nprint(con.sql('SELECT 42').fetchall())")
    assert "[(42,)]" in r.text   # the connection is free again: the stream was read whole
    assert (k.workdir / "cities.csv").read_text().splitlines()[1:] == [
        '"Lyon",10', '"Nice",10', '"Paris",10']
