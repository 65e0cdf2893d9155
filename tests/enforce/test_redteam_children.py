"""Red team, data handed to worker processes: a ``ProcessPoolExecutor`` call carrying values
read from a sensitive column is refused in the cell, at ``submit``, instead of in the pool's
background thread (which left the cell waiting for ever); pools over plain values still work."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "redteam_children"
    d.mkdir()
    with guarded_kernel(d, warehouse=30, connect=True) as kernel:
        kernel.ok("import concurrent.futures as cf\n"
                  "df = con.sql('SELECT email, ssn FROM customers ORDER BY id').df()\n"
                  "S = ','.join(df.ssn.tolist()[:5])\n"
                  "def size(d, n):\n    return len(d) + n")
        yield kernel


@pytest.mark.parametrize("code", [
    pytest.param("with cf.ProcessPoolExecutor(1) as ex:\n    print(ex.submit(size, S, 1).result())",
                 id="submit"),
    pytest.param("with cf.ProcessPoolExecutor(1) as ex:\n"
                 "    print(list(ex.map(len, df.ssn.tolist())))", id="map"),
])
def test_sensitive_values_sent_to_a_process_pool_are_refused_in_the_cell(k: Kernel,
                                                                       code: str) -> None:
    r = k.run(code, timeout=45)
    assert r.status == "error" and "[exfiltration]" in r.everything(), r.everything()
    assert "process pool worker" in r.everything()
    assert k.ok("print('alive')").stream.strip() == "alive"


def test_a_process_pool_over_plain_values_runs(k: Kernel) -> None:
    r = k.ok("with cf.ProcessPoolExecutor(2) as ex:\n"
             "    print(list(ex.map(abs, [-1, -2, -3])), ex.submit(size, 'abc', 1).result())")
    assert "[1, 2, 3] 4" in r.stream, r.everything()
