"""SQL analysis cost per statement on ``benchmarks/corpus/*.sql`` (TPC-H/TPC-DS style queries).

    .venv/bin/python benchmarks/bench_sql.py [--pure] [--repeat 15] [--json]

``--pure`` hides sqlglotc: the sqlglotc distribution overlays compiled ``.so`` files next to
sqlglot's ``.py`` modules (``sqlglot.tokens.SQLGLOTC_INSTALLED`` checks whether
``sqlglot.tokenizer_core`` came from a ``.py``), and Python's path finder prefers extension modules,
so a meta-path finder that loads ``sqlglot.*`` from source gives the pure-Python sqlglot.
Figures per statement: sqlglot.parse alone, the guard's full analysis (DuckDB's splitter + sqlglot
+ intents) with every cache cleared (cold) and with the caches warm (hot).
"""
from __future__ import annotations

import argparse
import importlib.abc
import importlib.util
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).with_name("corpus")


class _SourceOnly(importlib.abc.MetaPathFinder):
    """Load ``sqlglot`` and its submodules from ``.py`` files, never the compiled overlay."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "sqlglot" and not name.startswith("sqlglot."):
            return None
        leaf = name.rpartition(".")[2]
        for folder in (path or sys.path):
            base = Path(folder or ".") / leaf
            if (base / "__init__.py").is_file():
                return importlib.util.spec_from_file_location(
                    name, base / "__init__.py", submodule_search_locations=[str(base)])
            if base.with_suffix(".py").is_file():
                return importlib.util.spec_from_file_location(name, base.with_suffix(".py"))
        return None


def corpus() -> dict[str, str]:
    return {p.stem: p.read_text() for p in sorted(CORPUS.glob("*.sql"))}


def median_us(fn: Any, repeat: int, setup: Any = None) -> float:
    times = []
    for _ in range(repeat):
        if setup:
            setup()
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e6)
    return statistics.median(times)


def run(repeat: int) -> dict[str, Any]:
    import sqlglot
    from sqlglot.tokens import SQLGLOTC_INSTALLED

    from jupyter_guard.analyze import sql as asql
    from jupyter_guard.analyze import sql_infer
    from jupyter_guard.connections import duckdb_classify

    def clear() -> None:
        sql_infer._of_text.cache_clear()
        for fn in (getattr(asql, n, None) for n in dir(asql)):
            if hasattr(fn, "cache_clear"):
                fn.cache_clear()

    rows = {}
    for name, text in corpus().items():
        def analyse() -> Any:
            return asql.analyze_sql(text, "duckdb", classify=duckdb_classify)
        analyse()  # warm imports and sqlglot's dialect tables
        rows[name] = {
            "parse_us": median_us(lambda: sqlglot.parse(text, read="duckdb"), repeat),
            "cold_us": median_us(analyse, repeat, setup=clear),
            "hot_us": median_us(analyse, repeat),
        }
    growth = {}
    for n in (1000, 4000, 16000):   # the guard's analysis grows like the parse (linear), not faster
        text = "SELECT count(*) FROM customers WHERE " + " OR ".join(f"id = {i}" for i in range(n))

        def whole() -> Any:
            a = asql.analyze_sql(text, "duckdb", classify=duckdb_classify)
            return sql_infer.with_predicates(a, text)
        growth[n] = {"parse_ms": median_us(lambda: sqlglot.parse(text, read="duckdb"), 3) / 1e3,
                     "analysis_ms": median_us(whole, 3, setup=clear) / 1e3}
    summary = {k: statistics.median(r[k] for r in rows.values()) for k in ("parse_us", "cold_us", "hot_us")}
    summary.update({f"total_{k}": sum(r[k] for r in rows.values()) for k in ("parse_us", "cold_us", "hot_us")})
    return {"sqlglotc": SQLGLOTC_INSTALLED, "queries": rows, "median": summary, "growth": growth}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pure", action="store_true", help="hide sqlglotc (pure-Python sqlglot)")
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.pure:
        assert "sqlglot" not in sys.modules
        sys.meta_path.insert(0, _SourceOnly())
    os.environ.setdefault("JUPYTER_GUARD_QUIET", "1")
    res = run(a.repeat)
    if a.pure and res["sqlglotc"]:
        raise SystemExit("sqlglotc could not be hidden")
    if a.json:
        print(json.dumps(res, indent=2))
        return
    print(f"sqlglotc: {res['sqlglotc']}\n| query | parse µs | analysis cold µs | analysis hot µs |\n|---|---:|---:|---:|")
    for q, r in res["queries"].items():
        print(f"| {q} | {r['parse_us']:.0f} | {r['cold_us']:.0f} | {r['hot_us']:.1f} |")
    m = res["median"]
    print(f"| median | {m['parse_us']:.0f} | {m['cold_us']:.0f} | {m['hot_us']:.1f} |")
    for n, g in res["growth"].items():
        print(f"| {n:,} OR terms | {g['parse_ms']:.0f} ms | {g['analysis_ms']:.0f} ms | |")


if __name__ == "__main__":
    main()
