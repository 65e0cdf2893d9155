"""A psycopg2 large object's connection (the one its writes are judged on) was a plain attribute
a cell could set (``lo._jg_con = other``, a connection to another database, where the object is
not). It is held in a sealed weak table now, given by the guard's ``con.lobject``; what a cell
sets is not read. (Before, the 3 MB overwrite below was still refused: this guards the change.)"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.pg.conftest import Db, run
from tests.pg.test_lobject_writes import BIG, content, lo  # noqa: F401 - the fixture

pytestmark = pytest.mark.kernel


@pytest.fixture()
def other(db: Db) -> Iterator[str]:
    name = db.server.fresh()
    yield db.server.dsn(name)
    db.server.drop(name)


@pytest.mark.parametrize("how", [
    pytest.param("lo._jg_con = c2", id="attribute"),
    pytest.param("lo.__dict__['_jg_con'] = c2", id="dict"),
    pytest.param("object.__setattr__(lo, '_jg_con', c2)", id="object-setattr"),
])
def test_a_set_large_object_connection_changes_nothing(lo: Any, db: Db, other: str,  # noqa: F811
                                                       how: str) -> None:
    r = run(lo, f"c2 = psycopg2.connect({other!r})\nlo = con.lobject(oid, 'wb')\n"
                f"try:\n    {how}\nexcept Exception as e:\n    print('tamper failed:', e)\n"
                "lo.write(b'z' * 3_000_000)")
    run(lo, "c2.close()")
    assert isinstance(r.error, PermissionError), repr(r.error)
    assert r.error.rule_id == "bulk-change", r.error
    assert run(lo, "con.commit()").error is None
    assert content(db, lo.oid_) == (BIG, "aaaa")


def test_a_large_object_is_still_written(lo: Any, db: Db) -> None:  # noqa: F811
    r = run(lo, "lo = con.lobject(oid, 'wb')\nlo.write(b'zz')\nlo.seek(0, 0)\n"
                "print(lo.read(3))\nlo.close()\ncon.commit()")
    assert r.error is None, r.error
    assert content(db, lo.oid_) == (BIG, "zzaa")
