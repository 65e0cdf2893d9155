"""Cost of the normalisation before the inference rules (``analyze.sql_normal.normal``: alias
column lists, ``#n``, ``PIVOT … ON <expression>``) on ordinary queries, in one process: the
inference analysis of a parsed tree as ``_of_text`` runs it (``normal`` then ``predicate_intents``
+ ``order_intents``) against the same without ``normal``, calls interleaved (the same load for
both), each the median CPU time of batches of 10; and ``normal`` alone.

    python benchmarks/bench_alias20.py [--n 400] [--json]
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any

from bench_infer19 import QUERIES as _ORDINARY  # the same ordinary queries

QUERIES = {
    **{k: _ORDINARY[k] for k in ("count with a filter", "join and group", "CTE report",
                                 "domain filter")},
    "alias list (rewritten)": "SELECT a, d FROM customers t(a, b, c, d) WHERE d = 'Paris'",
    "positional (rewritten)": "SELECT count(*) FROM customers WHERE #1 = 12",
}


def run(n: int = 400) -> dict[str, Any]:
    import sqlglot

    from jupyter_guard.analyze.sql_infer import order_intents, predicate_intents
    from jupyter_guard.analyze.sql_normal import normal

    def plain(tree: Any) -> None:
        predicate_intents(tree)
        order_intents(tree)

    def normalised(tree: Any) -> None:
        t = normal(tree)
        predicate_intents(t)
        order_intents(t)

    def batch(f: Any, tree: Any) -> float:
        t = time.process_time()
        for _ in range(10):
            f(tree)
        return (time.process_time() - t) / 10 * 1e6

    out: dict[str, Any] = {}
    for name, q in QUERIES.items():
        tree = sqlglot.parse_one(q, read="duckdb")
        for _ in range(20):
            plain(tree)
            normalised(tree)
        before: list[float] = []
        after: list[float] = []
        alone: list[float] = []
        for _ in range(n):
            before.append(batch(plain, tree))
            after.append(batch(normalised, tree))
            alone.append(batch(normal, tree))
        b, a = statistics.median(before), statistics.median(after)
        out[name] = {"without_us": round(b, 1), "with_us": round(a, 1),
                     "added_pct": round((a - b) / b * 100, 1),
                     "normal_alone_us": round(statistics.median(alone), 2)}
    return out


def main() -> None:
    n = int(sys.argv[sys.argv.index("--n") + 1]) if "--n" in sys.argv else 400
    res = run(n)
    if "--json" in sys.argv:
        print(json.dumps(res, indent=1))
        return
    print(f"{'query':26} {'without µs':>11} {'with µs':>9} {'added':>7} {'normal µs':>10}")
    for name, r in res.items():
        print(f"{name:26} {r['without_us']:11.1f} {r['with_us']:9.1f} "
              f"{r['added_pct']:6.1f}% {r['normal_alone_us']:10.2f}")


if __name__ == "__main__":
    main()
