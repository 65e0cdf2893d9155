"""A password typed in a connection URL or a libpq DSN in a real ipykernel: the connection works,
and the password is in no message the kernel sent (outputs, errors, replies; the echo of the
cell's own text, ``execute_input``, aside) and in no row of the audit."""
from __future__ import annotations

import json
import socket
from pathlib import Path

import duckdb
import pytest

from jupyter_guard.record import ingest
from tests.kernelutil import Kernel
from tests.pg.conftest import Db

pytestmark = pytest.mark.kernel


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_passwords_are_never_recorded_or_shown(db: Db, work_root: Path) -> None:
    d = work_root / f"pgcred-{db.name}"
    d.mkdir()
    audit = d / "audit.duckdb"
    port = db.server.port
    pw = {  # trust authentication accepts any password: the connections work
        "url": "Kx7urlSecret", "colon": "Kx7col:onSecret", "encoded": "Kx7enc%40Secret",
        "query": "Kx7querySecret", "dsn": "Kx7dsnSecret", "dead": "Kx7deadSecret",
        "engine": "Kx7engineSecret"}
    base = f"postgresql+psycopg://postgres:{{}}@127.0.0.1:{port}/{db.name}"
    cells = [
        (f"%%guarded_sql {base.format(pw['url'])} -o df\nSELECT count(*) AS n FROM orders",
         "ok"),
        ("print(int(df.n[0]))", "ok"),
        (f"%%guarded_sql {base.format(pw['colon'])}\nSELECT city FROM customers WHERE id = 1",
         "ok"),
        (f"%%guarded_sql {base.format(pw['encoded'])}\nDELETE FROM orders WHERE id > 0",
         "error"),
        (f"%%guarded_sql {base.format(pw['url'])}\nDROP TABLE orders", "error"),
        (f"%%guarded_sql postgresql+psycopg://postgres@127.0.0.1:{port}/{db.name}"
         f"?password={pw['query']}\nSELECT 1 AS one", "ok"),
        (f"%%guarded_sql postgresql+psycopg://postgres:{pw['dead']}@127.0.0.1:{_closed_port()}"
         "/nowhere\nSELECT 1", "error"),
        (f"import psycopg\ncon = psycopg.connect('host=127.0.0.1 port={port} user=postgres "
         f"dbname={db.name} password={pw['dsn']}', autocommit=True)\n"
         "print(con.execute('SELECT count(*) FROM customers').fetchone()[0])", "ok"),
        ("con.execute('DELETE FROM orders WHERE id > 0')", "error"),
        (f"import sqlalchemy\nengine = sqlalchemy.create_engine({base.format(pw['engine'])!r})\n"
         "engine", "ok"),
        ("%%guarded_sql engine\nSELECT count(*) AS n FROM customers", "ok"),
        ("%guard status", "ok"),
        ("%guard panel", "ok"),
    ]
    k = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(audit)})
    sent: list[str] = []
    try:
        assert k.run("%load_ext jupyter_guard").status == "ok"
        for n, (code, status) in enumerate(cells):
            r = k.run(code, metadata={"cellId": f"cred-{n}"})
            assert r.status == status, (code, r.everything())
            sent.append(r.everything() + json.dumps(r.reply, default=str))
    finally:
        k.stop()
    assert "50000" in sent[1] and "10000" in sent[7]           # the connections worked
    db.intact()
    ingest(audit)
    con = duckdb.connect(str(audit), read_only=True)
    try:
        rows = []
        for (table,) in con.execute("SELECT table_name FROM information_schema.tables "
                                    "WHERE table_schema = 'main'").fetchall():
            rows.append(str(con.execute(f'SELECT * FROM "{table}"').fetchall()))
        cred = con.execute("SELECT count(*) FROM events WHERE cell_id LIKE 'cred-%'").fetchone()
    finally:
        con.close()
    assert cred and cred[0] >= len(cells) - 2
    recorded = "\n".join(rows)
    leaks = [(name, where, text[max(0, text.find(s) - 150):text.find(s) + 50])
             for name, secret in pw.items() for s in (secret, secret.replace("%40", "@"))
             for where, text in (("kernel messages", "\n".join(sent)), ("audit", recorded))
             if s in text]
    assert not leaks, leaks
