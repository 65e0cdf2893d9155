"""Cost of reading a binary write's numbers as derived known values (``hooks/known_binary``,
with ``known_binary_parts`` and ``known_binary_affine``): each file written plain and checked
(``known_binary.found`` on the bytes, 300 and 10,000 random known SSNs), in the same run,
medians of 5.

    python benchmarks/bench_bin22.py
"""
from __future__ import annotations

import io
import os
import statistics
import tempfile
import time
from collections.abc import Callable

import numpy as np

from jupyter_guard.hooks import known_binary


def _median(fn: Callable[[], object], n: int = 5) -> float:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out) * 1000


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def main() -> None:
    rng = np.random.default_rng(0)
    floats = rng.random(1_250_000)
    files = {
        "np.save 10 MB random floats": _npy(floats),
        "np.save 10 MB uint8 labels 0-11": _npy(rng.integers(0, 12, 10_000_000).astype(np.uint8)),
        "np.save 8 MB int64 counter": _npy(np.arange(1_000_000)),
        "write 10 MB random floats (raw bytes)": floats.tobytes(),
        "write 1 MB int64 (raw bytes)": rng.integers(0, 2**40, 125_000).tobytes(),
        "write 2 MB int16 sensor (raw bytes)":
            (1000 + 20 * rng.standard_normal(1_000_000)).astype(np.int16).tobytes(),
    }
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "f.bin")

        def write(data: bytes) -> None:
            with open(path, "wb") as f:
                f.write(data)
        for size in (300, 10_000):
            known = np.unique(rng.integers(100_000_000, 1_000_000_000, size))
            print(f"-- {size} known SSNs")
            for name, data in files.items():
                plain = _median(lambda: write(data))
                check = _median(lambda: known_binary.found(data, known))
                print(f"{name}: plain {plain:.1f} ms, check {check:.1f} ms, "
                      f"x{(plain + check) / plain:.1f}")


if __name__ == "__main__":
    main()
