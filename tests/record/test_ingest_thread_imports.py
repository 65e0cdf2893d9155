"""The background ingest never starts an import of pandas or pyarrow.

A first import of pandas from the ingest thread while the kernel's own thread imports it too
breaks one of the two (``cannot import name 'DataFrame' from partially initialized module``):
``%load_ext sql`` failed this way. The spy below records every import of either package made by
a thread other than the kernel's main thread.
"""
from __future__ import annotations

import time
from pathlib import Path

import duckdb

from tests.kernelutil import guarded_kernel

SPY = """
import sys, threading
class _Spy:
    seen = []
    def find_spec(self, name, path=None, target=None):
        if (name.split('.')[0] in ('pandas', 'pyarrow')
                and threading.current_thread() is not threading.main_thread()):
            _Spy.seen.append((threading.current_thread().name, name))
        return None
sys.meta_path.insert(0, _Spy())
spy = _Spy
"""


def _events(audit: Path) -> int:
    try:
        con = duckdb.connect(str(audit), read_only=True)
    except duckdb.Error:   # not written yet, or being replaced: ask again
        return 0
    try:
        return int(con.execute("SELECT count(*) FROM events").fetchall()[0][0])
    except duckdb.Error:
        return 0
    finally:
        con.close()


def test_the_ingest_thread_leaves_first_imports_of_pandas_and_pyarrow_to_the_kernel(
        tmp_path: Path) -> None:
    with guarded_kernel(tmp_path, warehouse=20, connect=True) as k:
        k.ok(SPY)
        for i in range(3):
            k.ok(f"x{i} = con.execute('SELECT count(*) FROM customers').fetchall()")
        deadline = time.monotonic() + 60
        while _events(tmp_path / "audit.duckdb") < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _events(tmp_path / "audit.duckdb") >= 5, "the spy's cells never reached the audit"
        seen = k.ok("print(sorted(set(spy.seen)))").text.strip()
        assert seen == "[]", seen[:400]
        # the benign twin: the kernel itself imports pandas and the ingest carries on
        k.ok("import pandas as pd\nd = con.execute('SELECT * FROM customers').df()\n"
             "assert len(d) == 20")
