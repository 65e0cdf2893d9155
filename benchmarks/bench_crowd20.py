"""Cost of measuring a no-guess check over a crowd (``analyze.sql_crowd`` writes the probe,
``guard.crowd_memory`` reads it as a sketch of the people counted) against the query itself, on
one DuckDB table of ``--rows`` people, in one process: each the best of ``--repeat`` runs, the
query and its sketch probe alternating (the same load for both).

    python benchmarks/bench_crowd20.py [--rows 1000000] [--repeat 3] [--json]
"""
from __future__ import annotations

import argparse
import json
import time
from typing import Any

import duckdb
import sqlglot

from jupyter_guard.analyze.sql_crowd import crowd_checks
from jupyter_guard.guard.crowd_memory import fingerprint_sql

QUERIES = {
    "domain count": "SELECT count(*) FROM customers WHERE email LIKE '%@gmail.com'",
    "per city": "SELECT city, count(*), sum(amount) FROM customers WHERE id > 1000 "
                "AND email LIKE '%@gmail.com' GROUP BY city",
}


def _table(con: duckdb.DuckDBPyConnection, rows: int) -> None:
    con.execute(
        "CREATE TABLE customers AS SELECT range AS id, 'u' || range || CASE WHEN range % 6 = 0 "
        "THEN '@gmail.com' ELSE '@x.org' END AS email, lpad((range % 1000000000)::VARCHAR, 9, "
        "'0') AS ssn, ['Paris','Lyon','Nice'][range % 3 + 1] AS city, (range % 1000) * 1.5 "
        f"AS amount FROM range({int(rows)})")


def _best(con: duckdb.DuckDBPyConnection, sql: str) -> float:
    start = time.perf_counter()
    con.execute(sql).fetchall()
    return (time.perf_counter() - start) * 1000


def run(rows: int, repeat: int) -> dict[str, Any]:
    con = duckdb.connect()
    _table(con, rows)
    out: dict[str, Any] = {}
    for name, q in QUERIES.items():
        detail = crowd_checks(sqlglot.parse_one(q, read="duckdb"))[0][2]
        probe = fingerprint_sql(detail.split("crowd?:", 1)[1])
        query, sketch = [], []
        for _ in range(repeat):
            query.append(_best(con, q))
            sketch.append(_best(con, probe))
        out[name] = {"query_ms": round(min(query), 1), "sketch_ms": round(min(sketch), 1),
                     "ratio": round(min(sketch) / min(query), 2)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    res = run(a.rows, a.repeat)
    if a.json:
        print(json.dumps(res))
        return
    for name, r in res.items():
        print(f"{name:14} query {r['query_ms']:8.1f} ms  sketch probe {r['sketch_ms']:8.1f} ms  "
              f"×{r['ratio']}")


if __name__ == "__main__":
    main()
