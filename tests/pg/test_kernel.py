"""PostgreSQL results in a real ipykernel: masked on display, recorded in the audit with the
connection's kind and database (never its password), refusals recorded as blocked."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from jupyter_guard.record import ingest
from tests.kernelutil import Kernel
from tests.pg.conftest import Db

pytestmark = pytest.mark.kernel
RAW = ["user1@example.com", "user2@example.com", "100000001", "100000002"]


def test_masking_lineage_and_audit_on_postgres(db: Db, work_root: Path) -> None:
    d = work_root / f"pgk-{db.name}"
    d.mkdir()
    audit = d / "audit.duckdb"
    url = db.url.replace("postgres@", "postgres:hunter2pw@")   # trust auth ignores the password
    k = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(audit)})
    try:
        assert k.run("%load_ext jupyter_guard").status == "ok"
        r = k.run(f"%%guarded_sql {url}\nSELECT id, email, ssn, city FROM customers "
                  "WHERE id <= 2 ORDER BY id", metadata={"cellId": "pg-select"})
        assert r.status == "ok", r.text
        assert "Paris" in r.text or "Lyon" in r.text
        assert not [v for v in RAW if v in r.text], r.text
        r = k.run(f"import psycopg, pandas as pd\ncon = psycopg.connect({db.dsn!r})\n"
                  "cur = con.execute('SELECT id, email, ssn FROM customers WHERE id <= 2')\n"
                  "pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])")
        assert r.status == "ok", r.text
        assert not [v for v in RAW if v in r.text], r.text
        r = k.run("con.execute('DELETE FROM orders WHERE id > 0')",
                  metadata={"cellId": "pg-delete"})
        assert r.status == "error" and "bulk-change" in r.text
        r = k.run(f"%%guarded_sql {url}\nUPDATE customers SET city = 'Oslo' WHERE id = 1",
                  metadata={"cellId": "pg-update"})
        assert r.status == "ok", r.text
    finally:
        k.stop()
    db.intact()
    ingest(audit)
    con = duckdb.connect(str(audit), read_only=True)
    try:
        events = con.execute("SELECT cell_id, status, rule_id FROM events "
                             "WHERE cell_id LIKE 'pg-%' ORDER BY cell_id").fetchall()
        lineage = con.execute("SELECT e.cell_id, l.direction, l.object_kind, l.name, "
                              "l.is_sensitive FROM lineage l JOIN events e USING (event_id) "
                              "WHERE e.cell_id LIKE 'pg-%'").fetchall()
        runtime = con.execute("SELECT rule_id, status FROM events WHERE kind = 'runtime' AND "
                              "code = 'DELETE FROM orders WHERE id > 0'").fetchall()
        everything = str(con.execute("SELECT * FROM events").fetchall()) + str(lineage)
    finally:
        con.close()
    assert any(c == "pg-select" and st == "ok" for c, st, _ in events), events
    assert ("pg-update", "ok", "") in events
    assert any(c == "pg-delete" and st == "blocked" for c, st, _ in events), events
    assert ("bulk-change", "blocked") in runtime        # the statement the cell ran
    where = f"postgresql://postgres@127.0.0.1:{db.server.port}/{db.name}"
    assert ("pg-select", "read", "url", where, False) in lineage
    assert ("pg-select", "read", "column", "customers.email", True) in lineage
    assert ("pg-update", "write", "table", "customers", False) in lineage
    assert "hunter2pw" not in everything   # neither the connection nor the cell's code
