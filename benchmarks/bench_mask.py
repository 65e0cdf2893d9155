"""Display cost with and without masking: plain ``_repr_html_`` vs the guard's formatter.

    .venv/bin/python benchmarks/bench_mask.py [--sizes 1000 ... ] [--repeat 15] [--json]

Both run in the same process on the same frame (emails, SSNs, cards, phones, city, amount).
"display" is what a notebook renders for one output: text/plain and text/html together.
Target: masked/plain median ratio <= 1.2 at every size.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import numpy as np
import pandas as pd

from jupyter_guard.mask.render import frame_html, frame_text, one_display
from jupyter_guard.mask.settings import MaskSettings


def customers(n: int) -> pd.DataFrame:
    """``n`` rows built by tiling a small sample (building 10^7 unique strings is slow)."""
    base = 1000
    i = np.arange(base)
    sample = pd.DataFrame({
        "email": [f"user{k}@example.com" for k in i],
        "ssn": [f"{100 + k % 800:03d}-{10 + k % 89:02d}-{1000 + k:04d}" for k in i],
        "card": ["4111 1111 1111 1111", "5555-5555-5555-4444"] * (base // 2),
        "phone": [f"+44 20 7946 {k:04d}" for k in i],
        "city": np.resize(["Paris", "Oslo", "Kyoto", "Lima"], base),
        "amount": np.round(np.linspace(1, 999, base), 2),
    })
    reps = -(-n // base)
    idx = np.tile(np.arange(base), reps)[:n]
    return sample.iloc[idx].reset_index(drop=True)


def paired_ms(plain: Any, masked: Any, repeat: int) -> tuple[float, float]:
    """Median ms of each, calls alternating so that drift affects both alike."""
    plain(), masked()  # warm up
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, out in ((plain, times[0]), (masked, times[1])):
            t0 = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def run(sizes: list[int], repeat: int) -> list[dict[str, Any]]:
    settings = MaskSettings()
    return [_row(n, settings, repeat) for n in sizes]


def _row(n: int, settings: MaskSettings, repeat: int) -> dict[str, Any]:
    """One size's figures; the frame is freed when this returns, before the next size is built."""
    df = customers(n)
    assert "user0@example.com" not in (frame_html(df, settings) or "")
    plain, masked = paired_ms(df._repr_html_, lambda: frame_html(df, settings), repeat)
    plain_t, masked_t = paired_ms(lambda: repr(df), lambda: frame_text(df, settings), repeat)

    def display() -> None:  # what a notebook display renders: text/plain and text/html
        with one_display():
            frame_text(df, settings)
            frame_html(df, settings)
    plain_d, masked_d = paired_ms(lambda: (repr(df), df._repr_html_()), display, repeat)
    return {"rows": n, "html_plain_ms": round(plain, 3), "html_masked_ms": round(masked, 3),
            "html_ratio": round(masked / plain, 3), "text_plain_ms": round(plain_t, 3),
            "text_masked_ms": round(masked_t, 3), "text_ratio": round(masked_t / plain_t, 3),
            "display_plain_ms": round(plain_d, 3), "display_masked_ms": round(masked_d, 3),
            "display_ratio": round(masked_d / plain_d, 3)}


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| rows | html plain ms | html masked ms | ratio | text plain ms | text masked ms | ratio "
             "| display (text+html) plain ms | masked ms | ratio |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['rows']:,} | {r['html_plain_ms']:.2f} | {r['html_masked_ms']:.2f} | "
                     f"×{r['html_ratio']:.2f} | {r['text_plain_ms']:.2f} | "
                     f"{r['text_masked_ms']:.2f} | ×{r['text_ratio']:.2f} | {r['display_plain_ms']:.2f} | "
                     f"{r['display_masked_ms']:.2f} | ×{r['display_ratio']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10**3, 10**4, 10**5, 10**6, 10**7])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    args = parser.parse_args()
    rows = run(args.sizes, args.repeat)
    print(json.dumps(rows, indent=2) if args.json else markdown(rows))


if __name__ == "__main__":
    main()
