"""Cost of leaks17's exits on plain work, before and after, in real kernels: a plain kernel, one
guarded by this tree and one guarded by ``--before REF`` (default ``main``), cells interleaved
under the same load (``bench_stream.paired``): a 10,000-line ``print``, a 1 MB ``to_csv``, a
10,000-row ``json.dump`` and ``pickle.dump`` to files, and 200 one-character displays
with prints between (the displays read in the streams' order). In process: ``joined_pieces``
on a 10,000-row pickle of 4-character codes with 20,000 values known.

    .venv/bin/python benchmarks/bench_leaks17.py [--repeat 7] [--before main] [--json]
"""
from __future__ import annotations

import pickle
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_stream import ab_main, interleaved  # noqa: E402

SETUP = """
import json, pickle, pandas as pd, numpy as np
n = 20_000
big = pd.DataFrame({'id': np.arange(n), 'amount': np.arange(n) * 1.25,
                    'city': np.array(['Paris', 'Lyon', 'Nice', 'Lille'])[np.arange(n) % 4],
                    'sku': [f'SKU-{i:06d}' for i in range(n)]})
rows = big.head(10_000).to_dict('records')
codes = [[f'{i % 9000 + 1000:04d}', f'{i % 7000 + 2000:04d}'] for i in range(10_000)]
P = 'bench17'
"""
CELLS = {
    "print of 10,000 lines": "for i in range(10_000):\n    print(f'row {i}: amount {i * 1.25:.2f}')",
    "to_csv of 1 MB": "big.to_csv(P + '.csv')",
    "json.dump of 10,000 rows": "with open(P + '.json', 'w') as f:\n    json.dump(rows, f)",
    "pickle.dump of 10,000 code pairs": "with open(P + '.pkl', 'wb') as f:\n"
                                        "    pickle.dump(codes, f)",
    "200 one-char displays between prints": "for i in range(400):\n"
                                            "    display(str(i % 10)) if i % 2 else print(i % 10)",
}


def in_process(repeat: int) -> dict[str, float]:
    """``joined_pieces.found`` on a 10,000-row pickle of code pairs, 20,000 values known."""
    from jupyter_guard.hooks import exits, joined_pieces

    exits.remember([f"user{i}@example.com" for i in range(10_000)]
                   + [f"{100000000 + i:09d}" for i in range(10_000)])
    data = pickle.dumps([[f"{i % 9000 + 1000:04d}", f"{i % 7000 + 2000:04d}"]
                         for i in range(10_000)])
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        assert joined_pieces.found(data) == []
        times.append((time.perf_counter() - t) * 1000)
    return {"pickle_bytes": len(data), "found_ms": statistics.median(times)}


def kernels(repeat: int, before: str) -> dict[str, Any]:
    return interleaved(CELLS, repeat, SETUP, before)


def main() -> None:
    ab_main(__doc__ or "", lambda repeat, before: {
        "in_process": in_process(repeat), "kernel": kernels(repeat, before)})

if __name__ == "__main__":
    main()
