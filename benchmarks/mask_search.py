"""Search for 1 MB texts that ``mask_text`` masks in more than 50 ms of CPU: every detector's
values, near-misses and look-alikes, long runs of one class, alternations of two classes, glued
random groups, normalisation (entities, zero-width characters, Unicode dashes) and the hash
strategy. Prints each form's median CPU ms (``process_time``), slowest first.

    .venv/bin/python benchmarks/mask_search.py [--repeat 3] [--over 50] [--only ssn]
"""
from __future__ import annotations

import argparse
import itertools
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jupyter_guard.mask import strategy
from jupyter_guard.mask.detect import DETECTORS
from jupyter_guard.mask.text import MaskSettings, mask_text

MB = 1 << 20


def fill(unit: str, head: str = "", tail: str = "") -> str:
    return head + unit * ((MB - len(head) - len(tail)) // len(unit)) + tail


def glued(alphabet: str, lo: int, hi: int, seps: str, seed: int) -> str:
    """Random groups of ``alphabet`` (``lo``-``hi`` long), joined by one of ``seps`` ('' glues)."""
    rng, out, n = random.Random(seed), [], 0
    while n < MB:
        g = "".join(rng.choices(alphabet, k=rng.randint(lo, hi))) + rng.choice(seps or [""])
        out.append(g)
        n += len(g)
    return "".join(out)[:MB]


def rows(row: str, seed: int = 0) -> str:
    out, n, i = [], 0, seed
    while n < MB:
        r = row.format(n=100000 + i * 7 % 900000, m=1000 + i * 13 % 9000, k=i % 10)
        out.append(r)
        n, i = n + len(r), i + 1
    return "".join(out)[:MB]


UPPER, LOWER, DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz", "0123456789"
B64 = UPPER + LOWER + DIGITS + "+/"
PII = "user{n}@example.com,123-45-{m},+44 20 7946 {m}\n"

VALUES = {
    "email": "jane.doe@example.com", "ssn": "123-45-6789", "card": "4111 1111 1111 1111",
    "phone+": "+44 20 7946 0958", "phoneus": "(555) 123-4567", "iban": "DE89370400440532013000",
    "ibansp": "DE89 3704 0044 0532 0130 00", "secret": "password=hunter22",
    "sk": "sk-abcdefghijklmnopqrstuvwx", "aws": "AKIAIOSFODNN7EXAMPLE",
    "token": "q8Xv2LmN4pRt7YwK1sHd6FgJ3bVc5NzQ", "ipv4": "192.168.10.20",
    "ipv6": "2001:db8::8a2e:370:7334", "uuid": "550e8400-e29b-41d4-a716-446655440000",
    "sha": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "ssnword": "ssn: 123456789",
}
NEAR = {
    "email-no-tld": "jane@example", "email-dots": "a.b.c.d.e@x", "ssn-000": "000-12-3456",
    "ssn-mixed": "123-45 6789", "card-bad-luhn": "4111 1111 1111 1112",
    "card-unknown": "9111 1111 1111 1111", "phone-short": "+1 2", "iban-bad": "DE00 3704 0044 05",
    "iban-short": "DE89 3704", "secret-short": "password=ab", "token-lower": "a" * 40,
    "ipv4-big": "999.1.1.1", "ipv6-clock": "10:30:00", "uuid-ish": "550e8400-e29b-41d4",
    "hex-40": "0123456789abcdef0123456789abcdef01234567",
}
WRAP = {"space": "{} ", "comma": "{},", "line": "{}\n", "glued": "{}", "zw@": "{}\u200b",
        "amp": "{}&amp;", "nbhyph": "{}\u2011", "quote": '"{}" '}


def forms() -> dict[str, Callable[[], str]]:
    out: dict[str, Callable[[], str]] = {}
    for (k, v), (w, f) in itertools.product({**VALUES, **NEAR}.items(), WRAP.items()):
        out[f"{k} / {w}"] = lambda v=v, f=f: fill(f.format(v))
    classes = ["a", "A", "1", " ", "-", ".", "@", ":", "/", "+", "_", "=", "%", "&", "(", "\n",
               "\u200b", "\u2011", "\u2013", "&amp;", "%41", "&#64;"]
    for c in classes:
        out[f"run {c!r}"] = lambda c=c: fill(c)
    for a, b in itertools.combinations(classes, 2):
        out[f"alt {a!r}{b!r}"] = lambda a=a, b=b: fill(a + b)
    for a, b, c in [("1", "-", " "), ("a", "@", "."), ("1", ".", ":"), ("A", "1", " "),
                    ("a", "1", "/"), ("a", "A", "1")]:
        out[f"alt3 {a}{b}{c}"] = lambda a=a, b=b, c=c: fill(a + b + c)
    for name, (alpha, lo, hi, seps) in {
        "glued upper+digits 1-5": (UPPER + DIGITS, 1, 5, ""),
        "glued upper+digits 4": (UPPER + DIGITS, 4, 4, ""),
        "glued alnum 1-8": (UPPER + LOWER + DIGITS, 1, 8, ""),
        "glued alnum 20-60 spaced": (UPPER + LOWER + DIGITS, 20, 60, " "),
        "glued alnum 30-50 lines": (UPPER + LOWER + DIGITS, 30, 50, "\n"),
        "glued b64 40-80 spaced": (B64, 40, 80, " "),
        "glued alnum_- 32-40 spaced": (UPPER + LOWER + DIGITS + "_-", 32, 40, " "),
        "glued alnum 5000 (too long)": (UPPER + LOWER + DIGITS, 4000, 6000, " "),
        "glued digits 1-4 dashes": (DIGITS, 1, 4, "- "),
        "glued digits 3-5 dots": (DIGITS, 1, 3, ".:"),
        "glued hex 1-4 colons": ("0123456789abcdef", 0, 4, ":"),
        "glued digits 13-19": (DIGITS, 13, 19, " "),
        "glued digits 4 sep": (DIGITS, 4, 4, " -"),
        "glued upper+digits 2-4 spaced": (UPPER + DIGITS, 2, 4, " "),
    }.items():
        out[name] = lambda a=alpha, lo=lo, hi=hi, s=seps: glued(a, lo, hi, s, 1)
    out["PII rows"] = lambda: rows(PII)
    out["PII rows, zero-width before @"] = lambda: rows(PII).replace("@", "\u200b@")
    out["PII rows, &amp; once"] = lambda: "&amp; " + rows(PII)
    out["PII rows, entities for @"] = lambda: rows(PII).replace("@", "&#64;")
    out["PII rows, en dashes"] = lambda: rows(PII).replace("-", "\u2013")
    out["PII rows, %40"] = lambda: rows(PII).replace("@", "%40")
    out["secret rows"] = lambda: rows("token={n}abcDEF{m}xyz\n")
    out["mixed values"] = lambda: rows(" ".join(VALUES.values()) + "\n")
    return out


SETTINGS = {
    "default": MaskSettings(),
    "all": MaskSettings(detectors=tuple(DETECTORS)),
    "hash": MaskSettings(strategy="hash"),
}


def cpu_ms(text: str, s: MaskSettings, repeat: int, forget: bool) -> float:
    t = []
    for _ in range(repeat):
        if forget:
            getattr(strategy, "_hashed", {}).clear()
        c = time.process_time()
        mask_text(text, s)
        t.append(time.process_time() - c)
    return statistics.median(t) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--over", type=float, default=0.0, help="print only forms over this many ms")
    ap.add_argument("--only", default="")
    ap.add_argument("--settings", default="default,all,hash")
    a = ap.parse_args()
    found = []
    for name, make in forms().items():
        if a.only not in name:
            continue
        text = make()
        for sname in a.settings.split(","):
            ms = cpu_ms(text, SETTINGS[sname], a.repeat, sname == "hash")
            if ms > a.over:
                found.append((ms, name, sname))
                print(f"{ms:8.1f} ms  {sname:8} {name}", flush=True)
    print("\n| 1 MB of | settings | ms CPU |\n|---|---|---:|")
    for ms, name, sname in sorted(found, reverse=True):
        print(f"| {name} | {sname} | {ms:.1f} |")


if __name__ == "__main__":
    main()
