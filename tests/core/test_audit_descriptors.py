"""The audit journal's open descriptor and the limits it needs, attacked from a cell of a real
kernel: ``os.dup2`` of ``/dev/null`` onto it, ``os.close`` of it, lowering the process's
file-size or open-file limit. In each, every later cell is still recorded (nothing went to
``/dev/null``, nothing waits forever), the user is told, and the store verifies."""
from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_guard.record import verify
from tests.core.test_audit_faults import cells_in_store, start, wait_for

pytestmark = pytest.mark.kernel

FIND = ("import os\n"
        "mine = []\n"
        "for fd in os.listdir('/proc/self/fd'):\n"
        "    try:\n"
        "        target = os.readlink(f'/proc/self/fd/{fd}')\n"
        "    except OSError:\n"
        "        continue\n"
        "    if target.endswith('.jsonl'):\n"
        "        mine.append(int(fd))\n"
        "assert mine, 'no journal descriptor found'\n")


@pytest.mark.parametrize("attack", [
    pytest.param("null = os.open('/dev/null', os.O_WRONLY)\nfor fd in mine:\n"
                 "    os.dup2(null, fd)", id="dup2-dev-null"),
    pytest.param("for fd in mine:\n    os.close(fd)", id="close"),
    pytest.param("import tempfile\nt = tempfile.NamedTemporaryFile(delete=False)\n"
                 "for fd in mine:\n    os.dup2(t.fileno(), fd)", id="dup2-other-file"),
])
def test_a_journal_descriptor_taken_from_the_guard_loses_no_event(tmp_path: Path,
                                                                 attack: str) -> None:
    audit = tmp_path / "guard" / "audit.duckdb"
    s = start(tmp_path, audit)
    try:
        assert s.run("a = 1").status == "ok"
        assert s.run(FIND + attack).status == "ok"
        for i in range(3):
            r = s.run(f"after_{i} = {i}")
            assert r.status == "ok", r.text
        assert s.told("the audit journal's descriptor was closed or replaced") == 1
        wait_for(lambda: set(s.sent) <= set(cells_in_store(audit)), 60, "every cell ingested")
        assert verify(audit).ok
    finally:
        s.k.stop()


@pytest.mark.parametrize("code", [
    pytest.param("import resource\nresource.setrlimit(resource.RLIMIT_FSIZE, (1, 1))",
                 id="fsize"),
    pytest.param("import resource\nresource.setrlimit(resource.RLIMIT_NOFILE, (3, 3))",
                 id="nofile"),
    pytest.param("import resource, os\n"
                 "resource.prlimit(os.getpid(), resource.RLIMIT_FSIZE, (0, 0))", id="prlimit"),
    pytest.param("import resource as r\nlim = getattr(r, 'RLIMIT_' + 'FSIZE')\n"
                 "getattr(r, 'set' + 'rlimit')(lim, (10, 10))", id="built-at-run-time"),
])
def test_starving_the_audit_of_file_size_or_descriptors_is_refused(tmp_path: Path,
                                                                   code: str) -> None:
    audit = tmp_path / "guard" / "audit.duckdb"
    s = start(tmp_path, audit)
    try:
        r = s.run(code)
        assert r.status == "error" and "self-protection" in r.text, r.text
        for i in range(3):
            assert s.run(f"after_{i} = 'x' * 1000").status == "ok"
        wait_for(lambda: set(s.sent) <= set(cells_in_store(audit)), 60, "every cell ingested")
        assert verify(audit).ok
    finally:
        s.k.stop()


def test_raising_or_reading_limits_and_limiting_children_still_work(tmp_path: Path) -> None:
    s = start(tmp_path, tmp_path / "guard" / "audit.duckdb")
    try:
        r = s.run("import resource, subprocess\n"
                  "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
                  "resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))\n"
                  "resource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n"
                  "out = subprocess.run(['sh', '-c', 'ulimit -f 1; ulimit -f'],\n"
                  "                     capture_output=True, text=True).stdout\n"
                  "print(resource.getrlimit(resource.RLIMIT_NOFILE)[0] == hard, out.strip())")
        assert r.status == "ok" and "True 1" in r.text, r.text
    finally:
        s.k.stop()
