"""Known-value masking of printed text: ``exits.known_spans`` on 1 MB of three texts with 20,000
values read from sensitive columns, CPU ms per MB (median), in this checkout and, with
``--before DIR``, in another checkout run the same way (each in its own process).

    PYTHONPATH= python benchmarks/bench_known_spans.py [--before DIR] [--repeat 5]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

WORKER = r"""
import json, sys, time, uuid
sys.path.insert(0, sys.argv[1])
from jupyter_guard.hooks import exits
exits.remember([str(100000000 + i) for i in range(10000)] +
               [f"user{i}@example.com" for i in range(10000)])
csv = "".join(f"{i},{uuid.uuid4()},Paris,{i * 1.5:.2f},2024-01-01T00:00:00,order-{i:08d}\n"
              for i in range(15000))[:1 << 20]
listing = str([str(100000000 + i) for i in range(100000)])[:1 << 20]
prose = ("The quarterly revenue grew by 12 percent across all regions while costs stayed "
         "flat. " * 13000)[:1 << 20]
out = {}
for name, text in (("CSV with UUIDs", csv), ("list of SSNs", listing), ("prose", prose)):
    runs = []
    for _ in range(int(sys.argv[2])):
        t0 = time.process_time()
        exits.known_spans(text)
        runs.append(time.process_time() - t0)
    out[name] = sorted(runs)[len(runs) // 2] * 1000
print(json.dumps(out))
"""


def measure(root: Path, repeat: int) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", WORKER, str(root), str(repeat)], check=True,
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    return dict(json.loads(done.stdout))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", type=Path)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    now = measure(Path(__file__).resolve().parents[1], a.repeat)
    before = measure(a.before, a.repeat) if a.before else {}
    if a.json:
        print(json.dumps({"after": now, "before": before}))
        return
    print("| 1 MB of | before | this checkout |\n|---|---:|---:|")
    for name, ms in now.items():
        print(f"| {name} | {before.get(name, float('nan')):.1f} | {ms:.1f} |")


if __name__ == "__main__":
    main()
