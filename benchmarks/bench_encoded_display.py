"""The cost of masking base64/hex runs on the display path (``kernel.encoded_runs.shown``) against
``mask_text`` alone, on 1 MB texts with no run, with benign runs and with runs that hide values;
CPU ms per MB, calls alternating, medians. Known values registered as the kernel does.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_encoded_display.py [--repeat 7] [--json]

For kernels (a real ``print``, plain against guarded, and ``--before`` another checkout) see
``bench_stream.py --only kernel``: its cells include 1 MB of benign runs and of encoded PII.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_stream import csv_rows, ordinary, pii_rows  # noqa: E402

MB = 1 << 20


def _lines(make: Any) -> str:
    out, size, i = [], 0, 0
    while size < MB:
        line = make(i) + "\n"
        out.append(line)
        size += len(line)
        i += 1
    return "".join(out)[:MB]


def texts() -> dict[str, str]:
    rng = random.Random(5)
    pii = "".join(f"('user{i}@example.com', '{100000000 + i}'), " for i in range(30000))
    return {
        "ordinary prose (no run)": ordinary(MB),
        "CSV rows (no run)": csv_rows(MB),
        "PII rows (no run)": pii_rows(MB),
        "UUID rows": _lines(lambda i: f"{uuid.UUID(int=rng.getrandbits(128))},{i},Paris"),
        "sha256 digests": _lines(lambda i: hashlib.sha256(str(i).encode()).hexdigest()),
        "base64 of binary (a picture)": base64.b64encode(rng.randbytes(MB * 3 // 4)).decode(),
        "base64 of plain text": base64.b64encode(ordinary(MB * 3 // 4).encode()).decode(),
        "base64 of PII rows": base64.b64encode(pii.encode()).decode()[:MB],
        "hex of PII rows": pii.encode().hex()[:MB],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    from jupyter_guard.hooks import exits
    from jupyter_guard.kernel.encoded_runs import shown
    from jupyter_guard.mask import text as mt

    exits.remember([f"user{i}@example.com" for i in range(30000)]
                   + [str(100000000 + i) for i in range(30000)])
    mt.KNOWN.append(exits.known_spans)   # as the kernel registers it
    settings = mt.MaskSettings()
    res: dict[str, Any] = {}
    for name, text in texts().items():
        times: dict[str, list[float]] = {"mask_text": [], "shown": []}
        for _ in range(a.repeat):
            for how, fn in (("mask_text", mt.mask_text), ("shown", shown)):
                c = time.process_time()
                fn(text, settings)
                times[how].append((time.process_time() - c) * 1000)
        med = {k: statistics.median(v) for k, v in times.items()}
        res[name] = {**{f"{k}_ms": round(v, 1) for k, v in med.items()},
                     "added_ms": round(med["shown"] - med["mask_text"], 1)}
    print(json.dumps(res, indent=2) if a.json else "\n".join(f"{k}: {v}" for k, v in res.items()))


if __name__ == "__main__":
    main()
