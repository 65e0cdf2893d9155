"""Cost of leak15's readings, in CPU time of this thread (best of 7), in process:

- ``encoded85.loose`` (base85/Ascii85 runs with too few rare characters, read where an e-mail
  is known) on 1.5 MB of the exits' plain corpus as CSV and on 1.2 MB of Python source (dense
  with runs that hold ``(``, ``=``, ``;``);
- ``digit_lines.Tail`` (a stream's one-character lines held and read joined) on 1 MB of CSV
  lines and on 1 MB of one digit a line, in 4 KB pieces, with 10,000 SSNs known.

    .venv/bin/python benchmarks/bench_leak15.py
"""
from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jupyter_guard.hooks import encoded85, exits
from jupyter_guard.hooks.digit_lines import Tail
from tests.enforce.test_exit_false_positives import corpus


def cpu(fn: Callable[[], object], n: int = 7) -> float:
    best = float("inf")
    for _ in range(n):
        start = time.thread_time()
        fn()
        best = min(best, time.thread_time() - start)
    return best * 1000


def _through(data: str, piece: int = 4096) -> None:
    tail = Tail()
    for i in range(0, len(data), piece):
        tail.take(data[i:i + piece])
    tail.take("", end=True)


def main() -> None:
    values = corpus()
    csv = "\n".join(",".join(values[i:i + 6]) for i in range(0, len(values), 6))
    code = (Path(exits.__file__).read_text() * 60)
    print(f"encoded85.loose: {len(csv) / 1e6:.2f} MB corpus CSV {cpu(lambda: encoded85.loose(csv)):.1f}"
          f" ms CPU; {len(code) / 1e6:.2f} MB Python source "
          f"{cpu(lambda: encoded85.loose(code)):.1f} ms")
    exits.remember([f"{100000000 + n:09d}" for n in range(10000)])
    rng = random.Random(3)
    lines = "".join(f"{i},{rng.uniform(0, 1e5):.2f},user{i}@example.com,Paris\n"
                    for i in range(25_000))
    digits = "".join(f"{rng.randint(0, 9)}\n" for _ in range(500_000))
    print(f"digit_lines.Tail, 4 KB pieces, 10,000 SSNs known: {len(lines) / 1e6:.2f} MB CSV lines "
          f"{cpu(lambda: _through(lines)):.1f} ms CPU; {len(digits) / 1e6:.2f} MB of one digit a "
          f"line {cpu(lambda: _through(digits), 3):.0f} ms")


if __name__ == "__main__":
    main()
