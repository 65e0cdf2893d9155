"""Kernel start and stop, guarded vs plain, through real kernels (jupyter_client):

* start: ``start_kernel`` until the kernel answers (and, guarded, ``%load_ext jupyter_guard``);
* stop: ``KernelManager.shutdown_kernel()`` as a server or a test calls it (a shutdown request,
  then jupyter_client's wait, which checks the process every 0.1 s), and the part of it that is
  the kernel's own: from the shutdown request to the process's exit (``waitpid``).

Before the stop, each kernel runs a few cells; the guarded one reads a DuckDB file (a
``customers`` table) through ``%%guarded_sql`` and plain Python, so that its audit store has
events to bring in at exit. Guarded and plain kernels alternate, medians of ``--repeat``.

    .venv/bin/python benchmarks/bench_shutdown.py [--repeat 7] [--baseline CHECKOUT] [--json]

``--baseline``: a guarded kernel running another checkout's jupyter_guard (e.g. main before a
change) joins the rotation, measured the same way.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CELLS = ("x = 1", "import duckdb\ncon = duckdb.connect('wh.duckdb')",
         "%%guarded_sql con\nSELECT count(*) AS n FROM customers",
         "rows = con.execute('SELECT id FROM customers LIMIT 5').fetchall()\nlen(rows)",
         "print(sum(range(1000)))")


def _env(tmp: Path, kind: str, baseline: str) -> dict[str, str | None]:
    env: dict[str, str | None] = {"JUPYTER_GUARD_POLICY": None,
                                  "PYTHONPATH": baseline if kind == "baseline" else str(ROOT)}
    if kind != "plain":
        env["JUPYTER_GUARD_AUDIT"] = str(tmp / f"audit-{kind}.duckdb")
    return env


def one(tmp: Path, kind: str, baseline: str = "") -> dict[str, float]:
    """Start a kernel, run ``CELLS``, stop it: seconds for each step."""
    from tests.kernelutil import Kernel

    guarded = kind != "plain"
    t0 = time.perf_counter()
    k = Kernel(tmp, _env(tmp, kind, baseline))
    try:
        if guarded:
            k.ok("%config JupyterGuard.quiet = True\n%load_ext jupyter_guard")
        start = time.perf_counter() - t0
        for code in CELLS if guarded else CELLS[:2] + CELLS[3:]:
            k.ok(code)
    except BaseException:
        k.stop()
        raise
    proc = k.km.provisioner.process  # type: ignore[union-attr]  # a local kernel: a Popen
    k.kc.stop_channels()
    t1 = time.perf_counter()
    k.km.request_shutdown()   # what shutdown_kernel sends, after its SIGINT
    proc.wait(timeout=30)
    exited = time.perf_counter() - t1
    # the whole call a server makes, on a second kernel state: measured separately below
    k.km.finish_shutdown()
    k.km.cleanup_resources()
    return {"start_s": start, "exit_s": exited}


def one_manager_stop(tmp: Path, kind: str, baseline: str = "") -> float:
    """``shutdown_kernel(now=False)`` as a whole, after the same cells."""
    from tests.kernelutil import Kernel

    guarded = kind != "plain"
    k = Kernel(tmp, _env(tmp, kind, baseline))
    try:
        if guarded:
            k.ok("%config JupyterGuard.quiet = True\n%load_ext jupyter_guard")
        for code in CELLS if guarded else CELLS[:2] + CELLS[3:]:
            k.ok(code)
    finally:
        k.kc.stop_channels()
        t = time.perf_counter()
        k.km.shutdown_kernel(now=False)
    return time.perf_counter() - t


def measure(repeat: int, baseline: str = "") -> dict[str, Any]:
    """Medians of each kind's runs; the kinds take turns, in a rotating order."""
    from tests.conftest import make_warehouse

    kinds = ["plain", "guarded"] + (["baseline"] if baseline else [])
    runs: dict[str, dict[str, list[float]]] = {
        k: {"start_s": [], "exit_s": [], "stop_s": []} for k in kinds}
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as d:
        tmp = Path(d)
        make_warehouse(tmp / "wh.duckdb", rows=200)
        for i in range(repeat):
            order = kinds[i % len(kinds):] + kinds[:i % len(kinds)]
            for name in order:
                r = one(tmp, name, baseline)
                runs[name]["start_s"].append(r["start_s"])
                runs[name]["exit_s"].append(r["exit_s"])
            for name in order:
                runs[name]["stop_s"].append(one_manager_stop(tmp, name, baseline))
    med = {n: {k: statistics.median(v) for k, v in m.items()} for n, m in runs.items()}
    res: dict[str, Any] = {"repeat": repeat, **med}
    for key in ("start_s", "exit_s", "stop_s"):
        res[f"{key[:-2]}_ratio"] = med["guarded"][key] / med["plain"][key]
    res["all"] = runs
    return res


def rows(r: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """README rows: (area, measure, jupyter_guard, baseline, ratio)."""
    if not r:
        return []
    g, p = r["guarded"], r["plain"]
    b = r.get("baseline")
    extra = [] if b is None else [
        ("kernel life", f"{key} (guarded both): this checkout vs the baseline checkout",
         f"{g[f'{key}_s'] * 1e3:.0f} ms", f"baseline checkout {b[f'{key}_s'] * 1e3:.0f} ms",
         f"×{g[f'{key}_s'] / b[f'{key}_s']:.2f}") for key in ("exit", "stop")]
    return extra + [
        ("kernel life", "start: `start_kernel` until ready (+ `%load_ext jupyter_guard`)",
         f"{g['start_s'] * 1e3:.0f} ms", f"plain kernel {p['start_s'] * 1e3:.0f} ms",
         f"×{r['start_ratio']:.2f}"),
        ("kernel life", "stop: shutdown request to process exit (audit written out)",
         f"{g['exit_s'] * 1e3:.0f} ms", f"plain kernel {p['exit_s'] * 1e3:.0f} ms",
         f"×{r['exit_ratio']:.2f}"),
        ("kernel life", "stop: `KernelManager.shutdown_kernel()` (target ≤ 1.2 s or ×1.5)",
         f"{g['stop_s'] * 1e3:.0f} ms", f"plain kernel {p['stop_s'] * 1e3:.0f} ms",
         f"×{r['stop_ratio']:.2f}"),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--baseline", default="", help="another checkout's root, guarded too")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    res = measure(a.repeat, a.baseline)
    if a.json:
        print(json.dumps(res, indent=2))
    else:
        for row in rows(res):
            print(" | ".join(row))


if __name__ == "__main__":
    main()
