"""``mask_text`` on 1 MB of each form, before and after a change, against a ``str.replace``
pass over the same text, in one process (calls interleaved, median CPU ms of this thread).

Forms: ordinary prose, CSV of numbers, JSON, log lines, the issue's hostile forms, text full
of values, and look-alikes of one kind (cards after commas, glued, failing Luhn). ``--onepass``
adds what one compiled RE2 alternation of every default detector's prefilter (named groups)
costs to list its hits, with no check run on them: the floor of a design that finds every
candidate in one pass and checks each in Python (quadratic on runs: measured on 128 KB first,
and left out where that already takes over 50 ms).

    .venv/bin/python benchmarks/bench_mask19.py [--before c871697] [--repeat 7] [--onepass]
"""
from __future__ import annotations

import argparse
import importlib
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_stream import csv_rows, ordinary, pii_rows  # noqa: E402
from bench_text_ab import MB, fill, old_package  # noqa: E402


def _json() -> str:
    rng, out, n = random.Random(19), [], 0
    while n < MB:
        r = (f'{{"id": {rng.randrange(10**6)}, "name": "item {rng.randrange(999)}", '
             f'"price": {rng.random() * 100:.2f}, "tags": ["a", "b"], "ok": true}},\n')
        out.append(r)
        n += len(r)
    return "[" + "".join(out)[:MB - 2] + "]"


def _logs() -> str:
    rng, out, n = random.Random(19), [], 0
    while n < MB:
        r = (f"2024-05-{rng.randrange(1, 29):02d}T12:{rng.randrange(60):02d}:"
             f"{rng.randrange(60):02d}Z INFO worker-{rng.randrange(8)} request "
             f"{rng.randrange(10**8)} took {rng.randrange(999)} ms from 10.0.{rng.randrange(255)}"
             f".{rng.randrange(255)} path=/api/v1/items/{rng.randrange(10**5)}\n")
        out.append(r)
        n += len(r)
    return "".join(out)[:MB]


def _numbers() -> str:
    rng, out, n = random.Random(19), [], 0
    while n < MB:
        r = ",".join(f"{rng.random() * 10**rng.randrange(1, 7):.3f}" for _ in range(8)) + "\n"
        out.append(r)
        n += len(r)
    return "".join(out)[:MB]


FORMS: dict[str, Callable[[], str]] = {
    "ordinary prose": lambda: ordinary(MB),
    "CSV rows (bench_stream)": lambda: csv_rows(MB),
    "CSV of numbers": _numbers,
    "JSON records": _json,
    "log lines": _logs,
    "hostile '1 ' + 'a/'*n + '-'": lambda: "1 " + "a/" * (MB // 2 - 2) + "-",
    "hostile '@ ' + '%a'*n": lambda: "@ " + "%a" * (MB // 2 - 1),
    "hostile '1-'*n": lambda: fill("1-"),
    "hostile 'A-'*n": lambda: fill("A-"),
    "hostile 'a'*n": lambda: fill("a"),
    "PII on every line (e-mail, SSN, phone)": lambda: pii_rows(MB),
    "valid cards side by side": lambda: fill("4111 1111 1111 1111 "),
    "key=value secrets, space apart": lambda: fill("password=hunter22 "),
    "IBANs with spaces, side by side": lambda: fill("DE89 3704 0044 0532 0130 00 "),
    "cards after commas (look-alikes)": lambda: fill("4111 1111 1111 1111,"),
    "cards glued (look-alikes)": lambda: fill("4111 1111 1111 1111"),
    "Luhn failures glued": lambda: fill("4111 1111 1111 1112"),
    "Luhn failures after commas": lambda: fill("4111 1111 1111 1112,"),
}


def _median_ms(runs: list[float]) -> float:
    return statistics.median(runs) * 1000


def onepass(text: str) -> tuple[float, int] | None:
    """CPU ms and hits of listing one RE2 alternation's matches over ``text`` (None where 128
    KB already takes over 50 ms: the listing is quadratic there)."""
    import re2

    from jupyter_guard.mask.detect import DEFAULT_DETECTORS, DETECTORS
    from jupyter_guard.mask.patterns import PREFILTER

    alt = "|".join(f"(?P<{n}>{PREFILTER.get(n, DETECTORS[n].candidate)})"
                   for n in DEFAULT_DETECTORS)
    options = re2.Options()
    options.max_mem = 64 << 20
    match = re2.compile(alt, options=options)._regexp.Match
    anchor = re2._re2.RE2.Anchor.UNANCHORED

    def listing(data: bytes) -> int:
        pos, end, hits = 0, len(data), 0
        while True:
            a, b = match(anchor, data, pos, end)[0]
            if a < 0:
                return hits
            hits += 1
            pos = b if b > pos else pos + 1

    data = text.encode("utf-8", "surrogatepass")
    c = time.thread_time()
    listing(data[:128 << 10])
    if time.thread_time() - c > 0.05:
        return None
    runs, hits = [], 0
    for _ in range(3):
        c = time.thread_time()
        hits = listing(data)
        runs.append(time.thread_time() - c)
    return _median_ms(runs), hits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="c871697", help="git revision to compare with")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--onepass", action="store_true")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    from jupyter_guard.mask.text import MaskSettings, mask_text

    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        old = importlib.import_module(old_package(a.before, Path(tmp)) + ".text")
        before, after = old.MaskSettings(), MaskSettings()
        for name, make in FORMS.items():
            text = make()
            if old.mask_text(text, before) != mask_text(text, after):
                raise SystemExit(f"{name}: the two versions mask differently")
            t_old, t_new, t_plain = [], [], []
            for _ in range(a.repeat):
                c = time.thread_time()
                old.mask_text(text, before)
                t_old.append(time.thread_time() - c)
                c = time.thread_time()
                mask_text(text, after)
                t_new.append(time.thread_time() - c)
                c = time.thread_time()
                text.replace("@", "#")
                t_plain.append(time.thread_time() - c)
            rows[name] = {"before_ms": _median_ms(t_old), "after_ms": _median_ms(t_new),
                          "replace_ms": _median_ms(t_plain)}
            if a.onepass:
                rows[name]["onepass"] = onepass(text)
    if a.json:
        print(json.dumps(rows, indent=2))
        return
    head = "| 1 MB of | before (ms CPU) | after (ms CPU) | `str.replace` (ms CPU) |"
    print(head + (" one RE2 alternation, hits listed (ms CPU) |" if a.onepass else ""))
    print("|---|---:|---:|---:|" + ("---:|" if a.onepass else ""))
    for name, r in rows.items():
        line = f"| {name} | {r['before_ms']:.1f} | {r['after_ms']:.1f} | {r['replace_ms']:.2f} |"
        if a.onepass:
            got = r["onepass"]
            line += (" over 50 ms at 128 KB (quadratic) |" if got is None
                     else f" {got[0]:.1f} ({got[1]:,} hits) |")
        print(line)


if __name__ == "__main__":
    main()
