"""A Python child that prints sensitive values from the warehouse, its output captured by the
kernel (``subprocess.run(capture_output=True)``, ``check_output``, ``Popen().communicate()``)
and written to a file, in a real kernel: the child runs with the guard inside it, so what it
hands back is already masked, and the file holds no raw value. The same child printing a plain
column hands it back as it is."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_warehouse, new_workspace
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

ROWS = 20
EMAILS = [f"user{n}@example.com" for n in range(ROWS)]
SSNS = [f"{100000000 + n:09d}" for n in range(ROWS)]
CHILD = ("import duckdb; con = duckdb.connect('wh.duckdb', read_only=True); "
         "print('\\n'.join(str(r[0]) for r in con.sql('SELECT {col} FROM customers "
         "ORDER BY id').fetchall()))")


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    work = new_workspace(work_root, data=False)
    make_warehouse(work / "wh.duckdb", rows=ROWS)
    with guarded_kernel(work, {"JUPYTER_GUARD_USER": "tester"}) as kernel:
        kernel.ok(f"import subprocess, sys\nCHILD = {CHILD!r}")
        yield kernel


CAPTURES = [
    pytest.param("subprocess.run([sys.executable, '-c', code], capture_output=True, "
                 "text=True).stdout", id="run-capture_output"),
    pytest.param("subprocess.check_output([sys.executable, '-c', code], text=True)",
                 id="check_output"),
    pytest.param("subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE, "
                 "text=True).communicate()[0]", id="popen-communicate"),
]


@pytest.mark.parametrize("capture", CAPTURES)
@pytest.mark.parametrize("col", ["email", "ssn"])
def test_captured_sensitive_output_is_masked_and_written_masked(k, capture, col):
    target = k.workdir / f"child_{col}.txt"
    r = k.ok(f"code = CHILD.format(col={col!r})\nout = {capture}\n"
             f"open({target.name!r}, 'w').write(out)\nprint(len(out.splitlines()))")
    blob = json.dumps([m["content"] for m in r.messages])
    written = target.read_text()
    raw = [v for v in EMAILS + SSNS if v in written or v in blob]
    assert raw == [], written[:200]
    assert len(written.splitlines()) == ROWS and "\u2588" in written, written[:200]


def test_captured_plain_output_is_unchanged(k):
    r = k.ok("out = subprocess.check_output([sys.executable, '-c', CHILD.format(col='city')], "
             "text=True)\nopen('child_city.txt', 'w').write(out)")
    assert r.ok
    assert (k.workdir / "child_city.txt").read_text().split() == (
        ["Paris", "Lyon", "Nice"] * 7)[:ROWS]
