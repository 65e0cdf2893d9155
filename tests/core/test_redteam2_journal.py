"""The audit journal's descriptor, attacked from a cell of a real kernel beyond ``dup2`` and
``close`` (red team, 2026-11-30): ``fcntl`` removing ``O_APPEND`` then ``lseek`` to the start
(later lines overwrite earlier ones), ``ftruncate`` of it, ``posix_fallocate`` (a hole of NUL
bytes), ``set_blocking``, a ``dup2`` from a thread that keeps toggling, and ``prlimit`` of the
kernel from a child. Whatever runs, every cell is recorded and the store verifies."""
from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_guard.record import verify
from tests.core.test_audit_descriptors import FIND
from tests.core.test_audit_faults import cells_in_store, start, wait_for

pytestmark = pytest.mark.kernel

ATTACKS = [
    pytest.param("import fcntl\nfor fd in mine:\n"
                 "    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_APPEND)\n"
                 "    os.lseek(fd, 0, os.SEEK_SET)", id="no-append-lseek"),
    pytest.param("for fd in mine:\n    os.ftruncate(fd, 0)", id="ftruncate"),
    pytest.param("for fd in mine:\n    os.posix_fallocate(fd, os.fstat(fd).st_size, 1 << 20)",
                 id="posix-fallocate"),
    pytest.param("for fd in mine:\n    os.set_blocking(fd, False)", id="set-blocking"),
    pytest.param("import threading\nnull = os.open('/dev/null', os.O_WRONLY)\n"
                 "saved = [os.dup(fd) for fd in mine]\n"
                 "def flip():\n"
                 "    for _ in range(200000):\n"
                 "        for fd, s in zip(mine, saved):\n"
                 "            os.dup2(null, fd)\n"
                 "            os.dup2(s, fd)\n"
                 "threading.Thread(target=flip, daemon=True).start()", id="dup2-toggling-thread"),
    pytest.param("os.write(mine[0], b'{\"t\":\"end\",\"seq\":999999}\\n')", id="forged-line"),
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_every_later_cell_is_recorded(tmp_path: Path, attack: str) -> None:
    audit = tmp_path / "guard" / "audit.duckdb"
    s = start(tmp_path, audit)
    try:
        assert s.run("a = 1").status == "ok"
        s.run(FIND + attack)
        for i in range(5):
            s.run(f"after_{i} = {i}")
        wait_for(lambda: set(s.sent) <= set(cells_in_store(audit)), 40, "every cell ingested")
        result = verify(audit)
        if "999999" in attack:   # a forged line, kept as evidence: verify names the tampering
            assert not result.ok and {p.what for p in result.problems} & {"malformed", "deleted"}
        else:
            assert result.ok, result
        if "fallocate" in attack or "999999" in attack:
            assert s.told("the audit journal was changed by code in this process") == 1
        if "ftruncate" in attack:   # refused, or lines removed: never "nothing was lost"
            assert s.told("nothing was lost") == 0, s.out
    finally:
        s.k.stop()


def test_a_file_size_limit_set_from_a_child_refuses_later_cells(tmp_path: Path) -> None:
    """``prlimit --pid <kernel> --fsize=0`` from a child: no later cell runs unrecorded (the
    audit's ``on_failure: refuse``), each is refused naming the journal's error."""
    s = start(tmp_path, tmp_path / "guard" / "audit.duckdb")
    try:
        assert s.run("a = 1").status == "ok"
        s.run("import subprocess, os\n"
              "subprocess.run(['prlimit', '--pid', str(os.getpid()), '--fsize=0'])")
        for i in range(2):
            r = s.run(f"print('RAN', {i})")
            assert r.status == "error" and "RAN" not in r.stream, r.text
            assert "audit journal cannot be written" in r.text, r.text
    finally:
        s.k.stop()


def test_the_users_own_descriptors_take_fcntl_lseek_and_fallocate(tmp_path: Path) -> None:
    s = start(tmp_path, tmp_path / "guard" / "audit.duckdb")
    try:
        r = s.run("import os, fcntl\nfd = os.open('mine.bin', os.O_RDWR | os.O_CREAT | os.O_APPEND)\n"
                  "os.write(fd, b'abc')\n"
                  "fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_APPEND)\n"
                  "os.lseek(fd, 0, os.SEEK_SET)\nos.write(fd, b'X')\n"
                  "os.posix_fallocate(fd, 3, 5)\nos.ftruncate(fd, 6)\nos.close(fd)\n"
                  "print(open('mine.bin', 'rb').read())")
        assert r.status == "ok" and "b'Xbc\\x00\\x00\\x00'" in r.stream, r.text
        assert s.run("b = 2").status == "ok"
        assert s.told("audit journal") == 0
        wait_for(lambda: set(s.sent) <= set(cells_in_store(tmp_path / "guard" / "audit.duckdb")),
                 40, "every cell ingested")
    finally:
        s.k.stop()
