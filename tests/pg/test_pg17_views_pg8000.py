"""pg8000 (DB-API, legacy and native), and psycopg beside it: a PostgreSQL view redefined by another session (``CREATE OR
REPLACE VIEW rv AS SELECT id, ssn AS x …``, the tests' own process) after the kernel read it as
plain is seen before the next read's rows are handed out, as for psycopg
(``test_pg15_view_redefined``): the guard reads the views' fingerprint on a connection of its
own, opened with the pg8000 connection's parameters, never inside the user's transaction. No
SSN reaches any message the kernel sends; a file exit refuses the values; the same comparison
text that ran before is refused by ``inference``. Twins: the plain read before, and a view left
as it was. Real kernel, real server."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pg.conftest import pg_kernel
from tests.pg.pgserver import PgServer
from tests.pg.test_pg15_view_redefined import (
    GUESS,
    READ,
    VIEWS,
    _plain_first,
    _redefine,
    test_a_view_left_as_it_was_keeps_running,  # noqa: F401 - run here on pg8000's connections
    test_a_view_redefined_elsewhere_is_read_as_sensitive,  # noqa: F401 - the same
)

pytestmark = pytest.mark.kernel

KW = "kw = dict(user='postgres', host='127.0.0.1', port={port}, database={db!r})\n"
CONNECT = {
    "dbapi": "import pg8000.dbapi\n" + KW + "pg = pg8000.dbapi.connect(**kw)\npg.autocommit = True",
    "legacy": "import pg8000\n" + KW + "pg = pg8000.connect(**kw)\npg.autocommit = True",
    "psycopg": "import psycopg\n" + KW + "pg = psycopg.connect({dsn!r}, autocommit=True)",
}
NATIVE = "import pg8000.native\n" + KW + "pn = pg8000.native.Connection(**kw)"


@pytest.fixture(params=["dbapi", "legacy"])
def k(pg: PgServer, work_root: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    d = work_root / f"pg17-views-{request.param}-{request.node.name[-30:].strip('[]')}"
    with pg_kernel(pg, d, CONNECT[request.param] + "\n" + NATIVE, VIEWS) as kernel:
        yield kernel


def test_native_run_after_a_redefinition(k: Any) -> None:
    r = k.run("print(pn.run('SELECT id, x FROM rv ORDER BY id LIMIT 3'))")
    assert r.status == "ok" and "Lyon" in r.stream, r.text
    _redefine(k)
    r = k.run("print(pn.run('SELECT id, x FROM rv ORDER BY id LIMIT 3'))")
    assert r.status == "ok", r.text
    assert not any(s in r.everything() for s in k.ssns), r.everything()


def test_inside_a_users_transaction(k: Any) -> None:
    """The user's pg8000 connection inside a transaction it opened: the redefinition is seen,
    and the guard's fingerprint is not read inside that transaction (it stays open)."""
    _plain_first(k)
    _redefine(k)
    r = k.run("pg.autocommit = False\nc = pg.cursor()\nc.execute('SELECT 1')")
    assert r.status == "ok", r.text
    r = k.run(READ.format(v="rv") + "\nprint(rows)")
    assert r.status == "ok", r.text
    assert not any(s in r.everything() for s in k.ssns), r.everything()
    r = k.run(GUESS.format(v="rv"))
    assert r.status == "error" and "inference" in r.text, r.text
    r = k.run("print('STATE', pg.info.transaction_status.name if hasattr(pg, 'info') else "
              "pg._transaction_status)\npg.rollback()")
    assert r.status == "ok" and ("STATE b'T'" in r.stream or "STATE INTRANS" in r.stream), r.text


def test_the_guard_reads_the_fingerprint_on_its_own_connection(k: Any) -> None:
    """pg8000's connection gives the guard its parameters (user, host, port, database), so the
    views' fingerprint is read on the guard's own connection (``application_name``
    ``jupyter_guard``, to the same database), as for psycopg, not re-read on every statement."""
    r = k.run(READ.format(v="keep") + "\nprint(rows)")
    assert r.status == "ok" and "Lyon" in r.stream, r.text
    own = k.pg.query("SELECT datname FROM pg_stat_activity WHERE application_name = "
                     "'jupyter_guard'", db=k.db)
    assert (k.db,) in [tuple(x) for x in own], own


@pytest.mark.parametrize("k", sorted(CONNECT), indirect=True)
def test_redefined_inside_a_repeatable_read_transaction(k: Any) -> None:
    """The user's snapshot taken (``REPEATABLE READ``) before another session redefines the
    view: the catalog the user's transaction sees is the old one, but the view runs as
    redefined; its values must still not come out."""
    _plain_first(k)
    r = k.run("c = pg.cursor()\nc.execute('BEGIN ISOLATION LEVEL REPEATABLE READ')\n"
              "c.execute('SELECT 1')")
    assert r.status == "ok", r.text
    _redefine(k)
    r = k.run(READ.format(v="rv") + "\nprint(rows)")
    assert not any(s in r.everything() for s in k.ssns), r.everything()
    k.run("c.execute('ROLLBACK')")
