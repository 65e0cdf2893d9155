"""Cost of the inference analysis per statement (``predicate_intents`` + ``order_intents`` on a
parsed tree, the part the computed-guess rule ``sql_guessfn`` adds to), in one run, two ways:

- ``rule``: in this tree's process, the analysis with the rule and with ``computed_guesses``
  switched off, calls interleaved (the same load for both): the added cost itself;
- ``trees``: this tree against ``--before REF`` (default ``main``), worker processes of each
  tree taking turns, each the median CPU time of many batches per query (noisier: two
  processes never see the same load).

    python benchmarks/bench_infer19.py [--repeat 7] [--before main] [--json]
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

QUERIES = {
    "count with a filter": "SELECT count(*) FROM customers WHERE city = 'Lyon' AND amount > 100",
    "join and group": "SELECT c.city, count(*), sum(o.total) FROM customers c JOIN orders o "
                      "ON o.customer_id = c.id WHERE o.total > 10 GROUP BY 1 ORDER BY 2 DESC",
    "CTE report": "WITH t AS (SELECT id, city, amount * 1.2 AS gross FROM customers "
                  "WHERE amount BETWEEN 10 AND 500) SELECT city, avg(gross), max(gross) "
                  "FROM t GROUP BY city HAVING count(*) > 5 ORDER BY city",
    "domain filter": "SELECT count(*) FROM customers WHERE email LIKE '%@example.com'",
    "computed guess": "SELECT sum(sign(ssn::BIGINT - 100000150)) FROM customers",
    "crowd check": "SELECT city, count(*) FROM customers WHERE signup_date > '2020-01-01' "
                   "AND ssn IS NULL GROUP BY city",
}

WORKER = r"""
import json, sys, time, statistics
import sqlglot
from jupyter_guard.analyze.sql_infer import predicate_intents, order_intents
queries = json.loads(sys.argv[1]); n = int(sys.argv[2])
out = {}
for name, q in queries.items():
    tree = sqlglot.parse_one(q, read="duckdb")
    for _ in range(20):
        predicate_intents(tree); order_intents(tree)
    times = []
    for _ in range(n):   # CPU time of batches of 10: the machine's other load counts less
        t = time.process_time()
        for _ in range(10):
            predicate_intents(tree); order_intents(tree)
        times.append((time.process_time() - t) / 10)
    out[name] = statistics.median(times) * 1e6
print(json.dumps(out))
"""


def _worker(path: str, n: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": path}
    r = subprocess.run([sys.executable, "-c", WORKER, json.dumps(QUERIES), str(n)], env=env,
                       capture_output=True, text=True, check=True)
    return dict(json.loads(r.stdout))


def rule(n: int = 600) -> dict[str, Any]:
    """Median µs of the analysis with and without the computed-guess rule, interleaved."""
    import statistics as st
    import time

    import sqlglot

    from jupyter_guard.analyze import sql_infer

    real = sql_infer.computed_guesses
    res: dict[str, Any] = {}
    for name, q in QUERIES.items():
        tree = sqlglot.parse_one(q, read="duckdb")
        on: list[float] = []
        off: list[float] = []
        for i in range(n):
            for use, into in (((real, on), (_none, off)) if i % 2 else ((_none, off), (real, on))):
                sql_infer.computed_guesses = use   # type: ignore[assignment]
                t = time.perf_counter()
                sql_infer.predicate_intents(tree)
                sql_infer.order_intents(tree)
                into.append(time.perf_counter() - t)
        sql_infer.computed_guesses = real
        a, b = st.median(on) * 1e6, st.median(off) * 1e6
        res[name] = {"without_us": round(b, 1), "with_us": round(a, 1),
                     "added_us": round(a - b, 1), "ratio": round(a / b, 2)}
    return res


def _none(*_a: Any) -> list[Any]:
    return []


def run(repeat: int, before: str) -> dict[str, Any]:
    return {"rule": rule(), "trees": trees(repeat, before)}


def trees(repeat: int, before: str) -> dict[str, Any]:
    from bench_stream import checkout

    runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {"before": checkout(before, tmp), "after": str(HERE.parent)}
        for turn in range(repeat):   # turns, in alternating order: a load change hits both
            for side in (("before", "after") if turn % 2 == 0 else ("after", "before")):
                runs[side].append(_worker(paths[side], 60))
    res: dict[str, Any] = {}
    for name in QUERIES:
        b = statistics.median(r[name] for r in runs["before"])
        a = statistics.median(r[name] for r in runs["after"])
        res[name] = {"before_us": round(b, 1), "after_us": round(a, 1),
                     "added_us": round(a - b, 1), "ratio": round(a / b, 2)}
    return res


if __name__ == "__main__":
    from bench_stream import ab_main

    ab_main(__doc__ or "", run)
