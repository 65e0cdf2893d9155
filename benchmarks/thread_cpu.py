"""In-process timing shared by the benchmarks that time one reading at a time: the best CPU
time of this thread over ``n`` runs (other threads' and processes' work is not counted, so a
loaded machine moves it little), and a stream's text fed to a ``Tail`` in pieces.

The folder is not a package: a benchmark imports this as ``thread_cpu`` (its own folder is
first on ``sys.path`` when it runs as a script).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def cpu(fn: Callable[[], object], n: int = 7) -> float:
    """The best of ``n`` runs of ``fn``, in ms of this thread's CPU time."""
    best = float("inf")
    for _ in range(n):
        start = time.thread_time()
        fn()
        best = min(best, time.thread_time() - start)
    return best * 1000


def through(tail: Any, data: str, piece: int = 4096) -> None:
    """``data`` written to ``tail`` (a ``digit_lines.Tail``) ``piece`` characters at a time, then
    the stream's end."""
    for i in range(0, len(data), piece):
        tail.take(data[i:i + piece])
    tail.take("", end=True)
