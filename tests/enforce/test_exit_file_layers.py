"""The file object behind a checked file, reached from user code, in a real kernel: every route
to it (the attribute, a bound method's ``__self__``, ``detach``, ``gc.get_referents``, the
buffer and raw layers below it, the C types' unbound ``write``) scans what is written through
it. Each attack asserts on the bytes on disk after the file is closed; each plain twin reads
back byte for byte."""
from __future__ import annotations

import uuid

import pytest

from tests.conftest import make_warehouse
from tests.enforce.test_exit_batches import _no_raw
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

REAL = "f._jg_file"
# (what is written: 'D' a str, 'B' its bytes) -> a route past the checked file's own write
ROUTES = [
    pytest.param(f"{REAL}.write(D)", id="attribute"),
    pytest.param(f"{REAL}.writelines([D])", id="attribute-writelines"),
    pytest.param(f"print(D, file={REAL})", id="print-to-the-real-file"),
    pytest.param("f.readable.__self__.write(D)", id="bound-method-self"),
    pytest.param("f.seekable.__self__.buffer.write(B)", id="bound-method-self-buffer"),
    pytest.param("import gc\n[o for o in gc.get_referents(f) if isinstance(o, io.TextIOWrapper)]"
                 "[0].write(D)", id="gc-referents"),
    pytest.param(f"{REAL}.buffer.write(B)", id="real-buffer"),
    pytest.param(f"{REAL}.buffer.raw.write(B)", id="real-raw"),
    pytest.param(f"io.TextIOWrapper.write({REAL}, D)", id="unbound-c-method"),
    pytest.param(f"type({REAL}.buffer).__mro__[0].write({REAL}.buffer, B)",
                 id="unbound-buffer-method"),
    pytest.param("b = f.detach()\nb.write(B)\nb.flush()", id="detach"),
]


@pytest.fixture(scope="module")
def k(kernel: Kernel) -> Kernel:
    make_warehouse(kernel.workdir / "wh.duckdb")
    kernel.ok("import io, duckdb\n"
              "con = duckdb.connect('wh.duckdb')\n"
              "df = con.sql('SELECT * FROM customers ORDER BY id').df()")
    return kernel


def _close(k: Kernel) -> None:
    k.ok("for x in ('f', 'b'):\n    try:\n        globals()[x].close()\n"
         "    except (NameError, KeyError, ValueError):\n        pass")


@pytest.mark.parametrize("col", ["email", "ssn"])
@pytest.mark.parametrize("route", ROUTES)
def test_writes_past_the_checked_file_put_no_sensitive_value_on_disk(k: Kernel, route: str,
                                                                     col: str) -> None:
    p = k.workdir / f"out-{uuid.uuid4().hex[:8]}.txt"
    k.ok(f"f = open({str(p)!r}, 'w')\nf.write('header\\n')")
    k.blocked(f"D = '\\n'.join(df.{col}.tolist())\nB = D.encode()\n{route}", "exfiltration")
    _close(k)
    assert p.exists()
    _no_raw(p)


@pytest.mark.parametrize("route", ROUTES)
def test_writes_past_the_checked_file_write_plain_data_intact(k: Kernel, route: str) -> None:
    p = k.workdir / f"plain-{uuid.uuid4().hex[:8]}.txt"
    data = "\n".join(f"city {n}, {n * 7} units" for n in range(3000))
    k.ok(f"f = open({str(p)!r}, 'w')\nf.write('header\\n')\n"
         f"D = {data!r}\nB = D.encode()\n{route}")
    _close(k)
    tail = "\n" if route.startswith("print(") else ""
    text = p.read_text()   # the header the checked file held may land after the direct write
    assert len(text) == len("header\n" + data + tail)
    assert text.count(data + tail) == 1 and text.count("header\n") == 1


@pytest.mark.parametrize("mode", ["'wb'", "'w+b'", "'wb', buffering=0", "'w', buffering=1",
                                  "'a'"])
def test_the_real_file_of_every_open_mode_checks_its_writes(k: Kernel, mode: str) -> None:
    p = k.workdir / f"mode-{uuid.uuid4().hex[:8]}.txt"
    binary = "b" in mode.split(",")[0]
    data = "B" if binary else "D"
    k.blocked(f"D = '\\n'.join(df.email.tolist())\nB = D.encode()\n"
              f"f = open({str(p)!r}, {mode})\nf._jg_file.write({data})", "exfiltration")
    _close(k)
    _no_raw(p)
    k.ok(f"f = open({str(p)!r}, {mode})\n"
         f"f._jg_file.write({'b' if binary else ''}'plain 12 units\\n')")
    _close(k)
    assert p.read_bytes().endswith(b"plain 12 units\n")
