"""A copy of a database file is an export of every table in it, whatever the tables hold:
``shutil.copyfile('wh.duckdb', 'x.db')`` and ``!cp wh.duckdb x.db`` put the whole warehouse,
sensitive columns included, in a file no rule protects (the copy is made below the writes the
exits scan: ``os.sendfile`` or a child). Both are refused; copies of other files work."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "copy_database"
    d.mkdir()
    (d / "notes.txt").write_text("plain notes\n")
    with guarded_kernel(d, warehouse=20) as kernel:
        yield kernel


@pytest.mark.parametrize(("code", "out"), [
    ("import shutil\nshutil.copyfile('wh.duckdb', 'c1.db')", "c1.db"),
    ("import shutil\nshutil.copy('wh.duckdb', 'c2.bak')", "c2.bak"),
    ("import shutil, os\nos.makedirs('bk', exist_ok=True)\nshutil.copy2('wh.duckdb', 'bk')",
     "bk/wh.duckdb"),
    ("import shutil\nshutil.copyfile('wh.duckdb', 'c4.txt')", "c4.txt"),   # any name
    ("!cp wh.duckdb c5.db", "c5.db"),
    ("import subprocess\nsubprocess.run(['cp', 'wh.duckdb', 'c6.db'])", "c6.db"),
])
def test_a_database_file_is_not_copied(k: Kernel, code: str, out: str) -> None:
    r = k.blocked(code, "exfiltration")
    assert "copies database file" in r.everything()
    assert not (k.workdir / out).exists()


def test_other_files_are_copied(k: Kernel) -> None:
    k.ok("import shutil\nshutil.copyfile('notes.txt', 'n1.txt')\n!cp notes.txt n2.txt")
    for name in ("n1.txt", "n2.txt"):
        assert (k.workdir / name).read_text() == "plain notes\n"
