"""The audit kept by the authority: sustained ingest and the per-cell cost in the kernel.

    .venv/bin/python benchmarks/bench_authority.py [--events 80000] [--senders 16] [--pg] [--json]

- ingest: ``--senders`` threads, each a kernel's shipper sending its events in batches of the
  shipper's size (``shipper.BATCH``, encoded before the clock starts) to
  one authority process (``python -m jupyter_guard.authority_audit.app``), SQLite ledger (local
  mode) and, with ``--pg``, a throwaway PostgreSQL (hub mode, INSERT-only role). Measured twice:
  steady, and with the authority SIGKILLed and restarted at 40% (senders resend what was not
  acknowledged). Every run checks the ledger: each event once, no gap, the keyed chain verifies.
  The authority's CPU time is reported too (events per CPU-second of the authority processes,
  their start-up excluded, summed over a restart): on a machine shared with other work,
  wall-clock throughput says more about the load than about the authority.
- per cell: ``AuditLog.begin`` + ``finish`` (what a cell pays) without a shipper and with one
  shipping to a live authority meanwhile (target: no difference; shipping is a background thread).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jupyter_guard.authority_audit.shipper import BATCH  # noqa: E402 - after the path insert


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proc:
    def __init__(self, folder: Path, tokens: dict[str, Any], dsn: str = "") -> None:
        self.folder, self.dsn, self.port = folder, dsn, free_port()
        self.tokens = folder.parent / "tokens.json"
        self.tokens.write_text(json.dumps(tokens))
        self.url = f"http://127.0.0.1:{self.port}/jupyter-guard/api/kernel/audit/events"
        self.p: subprocess.Popen[str] | None = None
        # CPU seconds of ingest work, summed over the processes (a restart starts another)
        self.cpu_s = 0.0

    def start(self) -> None:
        cmd = [sys.executable, "-m", "jupyter_guard.authority_audit.app", "--folder",
               str(self.folder), "--port", str(self.port), "--tokens", str(self.tokens)]
        self.p = subprocess.Popen(cmd + (["--dsn", self.dsn] if self.dsn else []),
                                  stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.p.stdout is not None and self.p.stdout.readline().startswith("listening")
        self.cpu_s -= self._cpu()   # its start-up (imports, keys) is not ingest work

    def _cpu(self) -> float:
        assert self.p is not None
        fields = Path(f"/proc/{self.p.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def kill(self) -> None:
        assert self.p is not None
        self.cpu_s += self._cpu()
        os.kill(self.p.pid, signal.SIGKILL)
        self.p.wait()

    def stop(self) -> None:
        if self.p is not None and self.p.poll() is None:
            self.cpu_s += self._cpu()
            self.p.terminate()
            self.p.wait()


def event(session: str, n: int) -> dict[str, Any]:
    return {"event_id": uuid.uuid4().hex, "session_id": session, "ts_us": time.time_ns() // 1000,
            "user_name": "u", "actor": "human", "groups": [], "notebook": "n.ipynb",
            "cell_id": f"c{n}", "execution_count": n, "kind": "python",
            "code": f"df = con.execute('SELECT * FROM orders WHERE id = {n}').df()",
            "code_sha256": "0" * 64, "decision": "allow", "rule_id": "", "reason": "",
            "policy_revision": "r", "decision_id": "d", "status": "ok", "duration_ms": 1.0,
            "rows_affected": None, "lineage": [["read", "table", "orders", False]],
            "host": "h", "seq": n, "prev_hash": "", "hash": ""}


def send(url: str, token: str, batch: list[dict[str, Any]], body: bytes = b"") -> None:
    body = body or json.dumps({"events": batch}).encode()
    while True:   # like the shipper: resend until acknowledged
        try:
            req = urllib.request.Request(url, data=body, method="POST", headers={
                "Content-Type": "application/json", "X-Jupyter-Guard-Kernel": token})
            with urllib.request.urlopen(req, timeout=30) as r:
                if len(json.loads(r.read())["acked"]) == len(batch):
                    return
        except OSError:
            time.sleep(0.2)


def ingest(events: int, senders: int, dsn: str, restart: bool, authorities: int = 1
           ) -> dict[str, Any]:
    from jupyter_guard.authority_audit.mac import load_or_create_key
    from jupyter_guard.authority_audit.service import AuditAuthority
    from jupyter_guard.authority_audit.verify import verify

    with tempfile.TemporaryDirectory() as d:
        folder = Path(d) / "authority"
        tokens = {f"t{i}": {"kernel": f"k{i}", "user": f"user{i}"} for i in range(senders)}
        procs = []
        for n in range(authorities):   # several processes share one PostgreSQL ledger
            (Path(d) / f"t{n}").mkdir()
            procs.append(Proc(folder if n == 0 else Path(d) / f"t{n}" / "authority", tokens,
                              dsn))
            if n:   # the same keys: one authority, several processes
                import shutil

                shutil.copytree(folder, procs[-1].folder)
            procs[-1].start()
        proc = procs[0]
        per = events // senders
        batches = [[[event(f"s{i}", b * BATCH + j) for j in range(BATCH)]
                    for b in range(per // BATCH)] for i in range(senders)]
        total = sum(len(b) for s in batches for b in s)
        # encoded before the clock starts: the senders stand for other processes (kernels)
        bodies = {id(b): json.dumps({"events": b}).encode() for s in batches for b in s}
        done = [0]
        lock = threading.Lock()

        def run(i: int) -> None:
            for b in batches[i]:
                send(procs[i % len(procs)].url, f"t{i}", b, bodies[id(b)])
                with lock:
                    done[0] += len(b)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(senders)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        down = 0.0
        if restart:
            while done[0] < total * 0.4:
                time.sleep(0.01)
            t1 = time.perf_counter()
            proc.kill()
            proc.start()
            down = time.perf_counter() - t1
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        for p in procs:
            p.stop()
        auth = AuditAuthority.open(str(folder), dsn=dsn)
        rows = [(r.gseq, r.event_id) for r in auth.ledger.rows()]
        res = verify(auth.ledger, load_or_create_key(str(folder)), auth.public_key)
        sent = {e["event_id"] for s in batches for b in s for e in b}
        return {"events": total, "senders": senders, "wall_s": wall,
                "events_per_s": total / wall, "restart_s": down, "authorities": len(procs),
                "authority_cpu_s": sum(p.cpu_s for p in procs),
                "events_per_cpu_s": total / max(sum(p.cpu_s for p in procs), 1e-9),
                "lost": len(sent - {e for _, e in rows}), "duplicates": len(rows) - len(
                    {e for _, e in rows}), "gapless": [g for g, _ in rows] == list(
                    range(1, len(rows) + 1)), "verifies": res.ok}


def per_cell(cells: int) -> dict[str, Any]:
    from jupyter_guard.authority_audit.shipper import Shipper
    from jupyter_guard.record.audit import AuditLog

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as d:
        proc = Proc(Path(d) / "authority", {"t": {"kernel": "k", "user": "u"}})
        proc.start()
        for name in ("journal only", "shipping to the authority"):
            log = AuditLog(Path(d) / f"{name[:4]}.duckdb", background=False)
            shipper = None
            if name != "journal only":
                shipper = Shipper(log._journal, f"http://127.0.0.1:{proc.port}/", "t",
                                  interval=0.05)
                shipper.start()
            times = []
            for i in range(cells):
                t = time.perf_counter_ns()
                eid = log.begin(user="u", actor="human", notebook="n", cell_id=f"c{i}",
                                execution_count=i, kind="python", code=f"x = {i}",
                                decision="allow", rule_id="", reason="")
                log.finish(eid, status="ok", duration_ms=0.1)
                times.append((time.perf_counter_ns() - t) / 1000)
                time.sleep(0.001)   # a kernel runs a cell every few ms at most
            if shipper is not None:
                assert shipper.stop(flush_s=30)
                out["acked"] = shipper.acked
            log.close()
            times.sort()
            out[name] = {"p50_us": statistics.median(times),
                         "p99_us": times[int(len(times) * 0.99)]}
        proc.stop()
    out["added_p50_us"] = out["shipping to the authority"]["p50_us"] - out["journal only"][
        "p50_us"]
    return out


def kernel_cells(cells: int) -> dict[str, Any]:
    """Round trip of ``x = 1`` in a real guarded kernel, without and with an authority to ship
    to (one kernel after the other, ``cells`` cells each after 20 warm-up cells)."""
    from tests.kernelutil import guarded_kernel

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as d:
        proc = Proc(Path(d) / "authority", {"t": {"kernel": "k", "user": "u"}})
        proc.start()
        envs = {"journal only": {"JUPYTER_GUARD_USER": "u"},
                "shipping to the authority": {"JUPYTER_GUARD_USER": "u",
                                              "JUPYTER_GUARD_SERVER_URL": f"http://127.0.0.1:"
                                              f"{proc.port}/",
                                              "JUPYTER_GUARD_KERNEL_TOKEN": "t"}}
        times: dict[str, list[float]] = {k: [] for k in envs}
        for name, env in envs.items():
            (Path(d) / name[:4]).mkdir()
            with guarded_kernel(Path(d) / name[:4], env) as k:   # type: ignore[arg-type]
                for _ in range(20):
                    k.run("x = 1")
                for _ in range(cells):
                    t = time.perf_counter()
                    k.run("x = 1")
                    times[name].append((time.perf_counter() - t) * 1e3)
        proc.stop()
    for name, ts in times.items():
        ts.sort()
        out[name] = {"p50_ms": statistics.median(ts), "p99_ms": ts[int(len(ts) * 0.99)]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=80_000)
    ap.add_argument("--senders", type=int, default=16)
    ap.add_argument("--cells", type=int, default=5000)
    ap.add_argument("--kernel-cells", type=int, default=300)
    ap.add_argument("--pg", action="store_true", help="also hub mode on a throwaway PostgreSQL")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    res: dict[str, Any] = {"per_cell": per_cell(a.cells), "ingest": {},
                           "kernel": kernel_cells(a.kernel_cells) if a.kernel_cells else {}}
    res["ingest"]["local (SQLite)"] = ingest(a.events, a.senders, "", False)
    res["ingest"]["local (SQLite), restart at 40%"] = ingest(a.events, a.senders, "", True)
    if a.pg:
        from jupyter_guard.authority_audit import pg as pgledger
        from tests.pg.pgserver import start

        server = start()
        try:
            server.query("CREATE DATABASE ledger", db="postgres")
            server.query("CREATE ROLE guard_writer LOGIN", db="postgres")
            pgledger.setup(server.dsn("ledger"), "guard_writer")
            dsn = server.dsn("ledger", "guard_writer")
            res["ingest"]["hub (PostgreSQL)"] = ingest(a.events, a.senders, dsn, False)
            server.query("TRUNCATE guard_audit.events, guard_audit.checkpoints", db="ledger")
            res["ingest"]["hub (PostgreSQL), restart at 40%"] = ingest(a.events, a.senders,
                                                                        dsn, True)
            server.query("TRUNCATE guard_audit.events, guard_audit.checkpoints", db="ledger")
            res["ingest"]["hub (PostgreSQL), 2 authority processes"] = ingest(
                a.events, a.senders, dsn, False, authorities=2)
        finally:
            server.stop()
    if a.json:
        print(json.dumps(res))
        return
    pc = res["per_cell"]
    for k in ("journal only", "shipping to the authority"):
        print(f"per cell, {k}: p50 {pc[k]['p50_us']:.0f} µs, p99 {pc[k]['p99_us']:.0f} µs")
    for k, v in res["kernel"].items():
        print(f"kernel round trip of `x = 1`, {k}: p50 {v['p50_ms']:.2f} ms, "
              f"p99 {v['p99_ms']:.2f} ms")
    for k, v in res["ingest"].items():
        print(f"ingest {k}: {v['events']:,} events from {v['senders']} senders in "
              f"{v['wall_s']:.1f} s = {v['events_per_s']:,.0f} events/s "
              f"({v['events_per_cpu_s']:,.0f} per authority CPU-second); restart "
              f"{v['restart_s']:.1f} s; lost {v['lost']}, duplicates {v['duplicates']}, "
              f"gapless {v['gapless']}, verifies {v['verifies']}")


if __name__ == "__main__":
    main()
