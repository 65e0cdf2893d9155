"""A table another process made with renamed copies of the sensitive columns (bare 9-digit SSNs
as ``k``, e-mails as ``contact``), read by a session that never read ``customers``: its values
are known from the file's own sensitive columns, so they are masked when printed or shown and
refused at the exits. Every message the kernel sent is scanned; plain columns of the same table
come out intact."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_warehouse
from tests.enforce.test_exits import EMAILS, SSNS
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel


@pytest.fixture()
def k(tmp_path: Path) -> Iterator[Kernel]:
    import duckdb

    from jupyter_guard.connections import unwrap

    path = make_warehouse(tmp_path / "wh3.duckdb")
    con = unwrap(duckdb.connect(str(path)))   # another process's work: no guard, no lineage
    con.execute("CREATE TABLE ext AS SELECT id, ssn AS k, email AS contact, city FROM customers")
    con.close()
    with guarded_kernel(tmp_path) as kernel:
        yield kernel


def _no_raw(text: str) -> None:
    hits = [v for v in SSNS[:500] + EMAILS[:500] if v in text]
    assert not hits, hits[:3]


OPEN = "import duckdb\nw3 = duckdb.connect('wh3.duckdb')\n"


@pytest.mark.parametrize("code", [
    pytest.param("print(w3.execute('SELECT k FROM ext ORDER BY id LIMIT 50').fetchall())",
                 id="print-fetchall"),
    pytest.param("w3.sql('SELECT id, k, contact FROM ext ORDER BY id LIMIT 50').df()",
                 id="display-frame"),
    pytest.param("x = w3.sql('SELECT k FROM ext ORDER BY id').df()\nprint(x.k.tolist()[:50])",
                 id="print-list-of-frame"),
])
def test_a_renamed_copy_is_not_shown_raw(k: Kernel, code: str) -> None:
    r = k.run(OPEN + code)
    _no_raw(r.everything())


def test_a_renamed_copy_is_not_written_raw(k: Kernel) -> None:
    k.blocked(OPEN + "w3.execute(\"COPY (SELECT k FROM ext) TO 'k.csv'\")", "exfiltration")
    f = k.workdir / "k.csv"
    _no_raw(f.read_text() if f.exists() else "")
    k.blocked("ks = [r[0] for r in w3.execute('SELECT k FROM ext').fetchall()]\n"
              "open('k.txt', 'w').write('\\n'.join(ks))", "exfiltration")
    f = k.workdir / "k.txt"
    _no_raw(f.read_text() if f.exists() else "")


def test_plain_columns_of_that_table_come_out_intact(k: Kernel) -> None:
    out = k.ok(OPEN + "print(w3.execute('SELECT id, city FROM ext ORDER BY id LIMIT 3')"
               ".fetchall())").text
    assert out.strip() == "[(0, 'Paris'), (1, 'Lyon'), (2, 'Nice')]"
    k.ok("w3.execute(\"COPY (SELECT id, city FROM ext ORDER BY id) TO 'plain.csv'\")")
    assert (k.workdir / "plain.csv").read_text().splitlines()[:3] == ["id,city", "0,Paris",
                                                                       "1,Lyon"]
