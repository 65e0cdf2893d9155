"""Cost of the inference analysis per statement (``predicate_intents`` + ``order_intents`` on a
parsed tree, the part the computed-guess rule ``sql_guessfn`` adds to), this tree against
``--before REF`` (default ``main``), in one run: worker processes of each tree take turns, and
each reports the median of many timings per query.

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
    for _ in range(n):
        t = time.perf_counter(); predicate_intents(tree); order_intents(tree)
        times.append(time.perf_counter() - t)
    out[name] = statistics.median(times) * 1e6
print(json.dumps(out))
"""


def _worker(path: str, n: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": path}
    r = subprocess.run([sys.executable, "-c", WORKER, json.dumps(QUERIES), str(n)], env=env,
                       capture_output=True, text=True, check=True)
    return dict(json.loads(r.stdout))


def run(repeat: int, before: str) -> dict[str, Any]:
    from bench_stream import checkout

    runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"before": checkout(before, tmp), "after": str(HERE.parent)}
        for _ in range(repeat):   # turns: a load change hits both trees alike
            for side, path in trees.items():
                runs[side].append(_worker(path, 300))
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
