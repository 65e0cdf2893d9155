"""A PostgreSQL view another session redefines (``CREATE OR REPLACE VIEW … AS SELECT id, ssn AS
x …``, the tests' own unguarded connection) after an asyncpg connection read it as plain: the
next ``fetch`` of the same text knows ``x`` now reveals ``ssn`` (the guard reads the views'
fingerprint on a psycopg connection of its own, opened with the parameters asyncpg's
``connect`` resolved), so no SSN reaches any message the kernel sends, and the values are
refused at a file exit. Twins: the plain read before, and a view left as it was, show their
values. Real kernel, real server."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pg.conftest import pg_kernel
from tests.pg.pgserver import PgServer

pytestmark = pytest.mark.kernel

READ = "r = await ac.fetch('SELECT id, x FROM {v} ORDER BY id LIMIT 3')\nprint([tuple(x) for x in r])"


@pytest.fixture(scope="module")
def k(pg: PgServer, work_root: Path) -> Iterator[Any]:
    with pg_kernel(pg, work_root / "pg15b-asyncpg-views", "import asyncpg\nac = await "
                   "asyncpg.connect('postgresql://postgres@127.0.0.1:{port}/{db}')") as kernel:
        yield kernel


def _view(k: Any) -> str:
    name = "v" + uuid.uuid4().hex[:8]
    k.pg.query(f"CREATE VIEW {name} AS SELECT id, city AS x FROM customers", db=k.db)
    return name


def test_a_view_redefined_elsewhere_is_read_as_sensitive(k: Any, tmp_path: Path) -> None:
    v = _view(k)
    r = k.run(READ.format(v=v))
    assert r.status == "ok" and "Lyon" in r.stream, r.text
    k.pg.query(f"CREATE OR REPLACE VIEW {v} AS SELECT id, ssn AS x FROM customers", db=k.db)
    r = k.run(READ.format(v=v))
    assert r.status == "ok", r.text
    assert not any(s in r.everything() for s in k.ssns), r.everything()
    out = tmp_path / "x.txt"
    r = k.run(f"open({str(out)!r}, 'w').write(r[0][1])")
    assert r.status == "error", r.text
    assert not out.exists() or k.ssns[0] not in out.read_text()


def test_a_view_left_as_it_was_shows_its_values(k: Any) -> None:
    keep, other = _view(k), _view(k)
    r = k.run(READ.format(v=keep))
    assert r.status == "ok" and "Lyon" in r.stream, r.text
    k.pg.query(f"CREATE OR REPLACE VIEW {other} AS SELECT id, ssn AS x FROM customers",
               db=k.db)
    r = k.run(READ.format(v=keep))
    assert r.status == "ok" and "Lyon" in r.stream and "Nice" in r.stream, r.text
