"""Cost of the guard on pyarrow's I/O layer: ``pq.write_table`` of 1e6 non-sensitive rows (and a
``LocalFileSystem`` stream write of 8 MB, beside Python's ``open`` writing the same) in a guarded kernel and in a plain one, same run,
median of ``--repeat`` writes each.

    python benchmarks/bench_arrow23.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.kernelutil import Kernel

SETUP = """import time, statistics, pyarrow as pa, pyarrow.parquet as pq, pyarrow.fs as pfs
n = 1_000_000
t = pa.table({'id': pa.array(range(n)), 'city': pa.array(['Paris', 'Lyon', 'Nice'] * (n // 3)
              + ['Paris'] * (n % 3)), 'amount': pa.array([i * 1.5 for i in range(n)])})
blob = b'0123456789abcdef' * (1 << 19)
"""
RUN = """def timed(f, k):
    out = []
    for _ in range(k):
        s = time.perf_counter(); f(); out.append(time.perf_counter() - s)
    return statistics.median(out)
def py_open():
    with open('p.bin', 'wb') as f:
        f.write(blob)
def stream():
    with pfs.LocalFileSystem().open_output_stream('s.bin') as f:
        f.write(blob)
print('RESULT', __import__('json').dumps({'write_table': timed(lambda: pq.write_table(t, 'w.pq'),
      {k}), 'stream_8mb': timed(stream, {k}),
      'open_8mb': timed(py_open, {k})}))
"""


def measure(guarded: bool, repeat: int) -> dict[str, float]:
    d = Path(tempfile.mkdtemp(prefix="bench_arrow23_"))
    k = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb"), "JUPYTER_GUARD_POLICY": None})
    try:
        if guarded:
            k.ok("%load_ext jupyter_guard")
        k.ok(SETUP)
        text = k.ok(RUN.replace("{k}", str(repeat))).text
        return dict(json.loads(text.split("RESULT", 1)[1].strip().splitlines()[0]))
    finally:
        k.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    plain, guarded = measure(False, a.repeat), measure(True, a.repeat)
    for name in plain:
        print(f"{name}: plain {plain[name] * 1000:.1f} ms, guarded {guarded[name] * 1000:.1f} ms,"
              f" x{guarded[name] / plain[name]:.2f}")


if __name__ == "__main__":
    main()
