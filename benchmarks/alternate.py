"""Fresh processes with and without the guard, alternating (the order flips every round, so
neither side always runs first), each printing one JSON line of timings; medians per workload.
Shared by the benchmarks that must compare whole processes (an audit hook cannot be removed)."""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
from collections.abc import Iterable, Mapping


def run_child(script: str, guarded: bool, env: Mapping[str, str] | None = None
              ) -> dict[str, float]:
    """``script --child with|without``: its last output line, a JSON object of timings."""
    out = subprocess.run([sys.executable, script, "--child", "with" if guarded else "without"],
                         check=True, capture_output=True, text=True,
                         env=dict(env) if env is not None else None)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def medians(script: str, workloads: Iterable[str], repeat: int,
            env: Mapping[str, str] | None = None) -> dict[bool, dict[str, float]]:
    """Per side (``False`` without the guard, ``True`` with it), the median of each workload over
    ``repeat`` rounds of one process per side."""
    runs: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    for i in range(repeat):
        for guarded in ((False, True) if i % 2 == 0 else (True, False)):
            runs[guarded].append(run_child(script, guarded, env))
    names = list(workloads)
    return {g: {k: statistics.median(r[k] for r in rs) for k in names} for g, rs in runs.items()}
