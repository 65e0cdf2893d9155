"""psycopg2's C methods saved before ``%load_ext`` (a method descriptor that still calls
psycopg2's C body), in a real kernel on a real PostgreSQL: the SQL they send reaches libpq
unjudged, and the guard refuses it there (``pg2_libpq``). Each attack ends the cell in error
(or, in a thread, ends the thread) with ``orders`` intact, the session's settings unchanged and
no row of ``customers`` exported; everyday psycopg2 use runs with correct results."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel
from tests.pg.conftest import Db, saved_before_load
from tests.pg.test_magic import idle_in_transaction

pytestmark = pytest.mark.kernel

SAVED = ("import io, threading, psycopg2, psycopg2.extensions as ext, psycopg2.extras as ex\n"
         "f_exec, f_many = ext.cursor.execute, ext.cursor.executemany\n"
         "f_copy, f_proc = ext.cursor.copy_expert, ext.cursor.copy_to\n"
         "f_call, f_mog = ext.cursor.callproc, ext.cursor.mogrify\n"
         "f_cursor, f_values = ext.connection.cursor, ex.execute_values\n"
         "f_vars = vars(ext.cursor)['execute']\n"
         "f_dict = ex.DictCursor.__mro__[-2].__dict__['execute']\n"
         "saved = {'x': [ext.cursor.execute]}\n"
         "def closure(f=ext.cursor.execute):\n    return lambda c, q: f(c, q)\n"
         "f_closed = closure()")


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    with saved_before_load(work_root, "pg2-libpq", SAVED) as kernel:
        yield kernel


def _open(db: Db, autocommit: bool = False) -> str:
    return (f"con = psycopg2.connect({db.dsn!r})\ncon.autocommit = {autocommit}\n"
            "cur = con.cursor()")


DELETE = "'DELETE FROM orders WHERE id <= 30000'"
ATTACKS = [
    pytest.param(f"f_exec(cur, {DELETE})\ncon.commit()", False, id="saved-execute"),
    pytest.param(f"f_exec(cur, {DELETE})", True, id="saved-execute-autocommit"),
    pytest.param(f"f_exec(cur, {DELETE[:-1]}; COMMIT')", False, id="saved-execute-commit-inside"),
    pytest.param("f_many(cur, 'DELETE FROM orders WHERE id <= %s', [(30000,)])\ncon.commit()",
                 False, id="saved-executemany"),
    pytest.param("f_copy(cur, 'COPY (DELETE FROM orders RETURNING id) TO STDOUT', io.StringIO())"
                 "\ncon.commit()", False, id="saved-copy-expert-delete"),
    pytest.param("f_call(cur, 'set_config', ('session_replication_role', 'replica', False))\n"
                 f"f_exec(cur, {DELETE})\ncon.commit()", True, id="saved-callproc"),
    pytest.param("f_exec(cur, f_mog(cur, 'DELETE FROM orders WHERE id <= %s', (30000,)))\n"
                 "con.commit()", False, id="mogrify-then-saved-execute"),
    pytest.param(f"f_vars(cur, {DELETE})\ncon.commit()", False, id="saved-from-vars"),
    pytest.param(f"f_dict(cur, {DELETE})\ncon.commit()", False, id="saved-from-mro-dict"),
    pytest.param(f"saved['x'][0](cur, {DELETE})\ncon.commit()", False, id="saved-in-a-list"),
    pytest.param(f"f_closed(cur, {DELETE})\ncon.commit()", False, id="saved-in-a-closure"),
    pytest.param(f"f_exec(f_cursor(con), {DELETE})\ncon.commit()", False,
                 id="saved-cursor-and-execute"),
    pytest.param(f"f_exec(ex.DictCursor(con), {DELETE})\ncon.commit()", False,
                 id="saved-execute-on-a-dict-cursor"),
    pytest.param("class Fwd:\n    connection = cur.connection\n"
                 "    def execute(s, q, a=None):\n        return f_exec(cur, q)\n"
                 "    def mogrify(s, q, a=None):\n        return cur.mogrify(q, a)\n"
                 "f_values(Fwd(), 'DELETE FROM orders WHERE id IN (%s)', "
                 "[(i,) for i in range(1, 30001)])\ncon.commit()", False,
                 id="saved-execute-values-over-saved-execute"),
    # user code run inside a judged statement (a parameter's adapter) on the same connection
    pytest.param("class E:\n    def __conform__(s, proto):\n"
                 f"        f_exec(f_cursor(con), {DELETE})\n        return ext.AsIs('1')\n"
                 "cur.execute('SELECT %s', (E(),))\ncon.commit()", False,
                 id="saved-execute-inside-a-judged-adapter"),   # psycopg2 hides the refusal
]


@pytest.mark.parametrize(("cell", "autocommit"), ATTACKS)
def test_a_saved_c_method_is_refused_at_libpq(k: Kernel, db: Db, cell: str,
                                              autocommit: bool) -> None:
    r = k.run(_open(db, autocommit))
    assert r.status == "ok", r.text
    r = k.run(cell)
    assert r.status == "error", r.text
    assert "Blocked by jupyter_guard [self-protection]" in r.text or "__conform__" in cell, r.text
    r = k.run("con.rollback()\ncur.execute('SHOW session_replication_role')\n"
              "print('role', cur.fetchone()[0])\ncon.close()")
    assert r.status == "ok" and "role origin" in r.text, r.text
    db.intact()
    assert idle_in_transaction(db) == 0


def test_a_saved_copy_exports_nothing(k: Kernel, db: Db) -> None:
    """``copy_expert`` saved before load, copying the sensitive table to a buffer: refused
    before any row left the server."""
    r = k.run(_open(db) + "\nbuf = io.StringIO()")
    assert r.status == "ok", r.text
    r = k.run("f_copy(cur, 'COPY customers TO STDOUT', buf)")
    assert r.status == "error" and "[self-protection]" in r.text, r.text
    r = k.run("print('copied', len(buf.getvalue()))\ncon.rollback()\ncon.close()")
    assert r.status == "ok" and "copied 0" in r.text, r.text
    assert "@example.com" not in r.everything()


def test_a_saved_method_in_a_thread_changes_nothing(k: Kernel, db: Db) -> None:
    r = k.run(_open(db, True))
    assert r.status == "ok", r.text
    r = k.run(f"t = threading.Thread(target=f_exec, args=(cur, {DELETE}))\nt.start()\nt.join()\n"
              "con.close()")
    db.intact()


def test_everyday_psycopg2_use_runs(k: Kernel, db: Db) -> None:
    """Transactions, session settings, named cursors, two-phase commit, ``reset``, COPY of a
    plain table, ``execute_values``, ``callproc`` and a one-row DELETE: all through the guard,
    with correct results."""
    r = k.run(_open(db) + "\n"
              "cur.execute('DELETE FROM orders WHERE id = %s', (1,))\nprint('one', cur.rowcount)\n"
              "con.commit()\n"
              "con.set_session(isolation_level='SERIALIZABLE', readonly=True)\n"
              "cur.execute('SELECT count(*) FROM orders')\nprint('count', cur.fetchone()[0])\n"
              "con.rollback()\ncon.set_session(readonly=False, isolation_level='READ COMMITTED')\n"
              "con.set_client_encoding('LATIN1')\ncon.set_client_encoding('UTF8')\n"
              "n = con.cursor('named')\nn.execute('SELECT id FROM orders WHERE id <= 10')\n"
              "print('named', len(n.fetchmany(3)) + len(n.fetchall()))\nn.close()\ncon.commit()\n"
              "buf = io.StringIO()\ncur.copy_expert('COPY (SELECT id FROM orders WHERE id <= 5) "
              "TO STDOUT', buf)\nprint('copy', len(buf.getvalue().split()))\n"
              "ex.execute_values(cur, 'DELETE FROM orders WHERE id IN (%s)', [(2,), (3,)])\n"
              "print('values', cur.rowcount)\ncon.commit()\n"
              "cur.callproc('abs', (-7,))\nprint('proc', cur.fetchone()[0])\ncon.rollback()\n"
              "x = con.xid(1, 'g', 'b')\ncon.tpc_begin(x)\n"
              "cur.execute('SELECT 1')\ncon.tpc_rollback()\ncon.reset()\n"
              "with con:\n    with con.cursor() as c2:\n"
              "        c2.execute('SELECT city FROM customers WHERE id = 1')\n"
              "        print('city', c2.fetchone()[0])\n"
              "con.autocommit = True\ncur.execute('DELETE FROM orders WHERE id = 4')\n"
              "print('auto', cur.rowcount)\ncon.close()")
    assert r.status == "ok", r.text
    for line in ("one 1", "count 49999", "named 9", "copy 4", "values 2", "proc 7", "city Lyon",
                 "auto 1"):
        assert line in r.text, r.text
    assert db.count("orders") == 50_000 - 4
    assert idle_in_transaction(db) == 0
