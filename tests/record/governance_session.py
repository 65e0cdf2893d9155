"""An audit file from a scripted session in real kernels: the governance views, the README's
queries, the OpenLineage export and replay are all tested on it (imported as a plain module)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from jupyter_guard.record import ingest

# (code, expected reply status)
CELLS: tuple[tuple[str, str], ...] = (
    ("import duckdb, pandas as pd\ncon = duckdb.connect('wh.duckdb')", "ok"),
    ("%%guarded_sql con -o top\nSELECT id, ssn, email FROM customers LIMIT 5", "ok"),
    ("df = con.execute('SELECT id, ssn, email, city FROM customers').df()", "ok"),
    ("r = df.rename(columns={'ssn': 'tax_id', 'email': 'contact'})", "ok"),
    ("summary = r.groupby('city').size()", "ok"),
    ("r.to_csv('out.csv')", "error"),
    ("r.to_sql('leak', con)", "error"),
    ("p = df.pivot_table(index='city', columns='id', values='ssn', aggfunc='first')\n"
     "p.to_csv('p.csv')", "error"),
    ("%%guarded_sql con\nSELECT o.total, c.city FROM orders o JOIN customers c "
     "ON o.customer_id = c.id", "ok"),
    ("%%guarded_sql con\nCREATE TABLE city_totals AS SELECT city, sum(amount) AS s "
     "FROM customers GROUP BY city", "ok"),
    ("%%guarded_sql con\nDELETE FROM orders WHERE order_id < 1500", "error"),
    ("%%guarded_sql con\nDELETE FROM orders WHERE order_id < 10", "ok"),
    ("%%guarded_sql con\nDROP TABLE customers", "error"),
    ("import shutil\nshutil.rmtree('data')", "error"),
    ("%%guarded_sql con\nCOPY (SELECT city FROM customers) TO 'cities.csv'", "ok"),
    ("1 / 0", "error"),
)
AGENT_CELLS: tuple[tuple[str, str], ...] = (
    ("import duckdb\ncon = duckdb.connect('wh.duckdb')", "ok"),
    ("%%guarded_sql con\nSELECT count(*) FROM orders", "ok"),
    ("%%guarded_sql con\nINSERT INTO orders VALUES (9999, 1, 2.5)", "error"),
    ("%%guarded_sql con\nSELEC count(*) FROM orders", "error"),     # a typo: allow, status error
)


def build(folder: Path, rows: int = 1000) -> Path:
    """Run the scripted sessions (ada, a person; bot, an agent) and return the audit file."""
    from tests.conftest import make_warehouse
    from tests.kernelutil import Kernel

    make_warehouse(folder / "wh.duckdb", rows)
    audit = folder / "audit.duckdb"
    for user, actor, cells in (("ada", "human", CELLS), ("bot", "agent:copilot", AGENT_CELLS)):
        env = {"JUPYTER_GUARD_AUDIT": str(audit), "JUPYTER_GUARD_USER": user,
               "JUPYTER_GUARD_ACTOR": actor}
        env.pop("JUPYTER_GUARD_POLICY", None)
        os.environ.pop("JUPYTER_GUARD_POLICY", None)
        k = Kernel(folder, env)
        try:
            assert k.run("%load_ext jupyter_guard").status == "ok"
            for code, status in cells:
                got = k.run(code)
                assert got.status == status, (code, got.status, got.text[-400:])
        finally:
            k.stop()
    ingest(audit)
    return audit


def rows(audit: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    from jupyter_guard.record import connect_readonly

    con = connect_readonly(audit)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
