"""Forked children of a guarded shell: they run, and they end cleanly (real processes)."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = """
import os, sys, time
os.environ["JUPYTER_GUARD_AUDIT"] = {audit!r}
from IPython.core.interactiveshell import InteractiveShell
sh = InteractiveShell.instance()
assert sh.run_cell("%load_ext jupyter_guard").success
sh.run_cell("x = 1")
import duckdb
for _ in range(100):          # until the ingester thread has published the cell
    if os.path.exists({audit!r}):
        con = duckdb.connect({audit!r}, read_only=True)
        n = con.execute("SELECT count(*) FROM events WHERE code = 'x = 1'").fetchone()[0]
        con.close()
        if n:
            break
    time.sleep(0.1)
pid = os.fork()
if pid == 0:                  # the child ends through the interpreter's normal shutdown
    sys.exit(3)
print("child", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""


def test_a_forked_child_of_a_guarded_shell_exits_normally(workdir: Path):
    """The child never frees the ingester's DuckDB instance, whose worker threads it does not
    have: it died with SIGSEGV in the interpreter's shutdown."""
    code = textwrap.dedent(SCRIPT.format(audit=str(workdir / "audit.duckdb")))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=workdir)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == ["child", "3"], done.stdout + done.stderr[-2000:]
