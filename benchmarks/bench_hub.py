"""Cost of hub mode per cell: the single-user server asks the hub service to sign the stamp.

    sudo .venv/bin/python benchmarks/bench_hub.py [--repeat 300] [--json]

Starts a real JupyterHub with the guard's service under ``jgauth`` (the harness of
``tests/hub``; needs root and configurable-http-proxy) and times ``HubSigner.stamp`` (one
loopback HTTP call, the hub's token check cached by the service) with alice's token, wall clock,
against the local ``Signer.stamp`` of a plain jupyter server. The kernel's verification is the
same in both modes (``bench_identity``).
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jupyter_guard.authority import Signer, load_or_create_key
from jupyter_guard.hub.client import HubLink, HubSigner
from tests.hub.hubutil import SERVICE, Hub, ensure_users, python_for, why_not


def median_ms(fn: Any, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return statistics.median(times) * 1e3, times[int(len(times) * 0.95)] * 1e3


def run(repeat: int) -> dict[str, Any]:
    reason = why_not()
    if reason:
        return {"skipped": reason}
    ensure_users()
    root = Path(tempfile.mkdtemp(prefix="jg-hub-bench-"))
    root.chmod(0o755)
    try:
        python, blocked = python_for("alice", root)
        if blocked:
            return {"skipped": blocked}
        (root / "policy.yaml").write_text("version: 1\nextends: default\n")
        (root / "policy.yaml").chmod(0o644)
        hub = Hub(root, root / "policy.yaml", python)
        try:
            hub.start()
            token = hub.token("alice")
            url = f"http://127.0.0.1:{hub.svc_port}/services/{SERVICE}/"
            remote = HubSigner(HubLink(url, token))
            local = Signer(load_or_create_key(str(root / "local.key")))

            def stamp(signer: Any) -> None:
                signer.stamp(user="alice", groups=(), actor="human", cell_id="c",
                             msg_id=uuid.uuid4().hex, code="x = 1")

            stamp(remote)           # the service's first token check asks the hub
            hub_ms = median_ms(lambda: stamp(remote), repeat)
            # the floor: the same connection, a request with no login and no signing
            trip_ms = median_ms(lambda: remote.hub.call("pubkey"), repeat)
            local_ms = median_ms(lambda: stamp(local), repeat)
        finally:
            hub.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"hub service stamp": {"median_ms": hub_ms[0], "p95_ms": hub_ms[1]},
            "round trip (pubkey)": {"median_ms": trip_ms[0], "p95_ms": trip_ms[1]},
            "local server stamp": {"median_ms": local_ms[0], "p95_ms": local_ms[1]}}


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--repeat", type=int, default=300)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    res = run(a.repeat)
    if a.json:
        print(json.dumps(res))
        return
    for name, r in res.items():
        print(f"{name:>19}: " + (", ".join(f"{k} {v:.3f}" for k, v in r.items())
                                 if isinstance(r, dict) else str(r)))


if __name__ == "__main__":
    main()
