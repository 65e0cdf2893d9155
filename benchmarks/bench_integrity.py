"""Self-protection's per-cell check, in a real guarded kernel, before and after the version gate.

The re-arm (``hooks/integrity.py`` ``Integrity.check``) runs before every cell; most of it is
comparing the globals of every guard module with their snapshot. Timed in one kernel, the two
ways interleaved round by round (same process, same heap, same machine noise):

* ``full``: every snapshotted global compared by identity every time (the way before the gate);
* ``gated``: only modules whose dict version moved are compared (``hooks/snapshots.py``, ``hooks/guard_modules.py``).

    .venv/bin/python benchmarks/bench_integrity.py [--rounds 30] [--json]

Reports per call: the globals comparison alone and the whole ``check()``, median and minimum µs
(CPU time of the kernel's thread, so other processes on a loaded machine count less).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_kernel import Kernel, guarded_env

INNER = """
import json as _j, statistics as _st, sys as _s, time as _t
from jupyter_guard.hooks import runtime as _rt, snapshots as _sn
_p = _rt.current().protect
_o = _p.own
assert _p.check() == [] and _o._versions is not None, "no version gate in this kernel"
_gate = _o._versions

def _full():
    _o._versions = None
    try:
        return _o.changed()
    finally:
        _o._versions = _gate

def _full_check():
    _o._versions = None
    try:
        return _p.check()
    finally:
        _o._versions = _gate

def _time(f, n=50):
    t = _t.thread_time_ns()
    for _ in range(n):
        f()
    return (_t.thread_time_ns() - t) / n / 1000

_runs = {k: [] for k in ("globals full", "globals gated", "check full", "check gated")}
for _i in range(ROUNDS):
    for _name, _f in sorted({"globals full": _full, "globals gated": _o.changed,
                             "check full": _full_check, "check gated": _p.check}.items(),
                            key=lambda kv: (hash(kv[0]) + _i) % 7):
        _runs[_name].append(_time(_f))
print("RESULT", _j.dumps({
    "modules": len(_o.globals), "globals": sum(map(len, _o.globals.values())),
    **{k: {"median_us": _st.median(v), "min_us": min(v)} for k, v in _runs.items()}}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        k = Kernel(guarded_env(tmp), tmp)
        try:
            k.ok("%load_ext jupyter_guard")
            out = k.ok(INNER.replace("ROUNDS", str(args.rounds)))
        finally:
            k.stop()
    text = "".join(m["content"].get("text", "") for m in out if m["msg_type"] == "stream")
    res = json.loads(text.split("RESULT", 1)[1])
    if args.json:
        print(json.dumps(res, indent=2))
        return
    print(f"self-protection check: {res['modules']} modules, {res['globals']} globals "
          f"(µs per call, CPU time, {args.rounds} rounds)")
    for name in ("globals full", "globals gated", "check full", "check gated"):
        print(f"  {name:14} median {res[name]['median_us']:8.1f}   min {res[name]['min_us']:8.1f}")


if __name__ == "__main__":
    main()
