"""Overhead of the runtime audit hook: 100k open()+close(), 20k open(w)+close() judged as user
code, a pure-Python loop, and 100k open()+close() as the guard's own work (``Busy``: the token
check, directly and 10 frames below the frame holding it), without and with the guard's hook.

An audit hook cannot be removed, so each round starts two fresh processes, one without the hook
and one with it, in alternating order; each process runs every workload three times and keeps
its best. The figures are medians over the rounds, so drift and order hit both sides alike.

    .venv/bin/python benchmarks/bench_hooks.py [--json] [--repeat 7]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

from alternate import medians


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


def bench_open_busy(path: str, n: int = 100_000, depth: int = 0) -> float:
    """The guard's own work (``with Busy()``): each ``open`` event checks the token, which walks
    the ``depth`` frames between the event and the frame holding it."""
    from jupyter_guard.hooks.state import Busy

    def nested(k: int) -> float:
        if k:
            return nested(k - 1)
        t = time.perf_counter()
        for _ in range(n):
            open(path).close()
        return time.perf_counter() - t

    with Busy():
        return nested(depth)


def _as_own(*fns: object) -> None:
    """The busy workloads' functions count as the guard's own code (``hooks/own_code.py``): the
    guard's code is told by identity and by its file, so each is rebuilt under a name in the
    package (in this process only, which has no self-protection layer)."""
    try:
        from jupyter_guard.hooks import own_code
    except ImportError:   # a version of the guard without the token: its Busy holds anywhere
        return
    name = os.path.join(getattr(own_code, "PACKAGE_DIR", ""), "hooks", "bench_workload.py")
    out: dict[int, object] = {}
    for fn in fns:
        code = fn.__code__  # type: ignore[attr-defined]
        if getattr(own_code, "PACKAGE_DIR", None):
            code = _renamed(code, name)
            fn.__code__ = code  # type: ignore[attr-defined]
        own_code._codes(code, out)  # type: ignore[attr-defined]
    own_code.CODES.update(out)  # type: ignore[attr-defined]
    own_code._KEEP.extend(out.values())  # type: ignore[attr-defined]


def _renamed(code: object, name: str) -> object:
    from types import CodeType

    assert isinstance(code, CodeType)
    consts = tuple(_renamed(c, name) if isinstance(c, CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=name, co_consts=consts)


WORKLOADS = {"open_100k": bench_open, "open_w_20k": lambda p: bench_write(p + ".w"),
             "compute_2M": lambda p: bench_compute(),
             "open_busy_100k": bench_open_busy,
             "open_busy_depth10_100k": lambda p: bench_open_busy(p, depth=10)}


def measure_once(path: str) -> dict[str, float]:
    bench_open(path, 1000)   # warm-up: file cache, the guard's first decisions
    bench_write(path + ".w", 200)
    bench_compute(100_000)
    _as_own(bench_open_busy)
    return {name: min(fn(path) for _ in range(3)) for name, fn in WORKLOADS.items()}


def install_guard(hooked: bool = True) -> None:
    """The real hook and handlers, wired to a shell-less guard with a cell marked as running
    (the worst case: every write is judged as user code). ``hooked=False`` builds the same
    objects without adding the hook, so both sides import and allocate alike."""
    from types import SimpleNamespace

    from jupyter_guard.guard.service import Guard
    from jupyter_guard.hooks import events as runtime_events
    from jupyter_guard.hooks import runtime, state

    guard = Guard.create(env={"JUPYTER_GUARD_AUDIT": os.path.join(tempfile.gettempdir(), "bench.duckdb")})
    shell = SimpleNamespace(compile=SimpleNamespace(_filename_map={__file__: 1}, ast_parse=None),
                            events=None, user_ns={})
    rt = runtime.Runtime(shell, guard)
    hook = runtime._make_hook(runtime_events.handlers(rt), state._tl)
    if hooked:
        sys.addaudithook(hook)


def child(hooked: bool) -> None:
    fd, path = tempfile.mkstemp()
    os.close(fd)
    try:
        install_guard(hooked)
        print(json.dumps(measure_once(path)))
    finally:
        for p in (path, path + ".w"):
            if os.path.exists(p):
                os.remove(p)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--repeat", type=int, default=7, help="rounds (two processes each)")
    ap.add_argument("--child", choices=["with", "without"], help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.child == "with")
        return
    med = medians(__file__, WORKLOADS, a.repeat)
    rows = {k: {"without_s": med[False][k], "with_s": med[True][k],
                "ratio": med[True][k] / med[False][k]} for k in WORKLOADS}
    if a.json:
        print(json.dumps(rows, indent=2))
    else:
        print("| benchmark | without hook (s, median) | with hook (s, median) | ratio |\n|---|---|---|---|")
        for k, r in rows.items():
            print(f"| {k} | {r['without_s']:.4f} | {r['with_s']:.4f} | x{r['ratio']:.2f} |")


if __name__ == "__main__":
    main()
