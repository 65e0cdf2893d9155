"""The audit store is the guard's own: user code in a guarded kernel cannot open it (any driver,
read-only too), run `jupyter guard compact|repair` against it, or delete its archive; readers
outside kernels keep working and cannot freeze the writers."""
from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from jupyter_guard.record import ingest, verify
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel


def _events(audit: Path) -> int:
    con = duckdb.connect(str(audit), read_only=True)
    try:
        return int(con.execute("SELECT count(*) FROM events").fetchone()[0])
    finally:
        con.close()


@pytest.fixture()
def kernel(tmp_path: Path):
    audit = tmp_path / "guard" / "audit.duckdb"
    k = Kernel(tmp_path, {"JUPYTER_GUARD_AUDIT": str(audit)})
    assert k.run("%load_ext jupyter_guard").status == "ok"
    for i in range(5):
        assert k.run(f"v{i} = {i}").status == "ok"
    ingest(audit)
    yield k, audit, tmp_path
    k.stop()


def test_user_code_cannot_open_the_audit_store_through_any_driver(kernel):
    k, audit, tmp = kernel
    journal = next((audit.parent / "audit.duckdb.journal").glob("*.jsonl"))
    opens = [
        f"import duckdb\nduckdb.connect({str(audit)!r})",
        f"import duckdb\nduckdb.connect({str(audit)!r}, read_only=True)",
        f"import duckdb\nduckdb.connect(database={str(audit)!r}, read_only=True)",
        f"import duckdb\np = {str(audit.parent)!r} + '/audit' + '.duckdb'\nduckdb.connect(p)",
        f"import duckdb\nduckdb.connect().execute(\"ATTACH '{audit}' AS a (READ_ONLY)\")",
        f"import duckdb\nq = \"ATTACH '\" + {str(audit)!r} + \"' AS a\"\n"
        "duckdb.connect().execute(q)",
        f"import sqlite3\nsqlite3.connect({str(audit)!r})",
        f"open({str(audit)!r}, 'rb').read(10)",
        f"name = {str(journal)!r}\nopen(name).read()",
        f"open({str(audit) + '.lock'!r}, 'rb')",
        f"import os\nos.symlink({str(audit)!r}, 'alias.duckdb')",
        f"import shutil\nshutil.copy({str(audit)!r}, 'copy.duckdb')",
    ]
    before = _events(audit)
    for code in opens:
        r = k.run(code)
        assert r.status == "error" and "self-protection" in r.text, (code, r.text)
    assert not (tmp / "alias.duckdb").exists() and not (tmp / "copy.duckdb").exists()
    # no stray log file of a connection to the store (a writer's own temp copy, ``.audit.duckdb.
    # tmp-<pid>``, has a WAL while the kernel's background ingest runs: that one is not stray)
    assert not [w for w in audit.parent.glob("*.wal") if not w.name.startswith(".audit.duckdb.tmp-")]
    # benign twins: other DuckDB files, other files, run with correct results
    ok = k.run("import duckdb\nc = duckdb.connect('mine.duckdb')\nc.execute('CREATE TABLE t AS "
               "SELECT 42 AS x')\nprint(c.execute('SELECT x FROM t').fetchone()[0])\n"
               "open('notes.txt', 'w').write('hi')\nprint(open('notes.txt').read())")
    assert ok.status == "ok" and "42" in ok.text and "hi" in ok.text
    ingest(audit)
    assert _events(audit) >= before + len(opens) + 1   # every refusal is itself recorded
    assert verify(audit).ok


def test_compaction_and_repair_from_a_cell_are_refused(kernel):
    k, audit, tmp = kernel
    before = _events(audit)
    cli = f"{sys.executable} -m jupyter_guard.cli"
    cells = [
        f"!jupyter guard --audit {audit} compact --older-than 0d --archive $TMPDIR/x "
        "&& rm -rf $TMPDIR/x",
        f"!{cli} --audit {audit} compact --older-than 0d",
        f"!env -u JUPYTER_GUARD_KERNEL {cli} --audit {audit} compact --older-than 0d",
        f"import subprocess\nr = subprocess.run({cli.split()!r} + ['--audit', {str(audit)!r}, "
        "'repair'], capture_output=True, text=True)\nprint(r.returncode, r.stderr)",
        f"import os\nos.system('{cli} --audit {audit} compact --older-than 0d --archive ' + 'ar')",
    ]
    for code in cells:
        r = k.run(code)
        refused = r.status == "error" and "self-protection" in r.text
        assert refused or "refused: it changes the audit store" in r.text, (code, r.text)
    assert not (audit.parent / "audit.duckdb.archive").exists() and not (tmp / "ar").exists()
    ingest(audit)
    assert _events(audit) >= before + len(cells)
    assert verify(audit).ok
    # read-only subcommands still work from a cell
    rep = k.run(f"!{cli} --audit {audit} report --format csv")
    assert (rep.status == "ok" and "user_name" in rep.text) or "allowed" in rep.text


def test_deleting_the_compaction_archive_is_refused(tmp_path: Path):
    audit = tmp_path / "guard" / "audit.duckdb"
    k = Kernel(tmp_path, {"JUPYTER_GUARD_AUDIT": str(audit)})
    try:
        assert k.run("%load_ext jupyter_guard").status == "ok"
        assert k.run("a = 1").status == "ok"
        env = {k2: v for k2, v in os.environ.items() if k2 != "JUPYTER_GUARD_KERNEL"}
        out = subprocess.run([sys.executable, "-m", "jupyter_guard.cli", "--audit", str(audit),
                              "compact", "--older-than", "0d"], capture_output=True, text=True,
                             env=env, timeout=120)
        assert out.returncode == 0, out.stderr   # outside any kernel: allowed
        archive = Path(f"{audit}.archive")
        assert archive.exists()
        for code in (f"import shutil\nshutil.rmtree({str(archive)!r})",
                     f"!rm -rf {archive}",
                     f"import os\nfor f in os.listdir({str(archive)!r}):\n"
                     f"    os.remove(os.path.join({str(archive)!r}, f))"):
            r = k.run(code)
            assert r.status == "error" and "self-protection" in r.text, (code, r.text)
        assert any(archive.iterdir())
        assert verify(audit).ok
    finally:
        k.stop()


def test_a_reader_cannot_freeze_the_writers_and_report_says_when_stale(kernel):
    k, audit, _ = kernel
    lock = Path(f"{audit}.lock")
    assert lock.stat().st_mode & 0o007 == 0          # no access for other accounts
    # a governance reader in its own process, holding a read-only connection open
    reader = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time\n"
                               f"c = duckdb.connect({str(audit)!r}, read_only=True)\n"
                               "c.execute('SELECT count(*) FROM events').fetchall()\n"
                               "print('open', flush=True)\ntime.sleep(120)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "open"
        assert k.run("w = 1").status == "ok"
        deadline = time.monotonic() + 30               # the kernel's ingester publishes anyway
        while time.monotonic() < deadline and _events(audit) < 6:
            time.sleep(0.1)
        assert _events(audit) >= 6
    finally:
        reader.kill()
        reader.wait()
    # a writer holding the lock (a stuck process of the same account): report says STALE
    with open(lock, "r+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        assert k.run("stuck = 1").status == "ok"
        time.sleep(0.01)
        env = {k2: v for k2, v in os.environ.items() if k2 != "JUPYTER_GUARD_KERNEL"}
        out = subprocess.run([sys.executable, "-m", "jupyter_guard.cli", "--audit", str(audit),
                              "report"], capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode == 3 and "STALE" in out.stderr, (out.returncode, out.stderr)
    out = subprocess.run([sys.executable, "-m", "jupyter_guard.cli", "--audit", str(audit),
                          "report"], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0 and "STALE" not in out.stderr


def test_child_processes_cannot_read_the_audit_store(kernel):
    """`!cat <audit>` and other children that name the store's files (relative, by glob, in a
    `python -c` program, through subprocess and os.system) are refused before they start."""
    k, audit, tmp = kernel
    rel = os.path.relpath(audit, tmp)
    cells = [
        f"!cat {audit}",
        f"!cat {rel} > {tmp}/leak.bin",
        f"!head -c 100 {audit.parent}/audit.duckdb.journal/*.jsonl > {tmp}/leak.bin",
        f"!duckdb {audit} -c 'SELECT count(*) FROM events'",
        f"!sqlite3 {audit} 'SELECT 1'",
        f"!python -c \"print(open('{audit}', 'rb').read(10))\"",
        f"!cp {audit} {tmp}/leak.bin",
        f"import subprocess\nsubprocess.run(['cat', {str(audit)!r}], capture_output=True)",
        f"import os\nos.system('dd if=' + {str(audit)!r} + ' of={tmp}/leak.bin')",
    ]
    for code in cells:
        r = k.run(code)
        assert r.status == "error" and "self-protection" in r.text, (code, r.text)
        assert "DUCK" not in r.text and not (tmp / "leak.bin").exists(), code
    # benign twins: children reading other files, and the guard's own read-only commands
    (tmp / "notes.txt").write_text("plain notes\n")
    ok = k.run(f"!cat {tmp}/notes.txt")
    assert ok.status == "ok" and "plain notes" in ok.text
    # code built at run time: its operators are no glob (``*`` repeats a string)
    ok = k.run("exec('n_run = 1;' * 3)\nprint(eval('2 * 3'), n_run)")
    assert ok.status == "ok" and "6 1" in ok.text, ok.text
    bad = k.run(f"exec('print(open(' + repr({str(audit)!r}) + ', \"rb\").read(10))')")
    assert bad.status == "error" and "self-protection" in bad.text and "DUCK" not in bad.text
    rep = k.run(f"!{sys.executable} -m jupyter_guard.cli report --format csv")  # env: the store
    assert rep.status == "ok" and "Blocked by" not in rep.text and "user" in rep.text, rep.text
    ingest(audit)
    assert verify(audit).ok
