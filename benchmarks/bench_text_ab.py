"""``mask_text`` before and after a change, in one process: the ``jupyter_guard/mask`` package of
a git revision is extracted into a temporary folder and imported under another name, then both
versions mask the same 1 MB texts, calls alternating (same load for both), median CPU time.
The outputs must be equal: a speed-up that changes what is masked fails here.

    .venv/bin/python benchmarks/bench_text_ab.py [--before f94d76e] [--repeat 7] [--json] [--pandas]

``--pandas`` imports pandas first, as a notebook that shows frames has: the masker then also
uses pyarrow's RE2 kernels (pandas loads them), which it never imports itself.
"""
from __future__ import annotations

import argparse
import importlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
}


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="f94d76e", help="git revision to compare with")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--pandas", action="store_true", help="import pandas first (and pyarrow)")
    a = ap.parse_args()
    if a.pandas:
        import pandas  # noqa: F401
    from jupyter_guard.mask.text import MaskSettings, mask_text

    with tempfile.TemporaryDirectory() as tmp:
        old = importlib.import_module(old_package(a.before, Path(tmp)) + ".text")
        before, after = old.MaskSettings(), MaskSettings()
        rows = {}
        for name, make in {**TEXTS, **MORE}.items():
            text = make()
            if old.mask_text(text, before) != mask_text(text, after):
                raise SystemExit(f"{name}: the two versions mask differently")
            t_old, t_new = [], []
            for _ in range(a.repeat):
                c = time.thread_time()
                old.mask_text(text, before)
                t_old.append(time.thread_time() - c)
                c = time.thread_time()
                mask_text(text, after)
                t_new.append(time.thread_time() - c)
            rows[name] = {"before_ms": statistics.median(t_old) * 1000,
                          "after_ms": statistics.median(t_new) * 1000}
    if a.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"| 1 MB of | before {a.before} (ms CPU) | after (ms CPU) |\n|---|---:|---:|")
    for name, r in rows.items():
        print(f"| {name} | {r['before_ms']:.1f} | {r['after_ms']:.1f} |")


if __name__ == "__main__":
    main()
