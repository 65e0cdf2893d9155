"""Cost of a sealed wrapper (``sealed_events.sealed``: the C ``functools`` cache wrapper with
nothing cached) over the plain closure it replaces.

In this process, no guard: one call of a small closure as a method, plain and sealed (best of
5 rounds of 1,000,000 calls). In a guarded kernel (``--kernel``): ``con.execute('SELECT 1')`` on
DuckDB and ``df.to_csv(path)`` of a 3-row frame, ``sq.execute('SELECT 1')`` on sqlite3 (the
DB-API proxy: its driver object and judge read by the guard's code only) and a read of a DuckDB
connection method (``m.fetchone``: handed out behind a sealed call), the best of 5 ``timeit``
rounds; run it with ``PYTHONPATH`` on the code before and after to compare.

    .venv/bin/python benchmarks/bench_sealed.py [--kernel]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import timeit
from pathlib import Path
from typing import Any


def in_process(n: int = 1_000_000) -> dict[str, float]:
    from jupyter_guard.hooks.sealed_events import sealed

    def make() -> Any:
        box = [0]

        def method(self: Any, x: int) -> int:
            return x + box[0]
        return method

    class Plain:
        m = make()

    class Sealed:
        m = sealed(make())

    p, s = Plain(), Sealed()
    plain = min(timeit.repeat(lambda: p.m(1), number=n, repeat=5)) / n
    held = min(timeit.repeat(lambda: s.m(1), number=n, repeat=5)) / n
    return {"plain_ns": plain * 1e9, "sealed_ns": held * 1e9, "extra_ns": (held - plain) * 1e9}


KERNEL = ("import timeit, duckdb, sqlite3, pandas as pd\nm = duckdb.connect(':memory:')\n"
          "sq = sqlite3.connect(':memory:')\n"
          "df = pd.DataFrame({'a': [1, 2, 3], 'city': ['Lyon', 'Nice', 'Paris']})\n"
          "ex = min(timeit.repeat(lambda: m.execute('SELECT 1'), number=2000, repeat=5)) / 2000\n"
          "csv = min(timeit.repeat(lambda: df.to_csv('b.csv'), number=300, repeat=5)) / 300\n"
          "sqx = min(timeit.repeat(lambda: sq.execute('SELECT 1'), number=2000, repeat=5)) / 2000\n"
          "get = min(timeit.repeat(lambda: m.fetchone, number=20000, repeat=5)) / 20000\n"
          "print('RESULT', round(ex * 1e6, 1), round(csv * 1e6, 1), round(sqx * 1e6, 1), "
          "round(get * 1e6, 2))")


def in_kernel() -> str:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.kernelutil import guarded_kernel

    with tempfile.TemporaryDirectory() as d, guarded_kernel(Path(d)) as k:
        out = k.ok(KERNEL).stream
    line = next(x for x in out.splitlines() if x.startswith("RESULT"))
    _, ex, csv, sqx, get = line.split()
    return (f"duckdb execute('SELECT 1'): {ex} us/call; to_csv of a 3-row frame: {csv} us/call; "
            f"sqlite3 execute('SELECT 1'): {sqx} us/call; m.fetchone read: {get} us")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", action="store_true")
    args = ap.parse_args()
    r = in_process()
    print(f"method call: plain closure {r['plain_ns']:.0f} ns, sealed {r['sealed_ns']:.0f} ns "
          f"(+{r['extra_ns']:.0f} ns)")
    if args.kernel:
        print(in_kernel())


if __name__ == "__main__":
    main()
