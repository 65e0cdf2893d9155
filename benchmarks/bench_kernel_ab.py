"""Per-cell cost of the guard before and after a change, in real kernels started side by side:
the package of a git revision (``--before``, extracted with ``git archive``) and this checkout,
each in a guarded kernel, plus a plain kernel; the same cells (``x = 1`` and the 30-line pandas
cell of ``bench_kernel.py``) run in all three, interleaved in a rotating order.

    .venv/bin/python benchmarks/bench_kernel_ab.py --before 8a7fa28 [--rounds 15] [--batch 20] [--only trivial|pandas] [--json]

Reported per cell and kernel: the median wall time of the round trip and the median CPU time the
kernel process spent on it (user + system, all its threads), both per cell of a batch. On a loaded machine the wall time
is mostly other processes; the CPU time is the guard's own work.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_kernel import PANDAS_CELL, PANDAS_SETUP, ROOT, Kernel  # the folder is not a package

CELLS = {"trivial cell (x = 1)": "x = 1", "30-line pandas cell": PANDAS_CELL}
ONLY = {"trivial": "trivial cell (x = 1)", "pandas": "30-line pandas cell"}


def extract(rev: str, into: Path) -> Path:
    """The ``jupyter_guard`` package of ``rev`` (and its packaged policies), as a folder to put
    on ``PYTHONPATH``."""
    archive = subprocess.run(["git", "archive", rev, "jupyter_guard", "policies"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def kernel(root: Path | None, tmp: Path) -> Kernel:
    env = {"PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"} if root else {}
    if root is not None:
        env |= {"JUPYTER_GUARD_AUDIT": str(tmp / "audit.duckdb"), "JUPYTER_GUARD_USER": "bench"}
    k = Kernel(env, str(tmp))
    if root is not None:
        k.ok("%load_ext jupyter_guard")
        k.ok("import jupyter_guard\nassert jupyter_guard.__file__.startswith("
             f"{str(root)!r}), jupyter_guard.__file__")
    k.ok(PANDAS_SETUP)
    return k


def cpu_ms(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return (t.user + t.system) * 1000


def measure(kernels: dict[str, Kernel], rounds: int, batch: int, cells: dict[str, str]
            ) -> dict[str, Any]:
    """Per round, each kernel runs the cell ``batch`` times in a row (the kernels in a rotating
    order); its CPU time is read before and after the batch (the kernel's clock ticks are 10 ms:
    a batch makes the per-cell figure finer). Medians over the rounds, after one warm-up round."""
    procs = {n: psutil.Process(k.km.provisioner.pid)  # type: ignore[union-attr]  # a local kernel has a provisioner
             for n, k in kernels.items()}
    res: dict[str, Any] = {}
    names = list(kernels)
    for cell, code in cells.items():
        wall: dict[str, list[float]] = {n: [] for n in names}
        cpu: dict[str, list[float]] = {n: [] for n in names}
        for i in range(rounds + 1):
            for n in names[i % len(names):] + names[:i % len(names)]:
                before, ms = cpu_ms(procs[n]), 0.0
                for _ in range(batch):
                    took, status, out = kernels[n].run(code)
                    if status != "ok":
                        raise RuntimeError(f"{n}: {[m['content'] for m in out]}")
                    ms += took
                if i >= 1:
                    wall[n].append(ms / batch)
                    cpu[n].append((cpu_ms(procs[n]) - before) / batch)
        res[cell] = {n: {"wall_ms": statistics.median(wall[n]), "cpu_ms": statistics.median(cpu[n]),
                         "cpu_ms_mean": statistics.fmean(cpu[n])} for n in names}
    return res


def compare(before: str, after: str, rounds: int, batch: int, cells: dict[str, str],
            setup: str = "") -> dict[str, Any]:
    """``measure`` in a plain kernel and kernels guarded by revisions ``before`` and ``after``
    (empty: this checkout), ``setup`` run in each first."""
    with tempfile.TemporaryDirectory() as tmp:
        dirs = {n: Path(tmp) / n for n in ("plain", "before", "after", "code-before", "code-after")}
        for d in dirs.values():
            d.mkdir()
        base = extract(before, dirs["code-before"])
        new = extract(after, dirs["code-after"]) if after else ROOT
        kernels: dict[str, Kernel] = {}
        try:
            kernels["plain"] = kernel(None, dirs["plain"])
            kernels["before"] = kernel(base, dirs["before"])
            kernels["after"] = kernel(new, dirs["after"])
            if setup:
                for k in kernels.values():
                    k.ok(setup)
            return measure(kernels, rounds, batch, cells)
        finally:
            for k in kernels.values():
                k.stop()


def report(res: dict[str, Any], before: str, after: str, rounds: int, batch: int) -> None:
    print(f"before = {before}, after = {after or 'this checkout'}; per cell, median of {rounds} "
          f"rounds of {batch} cells each")
    for cell, by in res.items():
        print(f"{cell}:")
        for n, m in by.items():
            print(f"  {n:7} wall {m['wall_ms']:8.2f} ms   kernel CPU {m['cpu_ms']:8.2f} ms "
                  f"(mean {m['cpu_ms_mean']:.2f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="git revision to compare against")
    ap.add_argument("--after", default="", help="git revision to compare (default: this checkout)")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--batch", type=int, default=20, help="cells per kernel per round")
    ap.add_argument("--only", choices=sorted(ONLY), default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    cells = {ONLY[args.only]: CELLS[ONLY[args.only]]} if args.only else CELLS
    res = compare(args.before, args.after, args.rounds, args.batch, cells)
    if args.json:
        print(json.dumps(res, indent=2))
        return
    report(res, args.before, args.after, args.rounds, args.batch)


if __name__ == "__main__":
    main()
