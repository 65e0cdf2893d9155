"""What a big fetch of a sensitive column costs the cells after it: 250,000 SSN-like values
remembered per fetch (``exits.remember``: ~1.5 million values and forms each), then, as the
next cell would, the kernel's finder of known values (``exits.known_spans``, which masking
runs on the cell's source and its prints) on a short text the first time and again, and about 1 MB
of printed CSV (``Matcher.find``) the first time and again; wall seconds after 1, 2, ... fetches,
the process's peak RSS and the memory the bound on known values counts (``exits.held``, which
``exits.MAX_KNOWN_BYTES`` bounds; 0 for a checkout without it). With ``--before COMMIT`` (or a checkout's folder) the same run measures
that checkout too, each in its own process.

    PYTHONPATH= python benchmarks/bench_known_growth.py [--fetches 4] [--before COMMIT] [--json]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench_known_spans import checkout  # the folder is not a package

WORKER = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from jupyter_guard.hooks import exits
csv = "\n".join(f"{i},{i * 1.5:.2f},Paris,order-{i:08d}" for i in range(40000))  # ~1 MB
out = {}
for f in range(int(sys.argv[2])):
    vals = [str(100000000 + (g + f * 250000) * 7) for g in range(1, 250001)]
    row = {}
    t = time.perf_counter(); exits.remember(vals); row["remember_s"] = time.perf_counter() - t
    m = exits._MATCH
    for key, call in (("first_short_s", lambda: exits.known_spans(f"a {vals[5]}{vals[6]} b")),
                      ("later_short_s", lambda: exits.known_spans(f"a {vals[7]}{vals[8]} b")),
                      ("first_1mb_s", lambda: m.find(csv + " " + vals[9])),
                      ("later_1mb_s", lambda: m.find(csv + " " + vals[10]))):
        t = time.perf_counter()
        assert call()   # found: no value is lost on the way
        row[key] = time.perf_counter() - t
    row["known"] = len(exits.known)
    row["held_mb"] = getattr(exits, "held", [0])[0] / 2 ** 20   # (the memory bound's count)
    row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out[str(f + 1)] = row
print(json.dumps(out))
"""


def measure(root: Path, fetches: int) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", WORKER, str(root), str(fetches)], check=True,
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    return dict(json.loads(done.stdout))


def rows(r: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(area, measure, jupyter_guard, baseline, ratio) for ``run_all``."""
    out = []
    for n, x in r.get("after", {}).items():
        b = r.get("before", {}).get(n)
        base = (f"before: {b['first_short_s']:.2f} s" if b else "")
        out.append(("known values", f"{n} fetch(es) of 250,000 SSNs ({x['known']:,} known): "
                    "remember / next cell's first check / a later one / first 1 MB print / "
                    "peak RSS",
                    f"{x['remember_s']:.2f} s / {x['first_short_s']:.3f} s / "
                    f"{x['later_short_s'] * 1e3:.2f} ms / {x['first_1mb_s']:.2f} s / "
                    f"{x['peak_rss_mb']:.0f} MB", base, ""))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fetches", type=int, default=4)
    ap.add_argument("--before", help="a checkout's folder or a commit of this repository")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    now = measure(Path(__file__).resolve().parents[1], a.fetches)
    with tempfile.TemporaryDirectory() as tmp:
        before = measure(checkout(a.before, Path(tmp)), a.fetches) if a.before else {}
    if a.json:
        print(json.dumps({"after": now, "before": before}))
        return
    print("| checkout | fetches | known | remember s | next cell's first check s | later ms "
          "| first 1 MB print s | later 1 MB s | peak RSS MB | held MB |\n|---|---:|---:|---:"
          "|---:|---:|---:|---:|---:|---:|")
    for name, res in (("before", before), ("this", now)):
        for n, x in res.items():
            print(f"| {name} | {n} | {x['known']:,} | {x['remember_s']:.2f} | "
                  f"{x['first_short_s']:.3f} | {x['later_short_s'] * 1e3:.2f} | "
                  f"{x['first_1mb_s']:.2f} | {x['later_1mb_s']:.3f} | {x['peak_rss_mb']:.0f} | "
                  f"{x.get('held_mb', 0):.0f} |")


if __name__ == "__main__":
    main()
