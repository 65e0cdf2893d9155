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
from collections.abc import Callable
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


def people(rows: int) -> str:
    """The SELECT of ``rows`` customers (one in six at gmail.com; shared with bench_crowd22)."""
    return ("SELECT range AS id, 'u' || range || CASE WHEN range % 6 = 0 "
            "THEN '@gmail.com' ELSE '@x.org' END AS email, lpad((range % 1000000000)::VARCHAR, 9, "
            "'0') AS ssn, ['Paris','Lyon','Nice'][range % 3 + 1] AS city, (range % 1000) * 1.5 "
            f"AS amount FROM range({int(rows)})")


def _table(con: duckdb.DuckDBPyConnection, rows: int) -> None:
    con.execute("CREATE TABLE customers AS " + people(rows))


def elapsed_ms(con: duckdb.DuckDBPyConnection, sql: str) -> float:
    """Wall-clock ms of running ``sql`` and fetching all its rows."""
    start = time.perf_counter()
    con.execute(sql).fetchall()
    return (time.perf_counter() - start) * 1000


def run(rows: int, repeat: int) -> dict[str, Any]:
    con = duckdb.connect()
    _table(con, rows)
    out: dict[str, Any] = {}
    for name, q in QUERIES.items():
        detail = crowd_checks(sqlglot.parse_one(q, read="duckdb"))[0][2]
        made = fingerprint_sql(detail.split("crowd?:", 1)[1])
        assert isinstance(made, tuple), made
        probe = made[0]
        query, sketch = [], []
        for _ in range(repeat):
            query.append(elapsed_ms(con, q))
            sketch.append(elapsed_ms(con, probe))
        out[name] = {"query_ms": round(min(query), 1), "sketch_ms": round(min(sketch), 1),
                     "ratio": round(min(sketch) / min(query), 2)}
    return out


def cli(doc: str, run: Callable[[int, int], dict[str, Any]], repeat: int, line: str) -> None:
    """The command line of a crowd benchmark (``--rows``, ``--repeat``, ``--json``): prints
    ``run(rows, repeat)`` as JSON or a line a query, ``line`` formatted with its ``name`` and
    its result's fields."""
    ap = argparse.ArgumentParser(description=doc)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=repeat)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    res = run(a.rows, a.repeat)
    if a.json:
        print(json.dumps(res))
        return
    for name, r in res.items():
        print(line.format(name=name, **r))


def main() -> None:
    cli(__doc__, run, 3, "{name:14} query {query_ms:8.1f} ms  sketch probe {sketch_ms:8.1f} ms  "
                         "×{ratio}")


if __name__ == "__main__":
    main()
