"""The guard's own background work neither trips its self-protection nor passes its SQL checks."""
from __future__ import annotations

import threading


def test_compile_in_another_thread_while_a_cell_parses_is_not_tampering(s):
    import jupyter_guard

    kg = jupyter_guard._kernel_guard
    kg._depth += 1                # as while the shell thread is inside the cell hook
    try:
        t = threading.Thread(target=compile, args=("y = 1", "<background import>", "exec"))
        t.start()
        t.join()
        assert kg._depth == 1     # the shell thread's parse was not reset under it
    finally:
        kg._depth -= 1
    assert s.run("z = 1").ok


def test_audit_store_connections_are_not_the_guarded_proxy(s, tmp_path):
    import duckdb

    from jupyter_guard.duck import own_connection as _connect

    assert type(duckdb.connect()).__name__ == "GuardedConnection"   # what user code gets
    con = _connect(str(tmp_path / "store.duckdb"))
    try:
        assert type(con).__name__ == "DuckDBPyConnection"
    finally:
        con.close()
