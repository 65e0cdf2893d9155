"""psycopg2 calls libpq's ``lo_import`` holding the connection's mutex; the guard's callback
in that slot (``pg2_lobject``) runs Python, and a garbage collection there could free an open
large object of the same connection, whose deallocation waits on that mutex: a deadlock, seen
once. With the collector's threshold at 1 a collection would start at the callback's first
allocations; none may start while it runs, and the refusal still comes (no file imported)."""
from __future__ import annotations

import gc
import traceback
from typing import Any

from tests.pg.conftest import Db, run


def _in_callback() -> bool:
    """Names and files only (``traceback.extract_stack``, which keeps no frame): the guard
    refuses this process a frame whose way back passes its own live frames, which a walk by
    ``sys._getframe`` would be, and the refused probe would see nothing."""
    return any(fs.name in ("lo_import", "lo_export", "lo_unlink") and
               fs.filename.endswith("pg2_lobject.py") for fs in traceback.extract_stack())


def test_no_collection_inside_the_lo_import_callback(ip: Any, db: Db, tmp_path: Any) -> None:
    src = tmp_path / "secret.txt"
    src.write_text("not for the database\n")
    oid = db.query("SELECT lo_from_bytea(0, convert_to('x', 'UTF8'))")[0][0]
    r = run(ip, f"import psycopg2, psycopg2.extensions as ext\ncon = psycopg2.connect({db.dsn!r})")
    assert r.error is None, r.error
    inside: list[str] = []
    seen: list[str] = []

    def watch(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            seen.append(phase)
            if _in_callback():
                inside.append(phase)

    old = gc.get_threshold()
    gc.callbacks.append(watch)
    try:
        gc.set_threshold(1)
        # an open large object of the same connection, left in a cycle: what a collection
        # inside the callback would free (its deallocation takes the connection's mutex)
        r = run(ip, f"held = con.lobject({oid}, 'rb')\nbox = [held]\nbox.append(box)\n"
                    f"held.box = box\ndel held, box\n"
                    f"lo = ext.lobject(con, 0, 'wb', 0, {str(src)!r})")
    finally:
        gc.set_threshold(*old)
        gc.callbacks.remove(watch)
    assert r.error is not None and (isinstance(r.error, PermissionError) or
                                    type(r.error).__name__ == "OperationalError"), repr(r.error)
    assert seen, "the collector never ran: the test proves nothing"
    assert not inside, f"{len(inside)} collections started inside the lo_import callback"
    assert run(ip, "con.rollback()").error is None
    assert db.query("SELECT count(*) FROM pg_largeobject_metadata")[0][0] == 1
    run(ip, "con.close()")
