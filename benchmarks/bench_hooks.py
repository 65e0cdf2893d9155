"""Overhead of the runtime audit hook: 100k open()+close() and a pure-Python loop, without and
with the guard's hook, in the same run (the hook cannot be removed, so "without" runs first).

    .venv/bin/python benchmarks/bench_hooks.py [--json] [--repeat 7]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time


def bench_open(path: str, n: int = 100_000) -> float:
    t = time.perf_counter()
    for _ in range(n):
        open(path).close()
    return time.perf_counter() - t


def bench_write(path: str, n: int = 20_000) -> float:
    t = time.perf_counter()
    for _ in range(n):
        open(path, "w").close()
    return time.perf_counter() - t


def bench_compute(n: int = 2_000_000) -> float:
    t = time.perf_counter()
    s = 0
    for i in range(n):
        s += i * i % 7
    return time.perf_counter() - t


def measure(repeat: int, path: str) -> dict[str, float]:
    return {name: statistics.median(fn() for _ in range(repeat)) for name, fn in (
        ("open_100k", lambda: bench_open(path)), ("open_w_20k", lambda: bench_write(path + ".w")),
        ("compute_2M", bench_compute))}


def install_guard() -> None:
    """The real hook and handlers, wired to a shell-less guard with a cell marked as running
    (the worst case: every write is judged as user code)."""
    from types import SimpleNamespace

    from jupyter_guard.enforce import runtime, runtime_events
    from jupyter_guard.enforce.guard import Guard

    guard = Guard.create(env={"JUPYTER_GUARD_AUDIT": os.path.join(tempfile.gettempdir(), "bench.duckdb")})
    shell = SimpleNamespace(compile=SimpleNamespace(_filename_map={__file__: 1}, ast_parse=None),
                            events=None, user_ns={})
    rt = runtime.Runtime(shell, guard)
    sys.addaudithook(runtime._make_hook(runtime_events.handlers(rt), runtime._tl))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--repeat", type=int, default=7)
    a = ap.parse_args()
    fd, path = tempfile.mkstemp()
    os.close(fd)
    before = measure(a.repeat, path)
    install_guard()
    after = measure(a.repeat, path)
    rows = {k: {"without_s": before[k], "with_s": after[k], "ratio": after[k] / before[k]} for k in before}
    if a.json:
        print(json.dumps(rows, indent=2))
    else:
        print("| benchmark | without hook (s, median) | with hook (s, median) | ratio |\n|---|---|---|---|")
        for k, r in rows.items():
            print(f"| {k} | {r['without_s']:.4f} | {r['with_s']:.4f} | x{r['ratio']:.2f} |")
    os.remove(path)


if __name__ == "__main__":
    main()
