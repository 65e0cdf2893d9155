"""``np.savetxt`` of a path in a kernel that imported numpy before ``%load_ext jupyter_guard``
(red team 18): numpy opens the path through the ``io.open`` it kept in ``numpy.lib._datasource``
at import, so the guard's ``open`` was never called and whole SSNs reached the file. The guard
now points that entry at its own ``open`` when it loads (or when numpy is imported later)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import make_warehouse
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    d = tmp_path_factory.mktemp("savetxt18")
    make_warehouse(d / "wh.duckdb", rows=60)
    kernel = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb"),
                        "JUPYTER_GUARD_POLICY": None})
    try:
        kernel.ok("import numpy as np, numpy.lib._datasource\n"
                  "np.lib._datasource._file_openers._load()")   # numpy first, then the guard
        kernel.ok("%load_ext jupyter_guard")
        kernel.ok("import duckdb\ncon = duckdb.connect('wh.duckdb')\n"
                  "S = con.sql('SELECT ssn FROM customers ORDER BY id').df().ssn.tolist()")
        yield kernel
    finally:
        kernel.stop()


@pytest.mark.parametrize("fmt", ["%s", "%s,"])
def test_savetxt_of_a_path_is_judged(k: Kernel, fmt: str) -> None:
    out = k.workdir / f"s18_{len(fmt)}.txt"
    k.blocked(f"np.savetxt({str(out)!r}, np.array(S[5:30]), fmt={fmt!r})", "exfiltration")
    text = out.read_text() if out.exists() else ""
    assert not any(s in text for s in [f"{100000000 + n:09d}" for n in range(5, 30)]), text[:200]


def test_savetxt_of_ordinary_numbers_still_writes(k: Kernel) -> None:
    out = k.workdir / "s18_amounts.txt"
    k.ok(f"np.savetxt({str(out)!r}, np.array([[i, i * 3] for i in range(50)]), fmt='%d')")
    assert out.read_text().splitlines() == [f"{i} {i * 3}" for i in range(50)]
