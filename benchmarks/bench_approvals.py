"""Cost of approvals and of the authority-file check per cell.

    .venv/bin/python benchmarks/bench_approvals.py [--repeat 2000] [--json]

In process, on a real Ed25519 key and a real store file: the self-protection check every judged
cell now makes for the server's key and approval store (``opens_authority``; a cell with no
intents, a SQL cell with literals, a Python cell with file and shell intents), and what only a
cell that uses an approval pays: the server's spend (store update and file write, receipt signed)
and the kernel's check of the grant (two Ed25519 verifies).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from bench_identity import median_us

from jupyter_guard import grants
from jupyter_guard.analyze.sql import analyze_sql
from jupyter_guard.authority import Signer, Verifier, load_or_create_key
from jupyter_guard.explain import analyse
from jupyter_guard.guard.own_intents import opens_authority
from jupyter_guard.server.approval_store import ApprovalStore

CELLS = {
    "no intents": analyse("x = 1").intents,
    "SQL with literals": analyze_sql(
        "SELECT a.id FROM read_parquet('data/x.parquet') a JOIN customers b ON a.id = b.id "
        "WHERE b.city = 'Paris' AND a.ts > '2024-01-01'", "duckdb").intents,
    "Python: read, write, shell": analyse("import pandas as pd\ndf = pd.read_csv('data/in.csv')"
                                          "\ndf.to_csv('out/x.csv')\n!ls -la data/").intents,
}


def run(repeat: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, intents in CELLS.items():
        opens_authority(intents)
        out[name] = {"check_us": median_us(lambda i=intents: opens_authority(i), repeat)}
    with tempfile.TemporaryDirectory() as d:
        signer = Signer(load_or_create_key(str(Path(d) / "authority.key")))
        store = ApprovalStore(str(Path(d) / "approvals.json"), signer)
        code = "con.execute('DROP TABLE orders')"
        sha = hashlib.sha256(code.encode()).hexdigest()
        n = [0]

        def spend() -> None:
            n[0] += 1
            req = store.create(requester="alice", kernel_id="k", msg_id=f"r{n[0]}", code=code,
                               rule="destructive-ddl", reason="")
            store.decide(req["id"], approver="gina", verdict="approve")
            assert store.spend(requester="alice", code_sha256=sha, msg_id=f"m{n[0]}",
                               kernel_id="k") is not None

        spend_us = median_us(spend, min(repeat, 200), batch=10)
        req = store.create(requester="alice", kernel_id="k", msg_id="x", code=code, rule="r",
                           reason="")
        store.decide(req["id"], approver="gina", verdict="approve")
        got = store.spend(requester="alice", code_sha256=sha, msg_id="m", kernel_id="k")
        assert got is not None
        verifier, grant = Verifier(signer.public), got[1]
        check = median_us(lambda: grants.problem(verifier, grant, user="alice",
                                                 code_sha256=sha, msg_id="m"), repeat)
        out["approval used"] = {"server_create_decide_spend_us": spend_us,
                                "kernel_check_us": check}
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
        print(f"{name:>27}: " + ", ".join(f"{k} {v:.1f} µs" for k, v in r.items()))


if __name__ == "__main__":
    main()
