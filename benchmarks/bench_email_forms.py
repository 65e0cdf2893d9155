"""The cost of looking for respelt known e-mails (``hooks/known_emails.py``) on a 10,000-row
fetch and print: 10,000 e-mails remembered (the fetch), then the printed list of them masked
(``mask_text``, the stream path) and scanned at an exit (``exits.scan``), and the same for a
print of 10,000 rows of non-sensitive columns; each with the e-mail forms looked for (``on``)
and not (``off``: ``known_emails.found`` answering nothing), in one process, calls
alternating, median wall time. After each fetch and first print the automaton built in the
background (``known_emails.Build``) is waited for, outside the time measured: a kernel
idles between two cells; the time left of the build then is printed too.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_email_forms.py [--repeat 7]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jupyter_guard.hooks import exits, known_emails
from jupyter_guard.mask import text as mask_text_module
from jupyter_guard.mask.text import MaskSettings, mask_text

ROWS = 10_000


def _off(text: str, values: Any) -> list[tuple[int, int, str]]:
    return []


def _idle(times: dict[tuple[str, str], list[float]], mode: str) -> None:
    """The kernel's idle time between two cells: the automaton built in the background
    (``known_emails.Build``) finishes there, not in the next measured call."""
    job = getattr(known_emails.FOLLOW.index, "job", None)
    if mode == "on" and job is not None:
        t = time.perf_counter()
        job.wait()
        times.setdefault(("(background build left after the cell)", mode), []).append(
            time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    emails = [f"user{i}@example.com" for i in range(ROWS)]
    plain = [(i, ["Paris", "Lyon", "Nice"][i % 3], round(i * 1.5, 2)) for i in range(ROWS)]
    texts = {"e-mails printed": str(emails),
             "e-mails upper, '@' as AT": str([e.upper().replace("@", " AT ") for e in emails]),
             "plain columns printed": str(plain)}
    settings = MaskSettings()
    on = known_emails.found
    for f in (exits.known_spans, exits.grouped_spans):
        if f not in mask_text_module.KNOWN:
            mask_text_module.KNOWN.append(f)
    exits.known.clear()
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.repeat):   # the fetch: remember, then the first print
        for mode, fn in (("off", _off), ("on", on)):
            known_emails.found = fn
            exits.known.clear()
            t = time.perf_counter()
            exits.remember(emails)
            mask_text(texts["plain columns printed"], settings)
            times.setdefault(("fetch + first print", mode), []).append(time.perf_counter() - t)
            _idle(times, mode)
    for _ in range(args.repeat):
        for name, text in texts.items():
            for mode, fn in (("off", _off), ("on", on)):
                known_emails.found = fn
                t = time.perf_counter()
                masked = mask_text(text, settings)
                t2 = time.perf_counter()
                exits.scan(text, settings)
                t3 = time.perf_counter()
                times.setdefault((f"print: {name}", mode), []).append(t2 - t)
                times.setdefault((f"exit: {name}", mode), []).append(t3 - t2)
                if mode == "on" and name.startswith("e-mails"):
                    assert "user1" not in masked.casefold(), masked[:200]
    known_emails.found = on
    print(f"{'text (10,000 rows)':40} {'off ms':>9} {'on ms':>9} {'ratio':>7}")
    if ("(background build left after the cell)", "on") in times:
        left = statistics.median(times[("(background build left after the cell)", "on")])
        print(f"{'(background build left after the cell)':40} {'':>9} {left * 1e3:9.1f}")
    for name in ["fetch + first print", *(f"{k}: {n}" for k in ("print", "exit")
                                          for n in texts)]:
        a = statistics.median(times[(name, "off")]) * 1e3
        b = statistics.median(times[(name, "on")]) * 1e3
        print(f"{name:40} {a:9.1f} {b:9.1f} {b / a:7.2f}")


if __name__ == "__main__":
    main()
