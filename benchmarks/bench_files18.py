"""Cost of files18's numeric-piece check (``file_pieces``) on plain work, before and after, in
real kernels: a plain kernel, one guarded by this tree and one guarded by ``--before REF``
(default ``main``), cells interleaved under the same load (``bench_stream.paired``), 10,000
SSNs fetched from a sensitive column first (so the check runs): a 1 MB ``to_csv`` of a frame
with integer columns, the same text written with ``open().write``, a 10,000-row ``pickle.dump``
of integer rows. In process: ``file_pieces.found`` on that text and pickle and ``in_frame`` on
that frame, with 10,000 random SSNs known.

    .venv/bin/python benchmarks/bench_files18.py [--repeat 7] [--before main] [--json]
"""
from __future__ import annotations

import pickle
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_stream import ab_main, interleaved  # noqa: E402

FRAME = """
import pickle, duckdb, pandas as pd, numpy as np
n = 20_000
r = np.random.RandomState(0)
big = pd.DataFrame({'id': np.arange(n), 'amount': np.arange(n) * 1.25,
                    'city': np.array(['Paris', 'Lyon', 'Nice', 'Lille'])[np.arange(n) % 4],
                    'sku': [f'SKU-{i:06d}' for i in range(n)],
                    'zip': r.randint(10000, 99999, n), 'year': r.randint(1950, 2025, n)})
rows = big[['id', 'zip', 'year']].head(10_000).values.tolist()
text = big.to_csv()
P = 'bench18'
"""
SETUP = FRAME + """
con = duckdb.connect()
con.execute("CREATE OR REPLACE TABLE customers AS SELECT range AS id, "
            "lpad(CAST(100000000 + (range * 79153) % 800000000 AS VARCHAR), 9, '0') AS ssn "
            "FROM range(10000)")
try:
    got = len(con.sql('SELECT ssn FROM customers').df())
except Exception:
    got = 0
"""
CELLS = {
    "to_csv of 1 MB": "big.to_csv(P + '.csv')",
    "open().write of 1 MB CSV text": "with open(P + '.txt', 'w') as f:\n    f.write(text)",
    "pickle.dump of 10,000 int rows": "with open(P + '.pkl', 'wb') as f:\n"
                                      "    pickle.dump(rows, f)",
}


def in_process(repeat: int) -> dict[str, float]:
    """``file_pieces`` on the cells' data, 10,000 random SSNs known."""
    import numpy as np
    import pandas as pd

    from jupyter_guard.hooks import exits, file_pieces

    rng = random.Random(1)
    exits.remember([f"{rng.randint(100000000, 899999999)}" for _ in range(10_000)])
    ns: dict[str, Any] = {"np": np, "pd": pd}
    exec(FRAME.replace("import pickle, duckdb, pandas as pd, numpy as np", ""), ns)
    text, data, big = ns["text"].encode(), pickle.dumps(ns["rows"]), ns["big"]
    out: dict[str, float] = {"csv_bytes": len(text), "pickle_bytes": len(data)}
    for name, fn in (("csv_text_ms", lambda: file_pieces.found(text)),
                     ("pickle_ms", lambda: file_pieces.found(data)),
                     ("frame_ms", lambda: file_pieces.in_frame(big))):
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            assert fn() == []
            times.append((time.perf_counter() - t) * 1000)
        out[name] = statistics.median(times)
    return out


def main() -> None:
    ab_main(__doc__ or "", lambda repeat, before: {
        "in_process": in_process(repeat), "kernel": interleaved(CELLS, repeat, SETUP, before)})

if __name__ == "__main__":
    main()
