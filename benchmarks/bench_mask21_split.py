"""Issue 21: whether the secret detector's one ``re.split`` pass (the bulk path's, with its
possessive runs and look-arounds) would be cheaper with RE2 finding the matches. RE2 has no
look-arounds: the pattern below is the split's without them (the left boundary consumed, each
key word's letters spelt as classes, ``\\s`` as the six ASCII spaces, runs unbounded), so it
finds a superset of the same matches that a caller would then confirm at their edges. This
measures only the cheapest part of that, RE2 listing its matches, against the whole ``re``
split, per 1 MB form of ``mask_search.py`` (median CPU ms of ``--repeat`` runs), in three ways:
google-re2's ``finditer`` on the text, its raw ``Match`` loop on ASCII bytes (no match objects,
as ``scan._candidates``), and one ``search`` (whether there is any match at all).

    .venv/bin/python benchmarks/bench_mask21_split.py [--repeat 3] [--only secret]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from mask_search import forms  # noqa: E402

from jupyter_guard.mask.patterns import PRECISE  # noqa: E402
from jupyter_guard.mask.splits import _bounded  # noqa: E402

_S = r"[\t\n\x0b\x0c\r ]"
_KEYS = "|".join(
    "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in w)
    for w in ("password", "passwd", "pwd", "secret", "token", "api[_-]?key", "access[_-]?key",
              "auth"))
RE2_SECRET = (r"(\W(?:" + _KEYS + r")[\"']?" + _S + r"*[:=]" + _S + r"*[\"']?"
              r"([^\t\n\x0b\x0c\r \"',;]{4,})"
              r"|[^\w/+-](?:sk-(?:proj-)?[A-Za-z0-9_-]{20,}|sk_live_\w{16,}|rk_live_\w{16,}"
              r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_\w{40,}|glpat-[\w-]{20}"
              r"|xox[bpars]-[A-Za-z0-9-]{10,}|(?:AKIA|ASIA)[0-9A-Z]{16}|AIza[\w-]{35}"
              r"|eyJ[\w-]{5,}\.eyJ[\w-]{5,}\.[\w-]{5,}"
              r"|-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----[^-]*-----END [A-Z ]{0,40}PRIVATE KEY-----"
              r"|[A-Za-z0-9_-]{32,}|[A-Za-z0-9+/]{40,}={0,2}))")
"""The bulk split's secret pattern (``splits._bounded``) without look-arounds nor possessive
runs, for RE2 (which has no ``(?i)`` limited to ASCII, no ``\\v`` in ``\\s``, no count over
1000)."""


def _cpu(f: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.thread_time()
        f()
        times.append((time.thread_time() - t0) * 1e3)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", action="append", default=[])
    a = ap.parse_args()
    import re2

    options = re2.Options()
    options.max_mem = 64 << 20
    rx = re2.compile(RE2_SECRET, options=options)
    raw, anchor = rx._regexp.Match, re2._re2.RE2.Anchor.UNANCHORED
    splitter = _bounded(PRECISE["secret"])

    def loop(data: bytes) -> int:
        pos, end, n = 0, len(data), 0
        while True:
            s, e = raw(anchor, data, pos, end)[0]
            if s < 0:
                return n
            n, pos = n + 1, max(e, pos + 1)

    print(f"{'form':34} {'matches':>8} {'re split':>9} {'finditer':>9} {'raw loop':>9} "
          f"{'search':>7}")
    for name, make in forms().items():
        if a.only and not any(part in name for part in a.only):
            continue
        text = " " + make()
        data = text.encode("utf-8")
        found = splitter.split(text)
        n = (len(found) - 1) // (splitter.groups + 1)
        ms = (_cpu(lambda: splitter.split(text), a.repeat),
              _cpu(lambda: sum(1 for _ in rx.finditer(text)), a.repeat),
              _cpu(lambda: loop(data), a.repeat),
              _cpu(lambda: rx.search(data), a.repeat))
        print(f"{name:34} {n:8d} " + " ".join(f"{m:9.1f}" for m in ms[:3]) + f" {ms[3]:7.1f}")


if __name__ == "__main__":
    main()
