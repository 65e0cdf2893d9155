"""Classifying a frame not shown before (the first display's column sampling), in process:
the current path against the previous one (``sample_strings`` on every call, no probe memo),
alternated, on the 1,000-row frames of ``bench_exits.py`` (each a new slice of a 20,000-row
frame; ``x`` carries a lineage mark, so it is not sampled). Thread CPU time, median per round.

    .venv/bin/python benchmarks/bench_classify_first.py [--rounds 6]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from jupyter_guard.mask import settings as ms
from jupyter_guard.mask.detect import sample_strings
from jupyter_guard.mask.text import COLUMN_THRESHOLD, MaskSettings, hinted_count


def _rejected_before(probe: list[str]) -> bool:
    return hinted_count(probe) < COLUMN_THRESHOLD * len(probe) / 2


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=6)
    a = ap.parse_args()
    n = 20_000
    big = pd.DataFrame({"id": np.arange(n), "amount": np.arange(n) * 1.25,
                        "city": np.array(["Paris", "Lyon", "Nice"])[np.arange(n) % 3],
                        "code": [f"PRD-{i:06d}" for i in range(n)],
                        "ts": pd.date_range("2026-01-01", periods=n, freq="min").astype(str)})
    settings = MaskSettings()
    paths = {"before": (sample_strings, _rejected_before), "now": (ms._strings, ms._rejected)}
    out: dict[str, list[float]] = {k: [] for k in paths}
    for r in range(a.rounds):
        for k, (name, (strings, rejected)) in enumerate(paths.items()):
            ms._strings, ms._rejected = strings, rejected   # type: ignore[assignment]
            times = []
            for i in range(300):
                start = ((2 * r + k) * 300 + i) * 7 % (n - 1000)   # never the same frame
                frame = big.iloc[start:start + 1000].rename(columns={"code": "x"})
                t = time.thread_time()
                ms.classify(frame, settings, frozenset({"x"}))
                times.append(time.thread_time() - t)
            out[name].append(sorted(times)[len(times) // 2] * 1e6)
    for name, values in out.items():
        print(f"{name}: median us per new frame, per round: {[round(v) for v in values]}")


if __name__ == "__main__":
    main()
