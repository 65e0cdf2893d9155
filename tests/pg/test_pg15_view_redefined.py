"""A PostgreSQL view redefined by another session (not through the guard) after the kernel read
it as plain: ``CREATE OR REPLACE VIEW rv AS SELECT id, ssn AS x …`` run by the tests' own
process. The kernel's next read of ``rv`` knows ``x`` now reveals ``ssn``: its values are
masked when printed and refused at a file exit, and a comparison on ``x`` (the same text that
ran before) is refused by ``inference``. Twins: before the redefinition both run with plain
values, and a view left as it was keeps running. Psycopg, in a real kernel, on a real server;
the same through a transaction the user opened (the guard's re-read never runs inside it)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pg.conftest import PSYCOPG, pg_kernel
from tests.pg.pgserver import PgServer

pytestmark = pytest.mark.kernel

READ = "c = pg.cursor()\nc.execute('SELECT id, x FROM {v} ORDER BY id LIMIT 3')\nrows = c.fetchall()"
GUESS = "c = pg.cursor()\nc.execute(\"SELECT count(*) FROM {v} WHERE x LIKE '1%'\")\nprint('ANSWER', [tuple(r) for r in c.fetchall()])"


VIEWS = ("CREATE VIEW rv AS SELECT id, city AS x FROM customers; "
         "CREATE VIEW keep AS SELECT id, city AS x FROM customers")


@pytest.fixture()
def k(pg: PgServer, work_root: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    d = work_root / f"pg15-redef-{request.node.name[-40:].replace('[', '-').replace(']', '')}"
    with pg_kernel(pg, d, PSYCOPG,
                   VIEWS) as kernel:
        yield kernel


def _plain_first(k: Any) -> None:
    r = k.run(READ.format(v="rv") + "\nprint(rows)")
    assert r.status == "ok" and "Lyon" in r.stream, r.text
    r = k.run(GUESS.format(v="rv"))
    assert r.status == "ok" and "ANSWER [(0,)]" in r.stream, r.text


def _redefine(k: Any) -> None:
    k.pg.query("CREATE OR REPLACE VIEW rv AS SELECT id, ssn AS x FROM customers", db=k.db)


def test_a_view_redefined_elsewhere_is_read_as_sensitive(k: Any, tmp_path: Path) -> None:
    _plain_first(k)
    _redefine(k)
    r = k.run(READ.format(v="rv") + "\nprint(rows)")
    assert r.status == "ok", r.text
    assert not any(s in r.everything() for s in k.ssns), r.everything()
    out = tmp_path / "x.txt"
    r = k.run(f"open({str(out)!r}, 'w').write(rows[0][1])")
    assert r.status == "error", r.text
    assert not out.exists() or k.ssns[0] not in out.read_text()
    r = k.run(GUESS.format(v="rv"))
    assert r.status == "error" and "inference" in r.text, r.text
    assert "ANSWER" not in r.stream


def test_inside_a_users_transaction(k: Any) -> None:
    """The user's connection inside a transaction it opened: the guard reads the catalog on a
    connection of its own, never inside the user's transaction (its state stays as it was)."""
    _plain_first(k)
    _redefine(k)   # (before the transaction: a read inside it would lock the view)
    r = k.run("pg.autocommit = False\nc = pg.cursor()\nc.execute('SELECT 1')")
    assert r.status == "ok", r.text
    r = k.run(READ.format(v="rv") + "\nprint(rows)")
    assert r.status == "ok", r.text
    assert not any(s in r.everything() for s in k.ssns), r.everything()
    r = k.run(GUESS.format(v="rv"))
    assert r.status == "error" and "inference" in r.text, r.text
    r = k.run("print('STATE', pg.info.transaction_status.name)\npg.rollback()")
    assert r.status == "ok" and "STATE INTRANS" in r.stream, r.text


def test_a_view_left_as_it_was_keeps_running(k: Any) -> None:
    r = k.run(READ.format(v="keep") + "\nprint(rows)")
    assert r.status == "ok" and "Lyon" in r.stream, r.text
    _redefine(k)   # another view changes: this one still reads plain values
    r = k.run(GUESS.format(v="keep"))
    assert r.status == "ok" and "ANSWER [(0,)]" in r.stream, r.text
    r = k.run(READ.format(v="keep") + "\nprint(rows)")
    assert r.status == "ok" and "Lyon" in r.stream, r.text
