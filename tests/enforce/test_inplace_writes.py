"""Protected files changed in place, without truncating them: ``open(p, 'r+b')`` (and ``mmap``
over it), ``os.open(p, O_RDWR)``, ``dd conv=notrunc``, and permissions taken away
(``os.chmod(p, 0)``, ``!chmod 000``) destroy a warehouse as surely as deleting it. Each is
refused and the file's bytes and mode are unchanged; appends, reads, new files and ordinary
permission changes still work."""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "inplace"
    (d / "data").mkdir(parents=True)
    (d / "data" / "log.csv").write_text("a,b\n1,2\n")
    with guarded_kernel(d, warehouse=20) as kernel:
        yield kernel


def _state(p: Path) -> tuple[str, int]:
    return hashlib.sha256(p.read_bytes()).hexdigest(), os.stat(p).st_mode & 0o777


@pytest.mark.parametrize("code", [
    "f = open('wh.duckdb', 'r+b'); f.write(b'\\0' * 16); f.close()",
    "import mmap\nf = open('wh.duckdb', 'r+b')\nm = mmap.mmap(f.fileno(), 0); m[0:8] = b'\\0' * 8",
    "import os\nfd = os.open('wh.duckdb', os.O_RDWR); os.write(fd, b'x'); os.close(fd)",
    "from pathlib import Path\nwith Path('wh.duckdb').open('r+b') as f: f.write(b'x')",
    "!dd if=/dev/zero of=wh.duckdb bs=1 count=10 conv=notrunc 2>/dev/null",
    "import os\nos.chmod('wh.duckdb', 0)",
    "from pathlib import Path\nPath('wh.duckdb').chmod(0o200)",
    "!chmod 000 wh.duckdb",
    "!chmod a-r wh.duckdb",
    "f = open('data/log.csv', 'r+'); f.write('zz'); f.close()",
])
def test_a_protected_file_is_not_changed_in_place(k: Kernel, code: str) -> None:
    target = k.workdir / ("data/log.csv" if "log.csv" in code else "wh.duckdb")
    before = _state(target)
    k.blocked(code, "destructive-files")
    assert _state(target) == before


def test_appends_reads_new_files_and_plain_modes_work(k: Kernel) -> None:
    k.ok("with open('data/log.csv', 'a') as f: f.write('3,4\\n')\n"
         "print(open('wh.duckdb', 'rb').read(4) != b'')\n"
         "open('data/new.csv', 'w').write('x\\n')\n"
         "open('scratch.bin', 'wb').write(b'abc')\n"
         "f = open('scratch.bin', 'r+b'); f.write(b'z'); f.close()\n"
         "import os\nos.chmod('wh.duckdb', 0o640)\nos.chmod('scratch.bin', 0)")
    assert (k.workdir / "data" / "log.csv").read_text() == "a,b\n1,2\n3,4\n"
    assert (k.workdir / "scratch.bin").stat().st_mode & 0o777 == 0
    assert os.stat(k.workdir / "wh.duckdb").st_mode & 0o777 == 0o640
