"""Cost of signed identity per cell: the server signing a stamp, the kernel verifying it.

    .venv/bin/python benchmarks/bench_identity.py [--repeat 2000] [--json]

In process, on a real Ed25519 key: ``Signer.stamp`` (the server, per forwarded cell) and
``Verifier.check`` (the kernel, per cell) for a one-line and a 50-line cell, each with a fresh
message id; and the check of a cell without any claim (the path of every unstamped cell).
Target: verifying <= 0.1 ms per cell; the floor is OpenSSL's Ed25519 verify (``raw Ed25519``).
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from jupyter_guard.authority import Signer, Verifier, load_or_create_key

CELLS = {"one line": "x = 1",
         "50 lines": "\n".join(f"v{i} = df[df.amount > {i}].groupby('city').sum()"
                               for i in range(50))}


def median_us(fn: Any, repeat: int, batch: int = 50) -> float:
    """Median CPU time of one call, over batches of ``batch`` calls (CPU time: on a loaded
    machine wall time mostly measures waiting for a core)."""
    times = []
    for _ in range(max(1, repeat // batch)):
        t = time.process_time()
        for _ in range(batch):
            fn()
        times.append((time.process_time() - t) / batch)
    return statistics.median(times) * 1e6


def run(repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as d:
        signer = Signer(load_or_create_key(str(Path(d) / "authority.key")))
    verifier = Verifier(signer.public)
    out: dict[str, Any] = {}
    for name, code in CELLS.items():
        stamps = []
        for _ in range(repeat):
            msg_id = uuid.uuid4().hex
            stamps.append((msg_id, signer.stamp(user="alice", groups=("analysts",),
                                                actor="human", cell_id="c", msg_id=msg_id,
                                                code=code)))
        it = iter(stamps)

        def verify() -> None:
            msg_id, part = next(it)
            assert verifier.check(part, msg_id, code).status == "verified"

        sign_us = median_us(lambda: signer.stamp(user="alice", groups=(), actor="human",
                                                 cell_id="c", msg_id="m", code=code), repeat)
        out[name] = {"sign_us": sign_us, "verify_us": median_us(verify, repeat)}
    out["no claim"] = {"verify_us": median_us(lambda: verifier.check({}, "m", "x = 1"), repeat)}
    raw = b"x" * 200
    sig = signer._key.sign(raw)
    public = signer._key.public_key()
    out["raw Ed25519"] = {"sign_us": median_us(lambda: signer._key.sign(raw), repeat),
                          "verify_us": median_us(lambda: public.verify(sig, raw), repeat)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2000)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    res = run(a.repeat)
    if a.json:
        print(json.dumps(res))
        return
    for name, r in res.items():
        print(f"{name:>9}: " + ", ".join(f"{k} {v:.1f} µs" for k, v in r.items()))


if __name__ == "__main__":
    main()
