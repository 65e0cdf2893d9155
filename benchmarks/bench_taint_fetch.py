"""Costs added by result taint and the exits below ``open`` (in-process, CPU time, best of N):

- masking 1 MB of plain printed text with no known values, and with 100,000 values read from
  sensitive columns registered (the known-value pass every printed or displayed text then gets);
- fetching 100,000 rows as a frame (``con.execute(q).df()``) without the guard's fetch hook,
  with it for a plain query (taint analysis only), and with it for a query with a derived
  sensitive column (marks plus 100,000 values remembered);
- one ``os.write`` of 64 bytes to /dev/null, raw and through the guard's wrapper called from
  library code (the frame walk that finds no cell).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_taint_fetch.py [--json] [--repeat 5]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Any


def best(fn: Any, repeat: int) -> float:
    out = []
    for _ in range(repeat):
        t = time.process_time()
        fn()
        out.append(time.process_time() - t)
    return min(out) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    import duckdb

    from jupyter_guard.hooks import exit_streams, exits, result_taint
    from jupyter_guard.mask import text as mask_text
    from jupyter_guard.mask.text import MaskSettings
    from jupyter_guard.policy.load import default_path, load

    res: dict[str, float] = {}
    rows = [f"{i},{i * 1.25:.2f},{('Paris', 'Lyon', 'Nice')[i % 3]},PRD-{i:06d},2026-01-01"
            for i in range(25_000)]
    text = "\n".join(rows)[:1_000_000]
    s = MaskSettings()
    if exits.known_spans not in mask_text.KNOWN:
        mask_text.KNOWN.append(exits.known_spans)
    res["mask_1mb_no_known_ms"] = best(lambda: mask_text.mask_text(text, s), a.repeat)
    exits.remember(f"{100000000 + i:09d}" for i in range(100_000))
    res["mask_1mb_100k_known_ms"] = best(lambda: mask_text.mask_text(text, s), a.repeat)
    exits.known.clear()

    d = tempfile.mkdtemp()
    con = duckdb.connect(os.path.join(d, "w.duckdb"))
    con.execute("CREATE TABLE customers AS SELECT range AS id, lpad(CAST(100000000 + range AS "
                "VARCHAR), 9, '0') AS ssn, range * 1.5 AS amount FROM range(100000)")

    class G:
        policy = load(default_path())

    plain, derived = ("SELECT id, amount FROM customers",
                      "SELECT id, replace(ssn, '-', '') AS k FROM customers")
    res["fetch_100k_plain_raw_ms"] = best(lambda: con.execute(plain).df(), a.repeat)
    res["fetch_100k_derived_raw_ms"] = best(lambda: con.execute(derived).df(), a.repeat)

    def hooked(q: str) -> None:
        out = con.execute(q).df()
        result_taint.fetched(out, "df", q, [con], [str(c) for c in out.columns], G())
    res["fetch_100k_plain_hooked_ms"] = best(lambda: hooked(plain), a.repeat)
    res["fetch_100k_derived_hooked_ms"] = best(lambda: hooked(derived), a.repeat)

    class FX:
        class rt:
            @staticmethod
            def user_stack(frame: Any) -> bool:
                while frame is not None:
                    if frame.f_code.co_filename.startswith("<ipython-input"):
                        return True
                    frame = frame.f_back
                return False

    o_write = os.write
    originals = {"write": os.write, "pwrite": os.pwrite, "writev": os.writev}
    fd = os.open(os.devnull, os.O_WRONLY)
    patched: dict[Any, Any] = {}
    exit_streams._os_writes(exit_streams._checker(FX), patched)
    data, n = b"x" * 64, 100_000
    try:
        res["os_write_raw_us"] = best(lambda: [o_write(fd, data) for _ in range(n)], a.repeat) \
            * 1000 / n
        res["os_write_wrapped_us"] = best(lambda: [os.write(fd, data) for _ in range(n)],
                                          a.repeat) * 1000 / n
    finally:
        for (mod, name), _fn in patched.items():
            setattr(mod, name, originals[name])
        os.close(fd)
    if a.json:
        json.dump(res, sys.stdout)
    else:
        for k, v in res.items():
            print(f"{k:32s} {v:9.3f}")


if __name__ == "__main__":
    main()
