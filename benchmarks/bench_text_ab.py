"""``mask_text`` before and after a change, in one process: the ``jupyter_guard/mask`` package of
a git revision is extracted into a temporary folder and imported under another name, then both
versions mask the same 1 MB texts, calls alternating (same load for both), median CPU time.
The outputs must be equal: a speed-up that changes what is masked fails here.

    .venv/bin/python benchmarks/bench_text_ab.py [--before f94d76e] [--repeat 7] [--json] [--pandas]
        [--only IBAN [--only tokens ...]] [--search all]

``--search SETTINGS`` adds ``mask_search.py``'s forms, masked with those settings.

``--pandas`` imports pandas first, as a notebook that shows frames has: the masker then also
uses pyarrow's RE2 kernels (pandas loads them), which it never imports itself.
"""
from __future__ import annotations

import argparse
import importlib
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_stream import TEXTS  # noqa: E402

MB = 1 << 20


def fill(unit: str) -> str:
    return unit * (MB // len(unit))


MORE = {
    "dense US phones": lambda: fill("(555) 123-4567 "),
    "&amp; every 5 chars": lambda: fill("&amp;"),
    "%41 every 3 chars": lambda: fill("%41"),
    "zero-width between digits": lambda: fill("1\u200b"),
    "non-breaking hyphens between digits": lambda: fill("1\u2011"),
    "IBAN-like 'AB12 '": lambda: fill("AB12 "),
    "IBAN-like 'DE89 ' (a real country's code)": lambda: fill("DE89 "),
    "IBAN-like 'GB82 WEST '": lambda: fill("GB82 WEST "),
    "IBAN-like 'DE89 3704 '": lambda: fill("DE89 3704 "),
    "IBAN look-alikes and valid IBANs, random": lambda: _ibanish(),
    "base64 tokens side by side": lambda: _tokens(" "),
    "alphanumeric tokens of 32-40, one a line": lambda: _tokens("\n", 32, 40, 62),
    "key=value secrets joined by '&' (one run)": lambda: fill("password=hunter22&"),
    "token=value secrets joined by '&' (one run)": lambda: fill("token=abcd1234&"),
    "quoted password=\"…\" pairs": lambda: fill('password="hunter22" '),
    "JSON \"password\": \"…\" pairs": lambda: fill('"password": "hunter22", '),
    "YAML password: … lines": lambda: fill("  password: hunter22\n"),
}


def _tokens(sep: str, lo: int = 40, hi: int = 80, alphabet: int = 64) -> str:
    """1 MB of random key-like tokens (base64 or letters and digits), seeded."""
    import random

    rng, out, size = random.Random(21), [], 0
    chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[:alphabet]
    while size < MB:
        out.append("".join(rng.choices(chars, k=rng.randint(lo, hi))) + sep)
        size += len(out[-1])
    return "".join(out)[:MB]


def _ibanish() -> str:
    """1 MB of country codes with two digits and groups of 1-5 capitals and digits, each
    followed by a space (mostly), '-', '_', a letter, a comma, a newline or nothing, and valid
    IBANs among them (seeded: the same text every run)."""
    import random

    rng, out, size = random.Random(21), [], 0
    codes = ["DE", "GB", "FR", "NL", "IT", "XX"]
    valid = ["DE89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 32"]
    glue = [" "] * 6 + ["-", "_", "a", ",", "\n", ""]
    while size < MB:
        k = rng.random()
        piece = (rng.choice(codes) + f"{rng.randrange(100):02d}" if k < 0.4
                 else rng.choice(valid) if k < 0.45
                 else "".join(rng.choice("0123456789ABCDEFXYZ") for _ in range(rng.randint(1, 5))))
        out.append(piece + rng.choice(glue))
        size += len(out[-1])
    return "".join(out)[:MB]


def _pii(row: str) -> str:
    """1 MB of rows made from ``row`` (``{n}`` and ``{m}``: numbers, different on each row)."""
    out, size, n = [], 0, 0
    while size < MB:
        r = row.format(n=100000 + n * 7 % 900000, m=1000 + n * 13 % 9000)
        out.append(r)
        size, n = size + len(r), n + 1
    return "".join(out)[:MB]


PII = "user{n}@example.com,123-45-{m},+44 20 7946 {m}\n"
DECLINED = {
    # name: (text, settings keywords, known values: those the kernel's finder is given)
    "PII rows, every e-mail known": (
        lambda: _pii(PII), {}, lambda t: re.findall(r"user\d+@example\.com", t)),
    "PII rows, one e-mail known": (lambda: _pii(PII), {}, lambda t: ["user100000@example.com"]),
    "PII rows + known ids (no detector)": (
        lambda: _pii("C{n}," + PII), {}, lambda t: re.findall(r"C\d{6}", t)),
    "'+' phones followed by ',1'": (lambda: _pii("user{n}@example.com,+44 20 7946 {m},1\n"),
                                    {}, None),
    "PII rows after 'ssn:' once": (lambda: "ssn: " + _pii(PII), {}, None),
    "PII rows, non-ASCII names": (lambda: _pii("Jos\u00e9," + PII), {}, None),
    "PII rows after one '&amp;'": (lambda: "&amp; " + _pii(PII), {}, None),
    "PII rows, hash strategy": (lambda: _pii(PII), {"strategy": "hash"}, None),
    "PII rows, hash strategy, no digest remembered": (
        lambda: _pii(PII), {"strategy": "hash"}, None),
    "PII rows with a lone surrogate": (lambda: "\ud800" + _pii(PII), {}, None),
    "PII rows, redact strategy": (lambda: _pii(PII), {"strategy": "redact"}, None),
    "PII rows after one secret": (lambda: "sk-abcdefghijklmnopqrstuv " + _pii(PII), {}, None),
    "PII rows after one IPv4, ipv4 enabled": (
        lambda: "10.0.0.1 " + _pii(PII),
        {"detectors": ("email", "ssn", "card", "phone", "iban", "secret", "ipv4")}, None),
}
"""Dense text that the numpy finders decline (the ``re`` path masked it before issue 21's third
round); known values are found by the kernel's own finder (``hooks.exits.known_spans``) once,
outside the timing, so the rows measure the masker (the finder's cost is its own row)."""


def old_package(rev: str, root: Path) -> str:
    """Write ``jupyter_guard/mask`` at ``rev`` into ``root/oldmask`` (its imports are relative)."""
    pkg = root / "oldmask"
    pkg.mkdir()
    names = subprocess.run(["git", "ls-tree", "--name-only", rev, "jupyter_guard/mask/"],
                           check=True, capture_output=True, text=True, cwd=HERE.parent).stdout
    for name in names.split():
        src = subprocess.run(["git", "show", f"{rev}:{name}"], check=True, capture_output=True,
                             text=True, cwd=HERE.parent).stdout
        (pkg / Path(name).name).write_text(src)
    sys.path.insert(0, str(root))
    return "oldmask"


def _known_finder(text: str, values: list[str], rows: dict[str, Any]) -> Any:
    """The kernel's finder of known values with ``values`` known, its spans in ``text`` found
    once (its own CPU time is a row: it is not the masker's)."""
    from jupyter_guard.hooks import exits

    exits.known.clear()
    exits.remember(values)
    c = time.thread_time()
    spans = exits.known_spans(text)
    rows.setdefault("known_spans (hooks/exits.py) on PII rows, every e-mail known", {
        "before_ms": (time.thread_time() - c) * 1000, "after_ms": (time.thread_time() - c) * 1000})
    exits.known.clear()
    return lambda t: list(spans) if t is text else []


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="f94d76e", help="git revision to compare with")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--pandas", action="store_true", help="import pandas first (and pyarrow)")
    ap.add_argument("--only", action="append", default=[],
                    help="only the texts whose name holds this (repeat it: any of them)")
    ap.add_argument("--search", default="", choices=["", "default", "all", "hash"],
                    help="also mask_search.py's forms, with these settings")
    a = ap.parse_args()
    if a.pandas:
        import pandas  # noqa: F401
    from jupyter_guard.mask import strategy
    from jupyter_guard.mask.text import KNOWN, MaskSettings, mask_text

    with tempfile.TemporaryDirectory() as tmp:
        old = importlib.import_module(old_package(a.before, Path(tmp)) + ".text")
        rows = {}
        shapes = {n: (m, {}, None) for n, m in {**TEXTS, **MORE}.items()} | DECLINED
        if a.search:
            from mask_search import DETECTORS, forms

            keywords = {"default": {}, "all": {"detectors": tuple(DETECTORS)},
                        "hash": {"strategy": "hash"}}[a.search]
            shapes |= {f"{n} ({a.search})": (m, keywords, None) for n, m in forms().items()}
        for name, (make, keywords, known) in shapes.items():
            if a.only and not any(part in name for part in a.only):
                continue
            text = make()
            before, after = old.MaskSettings(**keywords), MaskSettings(**keywords)
            finders = [] if known is None else [_known_finder(text, known(text), rows)]
            old.KNOWN[:], KNOWN[:] = finders, finders
            if old.mask_text(text, before) != mask_text(text, after):
                raise SystemExit(f"{name}: the two versions mask differently")
            t_old, t_new = [], []
            old_strategy = importlib.import_module("oldmask.strategy")
            for _ in range(a.repeat):
                if "no digest remembered" in name:  # (both versions start without digests)
                    getattr(old_strategy, "_hashed", {}).clear()
                c = time.thread_time()
                old.mask_text(text, before)
                t_old.append(time.thread_time() - c)
                if "no digest remembered" in name:  # (digests are remembered between calls)
                    getattr(strategy, "_hashed", {}).clear()
                c = time.thread_time()
                mask_text(text, after)
                t_new.append(time.thread_time() - c)
            rows[name] = {"before_ms": statistics.median(t_old) * 1000,
                          "after_ms": statistics.median(t_new) * 1000}
        old.KNOWN[:], KNOWN[:] = [], []
    if a.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"| 1 MB of | before {a.before} (ms CPU) | after (ms CPU) |\n|---|---:|---:|")
    for name, r in rows.items():
        print(f"| {name} | {r['before_ms']:.1f} | {r['after_ms']:.1f} |")


if __name__ == "__main__":
    main()
