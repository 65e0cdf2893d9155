"""Masking throughput on ordinary and adversarial text, in process and through real kernels:

* ``mask_text`` on 1 MB of each kind of text (target: <= 50 ms for any text), beside a plain
  ``print`` of it to a text stream;
* a guarded kernel (``%load_ext jupyter_guard``) against a plain one, cells interleaved:
  ``print`` of 50 MB, 1 MB written in 1 KB pieces without a newline, and 1 MB of adversarial
  text printed (targets: <= x2 plain).

    .venv/bin/python benchmarks/bench_stream.py [--repeat 5] [--print-mb 50] [--json]
        [--only kernel] [--cells pieces "'1-'"] [--before main]

``--before REF`` starts a third kernel guarded by the commit ``REF`` (``git archive``), its
cells interleaved with the other two: before and after under the same load.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import psutil  # noqa: E402
from bench_kernel import Kernel, guarded_env  # noqa: E402

MB = 1 << 20
KNOWN_SETUP = """
import duckdb
wh = duckdb.connect()
wh.execute("CREATE TABLE customers AS SELECT printf('%09d', 100000000 + i) AS ssn, "
           "'user' || i || '@example.com' AS email FROM range(10000) t(i)")
known = wh.execute('SELECT ssn, email FROM customers').fetchall()
"""
"""A cell that fetches 20,000 values (10,000 SSNs and e-mails): the guard knows them after it."""
WORDS = ["the", "order", "was", "shipped", "on", "time", "and", "the", "total", "amount", "paid", "matched", "the", "invoice", "for", "customer", "account", "region", "north", "south", "warehouse"]


def ordinary(n: int, seed: int = 1) -> str:
    """Prose with numbers, dates and ids (no sensitive values)."""
    rng = random.Random(seed)
    out, size = [], 0
    while size < n:
        r = rng.random()
        w = (rng.choice(WORDS) if r < 0.75 else str(rng.randrange(10**6)) if r < 0.9
             else f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}")
        out.append(w)
        size += len(w) + 1
    return " ".join(out)[:n]


def csv_rows(n: int, seed: int = 2) -> str:
    rng = random.Random(seed)
    rows, size = [], 0
    while size < n:
        r = (f"{rng.randrange(10**6)},{rng.uniform(0, 1e4):.2f},2026-01-{rng.randrange(1, 28):02d}"
             f" 10:{rng.randrange(60):02d}:00,SKU-{rng.randrange(10**5):05d}\n")
        rows.append(r)
        size += len(r)
    return "".join(rows)[:n]


def pii_rows(n: int, seed: int = 3) -> str:
    rng = random.Random(seed)
    rows, size = [], 0
    while size < n:
        r = (f"user{rng.randrange(10**6)}@example.com,123-45-{rng.randrange(1000, 9999)},"
             f"+44 20 7946 {rng.randrange(1000, 9999)}\n")
        rows.append(r)
        size += len(r)
    return "".join(rows)[:n]


TEXTS = {
    "ordinary prose": lambda: ordinary(MB),
    "CSV rows": lambda: csv_rows(MB),
    "PII on every line": lambda: pii_rows(MB),
    "adversarial '1 ' + 'a/'*n + '-'": lambda: "1 " + "a/" * (MB // 2 - 2) + "-",
    "adversarial '@ ' + '%a'*n": lambda: "@ " + "%a" * (MB // 2 - 1),
    "adversarial '1-'*n": lambda: "1-" * (MB // 2),
    "adversarial 'A-'*n": lambda: "A-" * (MB // 2),
    "one character class 'a'*n": lambda: "a" * MB,
    "valid cards side by side": lambda: "4111 1111 1111 1111 " * (MB // 20),
    "valid IBANs side by side": lambda: "DE89 3704 0044 0532 0130 00 " * (MB // 28),
    "card look-alikes after commas": lambda: "4111 1111 1111 1111," * (MB // 20),
    "UUIDs, one per line": lambda: uuids(MB),
    "PII rows, a zero-width character before each '@'": lambda: pii_rows(MB).replace(
        "@", "\u200b@")[:MB],
    "PII rows as one line after '&amp;'": lambda: ("&amp; " + pii_rows(MB)).replace("\n", " ")[:MB],
}


def uuids(n: int) -> str:
    import uuid
    return "\n".join(str(uuid.UUID(int=random.Random(i).getrandbits(128)))
                     for i in range(n // 37))


def in_process(repeat: int) -> dict[str, Any]:
    """Median CPU ms (``process_time``: on a shared machine wall time mostly measures the
    neighbours) and wall ms of ``mask_text`` on 1 MB of each text."""
    from jupyter_guard.mask import scan
    from jupyter_guard.mask.text import MaskSettings, mask_text

    settings = MaskSettings()
    res: dict[str, Any] = {"engine": scan.engine(), "texts": {}}
    for name, make in TEXTS.items():
        text = make()
        cpu, wall, plain = [], [], []
        for _ in range(repeat):
            c, t = time.process_time(), time.perf_counter()
            mask_text(text, settings)
            cpu.append((time.process_time() - c) * 1000)
            wall.append((time.perf_counter() - t) * 1000)
            c = time.process_time()  # the same text printed to a text stream, unmasked
            print(text, file=io.StringIO())
            plain.append((time.process_time() - c) * 1000)
        ms = statistics.median(cpu)
        res["texts"][name] = {"cpu_ms": ms, "wall_ms": statistics.median(wall),
                              "plain_print_cpu_ms": statistics.median(plain),
                              "mb_per_s": len(text) / MB / (max(ms, 0.01) / 1000)}
    return res


SETUP = f"""
import random, sys
WORDS = {WORDS!r}
def ordinary(n, seed=1):
    rng = random.Random(seed)
    out, size = [], 0
    while size < n:
        r = rng.random()
        w = (rng.choice(WORDS) if r < 0.75 else str(rng.randrange(10**6)) if r < 0.9
             else f"2026-{{rng.randrange(1, 13):02d}}-{{rng.randrange(1, 29):02d}}")
        out.append(w)
        size += len(w) + 1
    return " ".join(out)[:n]
ONE = ordinary({MB})
ADV = "1 " + "a/" * ({MB} // 2 - 2) + "-"
PII = "".join(f"user{{i}}@example.com,123-45-{{1000 + i % 9000}},+44 20 7946 {{1000 + i % 9000}}\\n"
              for i in range({MB} // 50))[:{MB}]
IBANS = "DE89 3704 0044 0532 0130 00 " * ({MB} // 28)
import base64, uuid
B64TXT = base64.b64encode(ONE[:{MB} * 3 // 4].encode()).decode()
HEXPII = PII[:{MB} // 2].encode().hex()
AMPLINE = ("&amp; " + PII).replace("\\n", " ")
B64TOKENS = " ".join(base64.b64encode(random.Random(i).randbytes(45)).decode()
                     for i in range({MB} // 61))
UUIDS = "\\n".join(str(uuid.UUID(int=random.Random(i).getrandbits(128))) for i in range({MB} // 37))
"""


def _cpu(k: Kernel) -> float:
    """CPU seconds of the kernel process so far (all its threads: the I/O thread sends output)."""
    t = psutil.Process(k.km.provisioner.process.pid).cpu_times()
    return float(t.user + t.system)


def paired(kernels: dict[str, Kernel], code: str, repeat: int) -> dict[str, Any]:
    """Median round trip and mean kernel CPU of ``code`` in each kernel (``plain`` first), runs
    interleaved, the order turning each round (1 warm-up). CPU is the mean over the runs: the
    counter ticks in 10 ms, so a median of a few 1 MB cells is mostly 0, 10 or 20 ms."""
    names = list(kernels)
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for i in range(repeat + 1):
        for name in names[i % len(names):] + names[:i % len(names)]:
            k = kernels[name]
            c = _cpu(k)
            ms, status, out = k.run(code, timeout=600)
            if status != "ok":
                raise RuntimeError(f"{name} failed: {[m['content'] for m in out]}"[:2000])
            if i:
                wall[name].append(ms)
                cpu[name].append((_cpu(k) - c) * 1000)
    med = {n: statistics.median(v) for n, v in wall.items()}
    mean = {n: statistics.fmean(v) for n, v in cpu.items()}
    res: dict[str, Any] = {"plain_ms": med["plain"], "plain_cpu_ms": mean["plain"]}
    for n in names[1:]:
        res |= {f"{n}_ms": med[n], f"{n}_cpu_ms": mean[n],
                f"{n}_ratio" if n != "guarded" else "ratio": med[n] / med["plain"],
                f"{n}_cpu_ratio" if n != "guarded" else "cpu_ratio":
                    mean[n] / max(mean["plain"], 0.01)}
    return res


def checkout(ref: str, into: str) -> str:
    """The tree of git ``ref`` of this repository, unpacked under ``into`` (for ``--before``)."""
    import subprocess

    root = Path(into) / "before"
    root.mkdir()
    tar = subprocess.run(["git", "-C", str(HERE.parent), "archive", ref], check=True,
                         capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(root)], input=tar, check=True)
    return str(root)


def kernels(repeat: int, print_mb: int, only: list[str] | None = None,
            before: str | None = None) -> dict[str, Any]:
    cells = {
        f"print of {print_mb} MB": f"print(ONE * {print_mb})",
        "1 MB written in 1 KB pieces": "for i in range(0, len(ONE), 1024):\n"
                                      "    sys.stdout.write(ONE[i:i + 1024])\nsys.stdout.flush()",
        "print of 1 MB adversarial text": "print(ADV)",
        "print of '1-' * 500_000 (digit runs)": "print('1-' * 500_000)",
        "print of 1 MB of base64 tokens side by side": "print(B64TOKENS)",
        "print of 1 MB of PII rows (e-mail, SSN, phone)": "print(PII)",
        "print of 1 MB of valid IBANs": "print(IBANS)",
        "print of 1 MB of base64 of prose (one run)": "print(B64TXT)",
        "print of 1 MB of hex of PII rows (one run)": "print(HEXPII)",
        "print of 1 MB of UUIDs (28,000 runs)": "print(UUIDS)",
        "print of 1 MB of PII rows as one line after '&amp;'": "print(AMPLINE)",
    }
    cells = {k: v for k, v in cells.items() if not only or any(o in k for o in only)}
    return interleaved(cells, repeat, SETUP, before)


def ab_main(doc: str, run: Any) -> None:
    """The command line of a before/after kernel benchmark (``--repeat``, ``--before REF``,
    ``--json``): prints ``run(repeat, before)``."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--before", default="main")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    res = run(a.repeat, a.before)
    print(json.dumps(res, indent=2) if a.json else res)


def interleaved(cells: dict[str, str], repeat: int, setup: str,
                before: str | None = None) -> dict[str, Any]:
    """Each cell timed in a plain kernel, one guarded by this tree and (``before``) one guarded
    by that commit, cells interleaved (``paired``); ``setup`` run in each kernel first."""
    res: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        ks = {"plain": Kernel({}, tmp), "guarded": Kernel(guarded_env(tmp), tmp)}
        if before:   # the same guard at an earlier commit, in a third kernel
            env = guarded_env(tmp) | {"PYTHONPATH": checkout(before, tmp)}
            ks["before"] = Kernel(env | {"JUPYTER_GUARD_AUDIT": f"{tmp}/before.duckdb"}, tmp)
        try:
            for name, k in ks.items():
                if name != "plain":
                    k.ok("%config JupyterGuard.quiet = True\n%load_ext jupyter_guard")
                k.ok(setup)
            for name, code in cells.items():
                res[name] = paired(ks, code, repeat)
        finally:
            for k in ks.values():
                k.stop()
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--print-mb", type=int, default=50)
    ap.add_argument("--only", choices=["text", "kernel"], default=None)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--cells", nargs="*", help="only the kernel cells whose name holds one")
    ap.add_argument("--before", help="a git ref: also a kernel guarded by that commit, same run")
    a = ap.parse_args()
    res: dict[str, Any] = {}
    if a.only in (None, "text"):
        res["mask_text"] = in_process(a.repeat)
    if a.only in (None, "kernel"):
        res["kernel"] = kernels(a.repeat, a.print_mb, a.cells, a.before)
    print(json.dumps(res, indent=2) if a.json else res)


if __name__ == "__main__":
    main()
