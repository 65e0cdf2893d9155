"""numpy's ``ndarray.tofile`` writes from native code (an ``io.open`` numpy kept, then ``fwrite``):
in a real kernel, no spelling of it puts sensitive values in a file, and plain arrays are written
whole."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

EMAILS = [f"user{n}@example.com" for n in range(600)]
SSNS = [f"{100000000 + n:09d}" for n in range(600)]


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kernel, Path]]:
    work = tmp_path_factory.mktemp("numpy")
    with guarded_kernel(work, warehouse=600, connect=True) as k:
        k.ok("import numpy as np, os\n"
             "df = con.execute('SELECT id, email, ssn, city, amount FROM customers').df()\n"
             "em = df.email.tolist()")
        yield k, work


def _raw(path: Path) -> int:
    """How many of the warehouse's e-mails or SSNs the file holds, in any of numpy's encodings."""
    if not path.exists():
        return 0
    data = path.read_bytes()
    text = data.replace(b"\x00", b"").decode("latin-1")
    return sum(e in text for e in EMAILS) + sum(s in text for s in SSNS)


@pytest.mark.parametrize("code", [
    pytest.param("np.array(em).tofile('{f}')", id="text-array-path"),
    pytest.param("df.email.to_numpy(dtype=object).tofile('{f}', sep='\\n')", id="object-array-sep"),
    pytest.param("np.fromiter(em, dtype='U40').tofile('{f}')", id="fromiter"),
    pytest.param("np.array([e.encode() for e in em]).tofile('{f}')", id="bytes-array"),
    pytest.param("f = open('{f}', 'wb')\nnp.array(em).tofile(f)\nf.close()",
                 id="into-guarded-file-object"),
    pytest.param("np.ndarray.tofile(np.array(em), '{f}')", id="unbound"),
    pytest.param("w = np.array(df.ssn.tolist()).tofile\nw('{f}')", id="bound-method-saved"),
    pytest.param("class A(np.ndarray): pass\nnp.array(em).view(A).tofile('{f}')", id="subclass"),
    pytest.param("df[['email', 'ssn']].to_records().tofile('{f}')", id="records"),
    pytest.param("np.char.add(np.array(em), ',').tofile('{f}', sep='')", id="np-char-derived"),
])
def test_tofile_of_sensitive_values_writes_nothing(kernel: tuple[Kernel, Path], code: str,
                                                    request: pytest.FixtureRequest) -> None:
    k, work = kernel
    name = f"out-{request.node.callspec.id}.bin"
    r = k.run(code.format(f=name))
    assert not r.ok and "exfiltration" in r.error["evalue"], r.error
    assert _raw(work / name) == 0


def test_plain_arrays_are_written_whole(kernel: tuple[Kernel, Path]) -> None:
    k, work = kernel
    k.ok("np.arange(100000, dtype='int64').tofile('ints.bin')\n"
         "np.array(df.city.tolist()).tofile('cities.txt', sep='\\n')\n"
         "df.amount.values.tofile('amounts.txt', sep=',', format='%.2f')")
    assert np.array_equal(np.fromfile(work / "ints.bin", dtype="int64"), np.arange(100000))
    cities = (work / "cities.txt").read_text().split("\n")
    assert len(cities) == 600 and set(cities) == {"Paris", "Lyon", "Nice"}
    amounts = (work / "amounts.txt").read_text().split(",")
    assert len(amounts) == 600 and amounts[2] == "3.00"
