"""Cost of trunc19's rules (``known_cut``: a digit cut at an end, decimals, filler, character
codes; ``known_email_cut``) on plain work, before and after, in real kernels: a plain kernel, one
guarded by this tree and one guarded by ``--before REF`` (default ``main``), cells interleaved
under the same load (``bench_stream.paired``), 10,000 SSNs fetched from a sensitive column first
(so the rules run): a 1 MB ``to_csv`` of a frame with ids, amounts, eight-digit invoice numbers
and dates, and a print of 10,000 lines of it. In process: ``known_cut.spans`` on that text.

    .venv/bin/python benchmarks/bench_trunc19.py [--repeat 7] [--before main] [--json]
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_files18 import SETUP as FILES18_SETUP  # noqa: E402
from bench_stream import ab_main, interleaved  # noqa: E402

FRAME = """
n = len(big)
big['invoice'] = 51234567 + np.arange(n) * 7919 % 40000000
big['day'] = 20000101 + (np.arange(n) % 28)
text = big.to_csv()
lines = '\\n'.join(text.splitlines()[:10_000])
"""
SETUP = FILES18_SETUP + FRAME
CELLS = {
    "to_csv of 1 MB": "big.to_csv(P + '.csv')",
    "print of 10,000 lines": "print(lines)",
}


def in_process(repeat: int) -> dict[str, float]:
    """``known_cut.spans`` on the cells' text, 10,000 random SSNs known."""
    import random

    import numpy as np
    import pandas as pd

    from jupyter_guard.hooks import exits, known_cut

    rng = random.Random(1)
    exits.remember([f"{rng.randint(100000000, 899999999)}" for _ in range(10_000)])
    ns: dict[str, Any] = {"np": np, "pd": pd}
    exec(FILES18_SETUP.split("con = duckdb")[0].replace(
        "import pickle, duckdb, pandas as pd, numpy as np", "") + FRAME, ns)
    text = ns["text"]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        assert known_cut.spans(text, exits.known) == []
        times.append((time.perf_counter() - t) * 1000)
    return {"csv_bytes": len(text), "spans_ms": statistics.median(times)}


def main() -> None:
    ab_main(__doc__ or "", lambda repeat, before: {
        "in_process": in_process(repeat), "kernel": interleaved(CELLS, repeat, SETUP, before)})


if __name__ == "__main__":
    main()
