"""The kernel's finder of known values (``hooks/exits.py`` ``known_spans``) on 1 MB texts, against
its regex form (the tokens' places from ``_PRINTED.finditer``, a Python step per token), in one
process, calls alternating, median CPU time; the spans must be equal.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_known_ab.py [--repeat 7]
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jupyter_guard.hooks import exits

MB = 1 << 20


def regex_form(text: str) -> list[tuple[int, int, str]]:
    """``known_spans`` before the numpy cut."""
    k, match = exits.known, exits._MATCH
    if not k:
        return []
    tokens = exits._PRINTED.findall(text)
    spans = ([] if k.isdisjoint(tokens) else
             [(m.start(), m.end(), "known") for m in exits._PRINTED.finditer(text)
              if m.group() in k])
    if "\\" in text:
        spans += [(m.start(), m.end(), "known") for m in exits._ESCAPED.finditer(text)
                  if m.group() in k]
    glued = "@" in text and text.count("@") > sum(text.count("@", a, b) for a, b, _ in spans)
    if glued or match.has_spaced() or not k.issuperset(t for t in tokens if len(t) >= 12):
        spans += [(a, b, "known") for a, b in match.glued(text)]
    return spans


def rows(template: str) -> str:
    out, size, n = [], 0, 0
    while size < MB:
        r = template.format(n=100000 + n * 7 % 900000, m=1000 + n * 13 % 9000)
        out.append(r)
        size, n = size + len(r), n + 1
    return "".join(out)[:MB]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    a = ap.parse_args()
    pii = rows("user{n}@example.com,123-45-{m},+44 20 7946 {m}\n")
    exits.known.clear()
    exits.remember(re.findall(r"user\d+@example\.com", pii))
    texts = {
        "PII rows, every e-mail known": pii,
        "PII rows, one e-mail known": pii.replace("user", "resu").replace(
            "resu100000@", "user100000@", 1),
        "CSV rows of ids and names, none known": rows("{n},name{m},{m}.50,2026-01-02\n"),
        "CSV rows, every id known": rows("{n},name{m},{m}.50,2026-01-02\n"),
    }
    print("| 1 MB of | regex form (ms CPU) | known_spans (ms CPU) |\n|---|---:|---:|")
    for name, text in texts.items():
        if name == "CSV rows, every id known":
            exits.remember(re.findall(r"^\d+", text, re.M))
        if regex_form(text) != exits.known_spans(text):
            raise SystemExit(f"{name}: the spans differ")
        before, after = [], []
        for _ in range(a.repeat):
            c = time.thread_time()
            regex_form(text)
            before.append(time.thread_time() - c)
            c = time.thread_time()
            exits.known_spans(text)
            after.append(time.thread_time() - c)
        print(f"| {name} | {statistics.median(before) * 1000:.1f} | "
              f"{statistics.median(after) * 1000:.1f} |")
    exits.known.clear()


if __name__ == "__main__":
    main()
