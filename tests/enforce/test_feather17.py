"""``DataFrame.to_feather`` in a guarded kernel: pandas hands its frame to pyarrow's
``write_feather`` as it is, which the guard's writer check once read as an Arrow table
(``AttributeError: 'DataFrame' object has no attribute 'slice'``: honest work broken). Now a
plain frame is written and reads back whole, and a frame of raw SSNs is refused
(``exfiltration``) with no file left holding them."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import new_workspace
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    with guarded_kernel(new_workspace(work_root), warehouse=50, connect=True) as kernel:
        kernel.ok("import pandas as pd")
        yield kernel


def test_a_plain_frame_is_written_and_reads_back(k: Kernel) -> None:
    r = k.ok("pd.DataFrame({'a': [1, 2, 3], 'city': ['x', 'y', 'z']}).to_feather('ok.feather')\n"
             "print('BACK', pd.read_feather('ok.feather')['a'].sum())")
    assert "BACK 6" in r.stream, r.everything()


def test_a_frame_of_ssns_is_refused(k: Kernel) -> None:
    r = k.run("df = con.execute('SELECT id, ssn FROM customers').df()\n"
              "df.to_feather('ssn.feather')")
    assert "exfiltration" in r.everything(), r.everything()
    f = k.workdir / "ssn.feather"
    assert not f.exists() or f.stat().st_size == 0, f.stat().st_size   # nothing written
