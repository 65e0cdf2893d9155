"""Cost of reading known numbers cut in digit groups (``hooks/known_grouped.py``) at the exits:
``exits.scan`` of 1 MB of dated CSV rows (ids, amounts, timestamps, product codes, IP
addresses: dense with digit groups, the worst case) with no known value, with 10,000 known
SSNs and the digit-group reading off, and on; in CPU time of this thread (best of 7), in
process.

    .venv/bin/python benchmarks/bench_known_grouped.py
"""
from __future__ import annotations

from thread_cpu import cpu  # the folder is not a package

from jupyter_guard.hooks import exits, known_grouped
from jupyter_guard.mask.text import MaskSettings


def main() -> None:
    rows = (f"{n},{n * 1.5:.2f},2024-01-{n % 28 + 1:02d} 10:30:00,SKU-{n:05d}-XL,"
            f"10.0.{n % 255}.{n % 200}" for n in range(17000))
    csv = "\n".join(rows)
    settings = MaskSettings()
    plain = cpu(lambda: exits.scan(csv, settings, decode=True))
    exits.remember([f"{100000000 + n:09d}" for n in range(10000)])
    exits.numbers[0] = False
    tokens = cpu(lambda: exits.scan(csv, settings, decode=True))
    exits.numbers[0] = True
    grouped = cpu(lambda: exits.scan(csv, settings, decode=True))
    alone = cpu(lambda: known_grouped.grouped(csv, exits.known, exits.digit_lengths))
    print(f"exits.scan, {len(csv) / 1e6:.2f} MB dated CSV: no known value {plain:.1f} ms CPU; "
          f"10,000 known SSNs, digit groups off {tokens:.1f} ms, on {grouped:.1f} ms "
          f"(x{grouped / tokens:.2f}); the digit-group reading alone {alone:.1f} ms")


if __name__ == "__main__":
    main()
