"""Cost of ``file_pieces._known`` in a fetch-then-write loop: 1,000,000 SSNs known (the most
``exits.MAX_KNOWN`` lets a fetch of SSNs reach with their forms), then each
round remembers a batch of 1,000 new ones (a fetch) and asks for the sorted array (a write).
Before (main: the array rebuilt and sorted whenever the set changed) and after (this tree:
batches merged, ``known_ints``), each in a process of its own, the same seed.

    .venv/bin/python benchmarks/bench_known_ints.py [--known 1000000] [--rounds 20]
        [--before /work/main] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = """
import random, statistics, sys, time
from jupyter_guard.hooks import exits, file_pieces
known, rounds = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(3)
def ssns(n):
    return [f"{rng.randint(100000000, 899999999)}" for _ in range(n)]
for i in range(0, known, 250_000):
    exits.remember(ssns(min(250_000, known - i)))
file_pieces._known()
times = []
for _ in range(rounds):
    exits.remember(ssns(1_000))
    t = time.perf_counter()
    arr = file_pieces._known()
    times.append((time.perf_counter() - t) * 1000)
print(statistics.median(times), max(times), len(arr), file_pieces.__file__)
"""


def run(root: str, known: int, rounds: int) -> dict[str, float]:
    env = os.environ | {"PYTHONPATH": root}
    out = subprocess.run([sys.executable, "-c", CHILD, str(known), str(rounds)], env=env, cwd="/",
                         check=True, capture_output=True, text=True).stdout.split()
    return {"median_ms": round(float(out[0]), 2), "max_ms": round(float(out[1]), 2),
            "known_ints": int(out[2]), "module": out[3]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--known", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--before", default="/work/main")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    res = {"before": run(a.before, a.known, a.rounds),
           "after": run(str(HERE.parent), a.known, a.rounds)}
    print(json.dumps(res, indent=2) if a.json else res)


if __name__ == "__main__":
    main()
