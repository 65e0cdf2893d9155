"""Known-value masking of printed text: ``exits.known_spans`` and ``exits.grouped_spans`` (the
finders masking registers) on 1 MB of texts with 20,000 values read from sensitive columns
remembered, CPU ms per MB (median), in this checkout and, with
``--before DIR`` or ``--before COMMIT`` (that commit of this repository, unpacked with ``git
archive`` into a temporary folder), in another checkout run the same way (each in its own
process). Besides the three honest texts: 1 MB of SSNs spelt one digit at a time
(``[int(c) for c in ssn]`` lists) and of digit lists of numbers no column holds.

    PYTHONPATH= python benchmarks/bench_known_spans.py [--before DIR|COMMIT] [--repeat 5]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
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
digits = "\n".join(str([int(c) for c in str(100000000 + i)]) for i in range(40000))[:1 << 20]
small = "\n".join(str([(i * 7 + j) % 10 for j in range(9)]) for i in range(40000))[:1 << 20]
out = {}
for name, text in (("CSV with UUIDs", csv), ("list of SSNs", listing), ("prose", prose),
                   ("SSNs as digit lists", digits), ("digit lists, no value", small)):
    runs = []
    for _ in range(int(sys.argv[2])):
        t0 = time.process_time()
        exits.known_spans(text)   # the two finders of known values masking registers
        exits.grouped_spans(text)
        runs.append(time.process_time() - t0)
    out[name] = sorted(runs)[len(runs) // 2] * 1000
print(json.dumps(out))
"""


def checkout(before: str, tmp: Path) -> Path:
    """``before`` itself where it is a folder, else that commit unpacked into ``tmp``."""
    if Path(before).is_dir():
        return Path(before)
    repo = Path(__file__).resolve().parents[1]
    archive = subprocess.run(["git", "-C", str(repo), "archive", before], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
    return tmp


def measure(root: Path, repeat: int) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", WORKER, str(root), str(repeat)], check=True,
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    return dict(json.loads(done.stdout))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", help="a checkout's folder or a commit of this repository")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    now = measure(Path(__file__).resolve().parents[1], a.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        before = measure(checkout(a.before, Path(tmp)), a.repeat) if a.before else {}
    if a.json:
        print(json.dumps({"after": now, "before": before}))
        return
    print("| 1 MB of | before | this checkout |\n|---|---:|---:|")
    for name, ms in now.items():
        print(f"| {name} | {before.get(name, float('nan')):.1f} | {ms:.1f} |")


if __name__ == "__main__":
    main()
