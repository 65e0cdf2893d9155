"""Issue 21's target over ``mask_search.py``'s forms: how many (form, settings) pairs take more
than 50 ms CPU for 1 MB through ``mask_text``, before and after a change, in one run (calls
interleaved, median CPU ms of this thread; the two versions' outputs must be equal), the worst
pairs, and ordinary prose's throughput.

    .venv/bin/python benchmarks/bench_mask20.py [--before 8548748] [--repeat 3]
        [--settings default,all,hash] [--only token [--only secret ...]] [--json]
"""
from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_stream import ordinary  # noqa: E402
from bench_text_ab import MB, old_package  # noqa: E402
from mask_search import DETECTORS, forms  # noqa: E402

TARGET_MS = 50.0
KEYWORDS: dict[str, dict[str, Any]] = {
    "default": {}, "all": {"detectors": tuple(DETECTORS)}, "hash": {"strategy": "hash"}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="8548748", help="git revision to compare with")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--settings", default="default,all,hash")
    ap.add_argument("--only", action="append", default=[],
                    help="only the forms whose name holds this (repeat it: any of them)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    from jupyter_guard.mask import strategy
    from jupyter_guard.mask.text import MaskSettings, mask_text

    shapes = {"ordinary prose": lambda: ordinary(MB), **forms()}
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        old = importlib.import_module(old_package(a.before, Path(tmp)) + ".text")
        old_strategy = importlib.import_module("oldmask.strategy")
        for name, make in shapes.items():
            if a.only and not any(part in name for part in a.only):
                continue
            text = make()
            for sname in a.settings.split(","):
                before, after = old.MaskSettings(**KEYWORDS[sname]), \
                    MaskSettings(**KEYWORDS[sname])
                if old.mask_text(text, before) != mask_text(text, after):
                    raise SystemExit(f"{name} ({sname}): the two versions mask differently")
                t_old, t_new = [], []
                for _ in range(a.repeat):
                    if sname == "hash":  # (as mask_search: no digest remembered)
                        getattr(old_strategy, "_hashed", {}).clear()
                    c = time.thread_time()
                    old.mask_text(text, before)
                    t_old.append(time.thread_time() - c)
                    if sname == "hash":
                        getattr(strategy, "_hashed", {}).clear()
                    c = time.thread_time()
                    mask_text(text, after)
                    t_new.append(time.thread_time() - c)
                r = rows[f"{name} ({sname})"] = {"before_ms": statistics.median(t_old) * 1000,
                                                 "after_ms": statistics.median(t_new) * 1000}
                print(f"{name} ({sname}): {r['before_ms']:.1f} -> {r['after_ms']:.1f}",
                      file=sys.stderr, flush=True)
    if a.json:
        print(json.dumps(rows, indent=2))
        return
    over_b = [n for n, r in rows.items() if r["before_ms"] > TARGET_MS]
    over_a = [n for n, r in rows.items() if r["after_ms"] > TARGET_MS]
    print(f"pairs: {len(rows)}; over {TARGET_MS:.0f} ms before {a.before}: {len(over_b)}, "
          f"after: {len(over_a)}")
    worst_b = max(rows.items(), key=lambda kv: kv[1]["before_ms"])
    worst_a = max(rows.items(), key=lambda kv: kv[1]["after_ms"])
    print(f"worst before: {worst_b[0]} {worst_b[1]['before_ms']:.1f} ms; "
          f"worst after: {worst_a[0]} {worst_a[1]['after_ms']:.1f} ms")
    for sname in a.settings.split(","):
        r = rows.get(f"ordinary prose ({sname})")
        if r:
            print(f"ordinary prose ({sname}): {r['before_ms']:.1f} -> {r['after_ms']:.1f} ms "
                  f"({1000 / max(r['after_ms'], 1e-3):.0f} MB/s after)")
    print(f"\n| 1 MB of (settings) | before {a.before} (ms CPU) | after (ms CPU) |\n|---|---:|---:|")
    for name in sorted(set(over_b) | set(over_a), key=lambda n: -rows[n]["before_ms"]):
        r = rows[name]
        print(f"| {name} | {r['before_ms']:.1f} | {r['after_ms']:.1f} |")


if __name__ == "__main__":
    main()
