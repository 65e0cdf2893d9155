"""Cost of reading a binary write's numbers as derived known values (``hooks/known_binary``):
a 10 MB ``np.save`` of random floats and a 1e6-row parquet write (order ids and amounts),
each timed plain and with the check the guard adds (10,000 known SSNs), in the same run; and
the check alone on 1 MB of int64 and on its worst case, 10 MB of small ``uint8`` labels.

    python benchmarks/bench_bin20.py
"""
from __future__ import annotations

import io
import os
import statistics
import tempfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from jupyter_guard.hooks import known_binary


def _median(fn: object, n: int = 5) -> float:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - t)
    return statistics.median(out) * 1000


def main() -> None:
    rng = np.random.default_rng(0)
    known = np.unique(rng.integers(100_000_000, 1_000_000_000, 10_000))
    arr = rng.random(1_250_000)   # 10 MB of float64
    table = pa.table({"order_id": np.arange(1_000_000),
                      "amount": np.round(rng.random(1_000_000) * 500, 2)})
    with tempfile.TemporaryDirectory() as d:
        npy, pqf = os.path.join(d, "a.npy"), os.path.join(d, "t.parquet")
        buf = io.BytesIO()
        np.save(buf, arr)
        data = buf.getvalue()
        save = _median(lambda: np.save(npy, arr))
        check = _median(lambda: known_binary.found(data, known))
        write = _median(lambda: pq.write_table(table, pqf))
        frame = _median(lambda: _in_table(table, known))
    print(f"np.save 10 MB: plain {save:.1f} ms, check {check:.1f} ms, x{(save + check) / save:.2f}")
    print(f"parquet 1e6 rows: plain {write:.1f} ms, check {frame:.1f} ms, "
          f"x{(write + frame) / write:.2f}")
    for name, other in (("1 MB int64", rng.integers(0, 2**40, 125_000)),
                        ("10 MB uint8 labels 0-11 (worst case)",
                         rng.integers(0, 12, 10_000_000).astype(np.uint8))):
        buf = io.BytesIO()
        np.save(buf, other)
        data = buf.getvalue()
        print(f"{name}: check {_median(lambda: known_binary.found(data, known), 3):.1f} ms")


def _in_table(table: pa.Table, known: np.ndarray) -> None:
    t = known_binary.Tally()
    for col in known_binary._columns(table, 4_000_000):
        known_binary.array(col, t, known)
    t.judged(known)


if __name__ == "__main__":
    main()
