"""Kept decisions on read-only statements (``guard.decisions``) in a real kernel on a real
PostgreSQL: a read allowed many times is refused as soon as the policy forbids it (the file
changed, or ``%guard reload``), on a psycopg cursor with bound values and through
``%%guarded_sql``; every kept allow still records its own audit row."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from jupyter_guard.record import ingest
from tests.kernelutil import Kernel
from tests.pg.conftest import Db

pytestmark = pytest.mark.kernel
ALLOW = "name: reads\nrules: []\n"
FORBID = """name: reads
rules:
  - id: no-customer-reads
    match: {sql: [select], tables: [customers]}
    action: block
    message: customers may not be read now
"""
READ = "cur.execute('SELECT id, name FROM customers WHERE id = %s', ({n},))\nprint(cur.fetchall())"
MAGIC = "%%guarded_sql {url}\nSELECT id, name FROM customers WHERE id = {n}"


def test_a_kept_allow_does_not_survive_a_policy_that_forbids_it(db: Db, work_root: Path) -> None:
    d = work_root / f"pgdec-{db.name}"
    d.mkdir()
    audit, policy = d / "audit.duckdb", d / "policy.yaml"
    policy.write_text(ALLOW)
    k = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(audit), "JUPYTER_GUARD_POLICY": str(policy)})
    try:
        assert k.run("%load_ext jupyter_guard").status == "ok"
        r = k.run(f"import psycopg\ncon = psycopg.connect({db.dsn!r}, autocommit=True)\n"
                  "cur = con.cursor()")
        assert r.status == "ok", r.text
        for n in (1, 2, 3, 4):   # the first decides, the others reuse it: right rows each time
            r = k.run(READ.format(n=n))
            assert r.status == "ok" and f"({n}, 'name {n}')" in r.text, r.text
            r = k.run(MAGIC.format(url=db.url, n=n), metadata={"cellId": f"kept-{n}"})
            assert r.status == "ok" and f"name {n}" in r.text, r.text
        policy.write_text(FORBID)          # noticed before the next cell, no reload typed
        r = k.run(READ.format(n=5))
        assert r.status == "error" and "no-customer-reads" in r.text, r.text
        assert "name 5" not in r.text
        r = k.run(MAGIC.format(url=db.url, n=5), metadata={"cellId": "kept-refused"})
        assert r.status == "error" and "no-customer-reads" in r.text, r.text
        policy.write_text(ALLOW)
        assert k.run("%guard reload").status == "ok"
        r = k.run(READ.format(n=6))
        assert r.status == "ok" and "(6, 'name 6')" in r.text, r.text
        # another table's read never reuses the customers decision
        r = k.run("cur.execute('SELECT count(*) FROM orders WHERE id > %s', (0,))\n"
                  "print(cur.fetchall())")
        assert r.status == "ok" and "[(50000,)]" in r.text, r.text
    finally:
        k.stop()
    ingest(audit)
    con = duckdb.connect(str(audit), read_only=True)
    try:
        rows = con.execute("SELECT cell_id, status, decision_id FROM events WHERE kind = 'sql' "
                           "AND cell_id LIKE 'kept-%' ORDER BY cell_id").fetchall()
    finally:
        con.close()
    kept = [r for r in rows if r[0].startswith("kept-") and r[0] != "kept-refused"]
    assert [(c, s) for c, s, _ in kept] == [(f"kept-{n}", "ok") for n in (1, 2, 3, 4)], rows
    assert len({i for _, _, i in kept}) == 4, rows      # one decision of its own per row
    assert ("kept-refused", "blocked") in [(c, s) for c, s, _ in rows], rows
