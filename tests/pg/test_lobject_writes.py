"""psycopg2 large objects written through ``lo.write``/``lo.truncate``: a write over thousands of
pages and a truncation that cuts them off are refused (``bulk-change``) with the object's bytes
unchanged, bytes holding values read from sensitive columns are refused as an exit
(``exfiltration``: a large object carries no taint), and the benign twins run: a small overwrite,
a small truncation, a new object of plain bytes."""
from __future__ import annotations

from typing import Any

import pytest

from tests.pg.conftest import Db, run

BIG = 3_000_000   # bytes: ~1465 pages of pg_largeobject, more than max_affected_rows


@pytest.fixture()
def lo(ip: Any, db: Db) -> Any:
    oid = db.query(f"SELECT lo_from_bytea(0, convert_to(repeat('a', {BIG}), 'UTF8'))")[0][0]
    r = run(ip, f"import psycopg2\ncon = psycopg2.connect({db.dsn!r})\noid = {oid}")
    assert r.error is None, r.error
    ip.oid_ = oid
    yield ip
    run(ip, "con.rollback()\ncon.close()")


def content(db: Db, oid: int) -> tuple[int, str]:
    """The object's length and its first bytes, read unguarded."""
    n, head = db.query(f"SELECT length(lo_get({oid})), encode(lo_get({oid}, 0, 4), 'escape')")[0]
    return int(n), str(head)


@pytest.mark.parametrize("code", [
    pytest.param("lo = con.lobject(oid, 'wb')\nlo.write(b'z' * 3_000_000)", id="overwrite"),
    pytest.param("lo = con.lobject(oid, 'wb')\nlo.truncate(0)", id="truncate"),
    pytest.param("lo = con.lobject(oid, 'wb')\nlo.truncate()", id="truncate-default"),
])
def test_bulk_large_object_change_refused(lo: Any, db: Db, code: str) -> None:
    r = run(lo, code)
    assert isinstance(r.error, PermissionError), repr(r.error)
    assert r.error.rule_id == "bulk-change", r.error
    assert run(lo, "con.commit()").error is None
    assert content(db, lo.oid_) == (BIG, "aaaa")


def test_sensitive_bytes_refused(lo: Any, db: Db) -> None:
    r = run(lo, "cur = con.cursor()\ncur.execute('SELECT ssn FROM customers ORDER BY id LIMIT 20')"
                "\nvals = [x[0] for x in cur.fetchall()]\n"
                "lo = con.lobject(0, 'wb')\nlo.write(','.join(v[::-1] for v in vals).encode())")
    assert isinstance(r.error, PermissionError), repr(r.error)
    assert r.error.rule_id == "exfiltration", r.error
    assert run(lo, "con.commit()").error is None
    ssn = db.query("SELECT ssn FROM customers ORDER BY id LIMIT 1")[0][0]
    leaked = db.query("SELECT count(*) FROM pg_largeobject_metadata m WHERE "
                      f"position(convert_to('{ssn[::-1]}', 'UTF8') in lo_get(m.oid)) > 0")
    assert leaked[0][0] == 0


def test_benign_large_object_writes_run(lo: Any, db: Db) -> None:
    r = run(lo, "lo = con.lobject(oid, 'wb')\nlo.write(b'zz')\nlo.seek(0, 0)\n"
                "lo.truncate(1_000_000)\n"
                "new = con.lobject(0, 'wb')\nnew.write(b'plain bytes, no values')\n"
                "n = new.oid\ncon.commit()")
    assert r.error is None, r.error
    assert content(db, lo.oid_) == (1_000_000, "zzaa")
    got = db.query(f"SELECT encode(lo_get({lo.user_ns['n']}), 'escape')")[0][0]
    assert got == "plain bytes, no values"
