"""Known numbers respelt in plain Python (``known_fuzzy``): the cost of the exits' known-value
readings (``exits.scan``'s ``_known`` for what leaves, ``known_spans`` + ``grouped_spans`` for
what is shown) with 10,000 SSNs read from a sensitive column remembered, on 1 MB of ordinary
texts and on a 1,000-line print, CPU ms (median), in this checkout, in this checkout with the
fuzzy reading off (``known_fuzzy.spans`` returns nothing: what it adds) and in another
(``--before DIR`` or a commit of this repository, unpacked with ``git archive``), each in its own
process, the three interleaved (``--rounds`` rounds of ``--repeat`` runs each); and the false
positives of the fuzzy reading on honest output: the exits' 65,000+ plain values
(``tests/enforce/test_exit_false_positives.corpus``) and 10,000 honest cells of
``tests/enforce/test_chan20_corpus.corpus``.

    PYTHONPATH= python benchmarks/bench_fuzzy22.py [--before DIR|COMMIT] [--repeat 5] [--rounds 3]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench_known_spans import checkout

WORKER = r"""
import json, random, sys, time, uuid
sys.path.insert(0, sys.argv[1])
from jupyter_guard.hooks import exits, known_fuzzy
if sys.argv[3] == "off":
    known_fuzzy.spans = lambda *a, **k: []
rng = random.Random(22)
ssns = [f"{rng.randrange(100, 900)}-{rng.randrange(10, 100)}-{rng.randrange(1000, 10000)}"
        for _ in range(10000)]
exits.remember(ssns)
csv = "".join(f"{i},{uuid.uuid4()},Paris,{i * 1.5:.2f},2024-01-01T00:00:00,order-{i:08d}\n"
              for i in range(15000))[:1 << 20]
prose = ("The quarterly revenue grew by 12 percent across all regions while costs stayed "
         "flat. " * 13000)[:1 << 20]
phones = "\n".join(f"order {rng.randrange(100, 999)}-{rng.randrange(100, 999)}-"
                   f"{rng.randrange(1000, 9999)} on 2024-{rng.randrange(1, 13):02d}-"
                   f"{rng.randrange(1, 29):02d} for {rng.uniform(1, 9999):.2f}"
                   for _ in range(30000))[:1 << 20]
lines = "\n".join(f"row {i}: id={uuid.uuid4()} total={i * 3.25:.2f} at 2024-01-{i % 28 + 1:02d}"
                  for i in range(1000))
out = {}
for name, text in (("CSV with UUIDs", csv), ("prose", prose), ("phones, dates, amounts", phones),
                   ("1,000-line print", lines)):
    for what, run in (("leave", lambda t: exits._known(t)),
                      ("show", lambda t: (exits.known_spans(t), exits.grouped_spans(t)))):
        runs = []
        for _ in range(int(sys.argv[2])):
            t0 = time.process_time()
            run(text)
            runs.append(time.process_time() - t0)
        out[f"{name} ({what})"] = [r * 1000 for r in runs]
print(json.dumps(out))
"""

FALSE = r"""
import json, random, sys
sys.path.insert(0, sys.argv[1])
from jupyter_guard.hooks import exits, known_fuzzy
from tests.enforce.test_exit_false_positives import corpus
from tests.enforce.test_chan20_corpus import corpus as cells
rng = random.Random(22)
exits.remember([f"{rng.randrange(100, 900)}-{rng.randrange(10, 100)}-{rng.randrange(1000, 10000)}"
                for _ in range(10000)])
values = corpus()
plain = sum(len(known_fuzzy.spans("\n".join(values[i:i + 16384]), exits.known, exits.spelt))
            for i in range(0, len(values), 16384))
honest = cells(random.Random(1), 10000)
chan = sum(len(known_fuzzy.spans("".join(c), exits.known, exits.spelt)) for c in honest)
whole = len(known_fuzzy.spans("\n".join("".join(c) for c in honest), exits.known, exits.spelt))
print(json.dumps({"plain values": len(values), "plain values masked": plain,
                  "honest cells": len(honest), "cells masked": chan, "all cells as one": whole}))
"""


def run(code: str, root: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", code, str(root), *args], check=True,
                          capture_output=True, text=True, cwd=root,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)})
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="main")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    here = Path(__file__).resolve().parents[1]
    runs: dict[str, dict[str, list[float]]] = {"before": {}, "off": {}, "this": {}}
    with tempfile.TemporaryDirectory() as tmp:
        before = checkout(args.before, Path(tmp))
        for _ in range(args.rounds):   # interleaved: a load change hits all three alike
            for name, root, mode in (("before", before, "on"), ("off", here, "off"),
                                     ("this", here, "on")):
                for k, v in run(WORKER, root, str(args.repeat), mode).items():
                    runs[name].setdefault(k, []).extend(v)
    med = {name: {k: sorted(v)[len(v) // 2] for k, v in got.items()} for name, got in runs.items()}
    print(f"{'text (exit)':34} {'before ms':>9} {'fuzzy off':>9} {'this ms':>9} {'/before':>7} "
          f"{'/off':>6}")
    old, off, new = med["before"], med["off"], med["this"]
    for k in new:
        print(f"{k:34} {old[k]:9.1f} {off[k]:9.1f} {new[k]:9.1f} {new[k] / max(old[k], 1e-3):7.2f} "
              f"{new[k] / max(off[k], 1e-3):6.2f}")
    print(json.dumps(run(FALSE, here)))


if __name__ == "__main__":
    main()
