"""Through real kernels (jupyter_client round trips, until the kernel is idle again):

* added latency per cell, guarded vs plain kernel: ``x = 1`` and a 30-line pandas cell;
* ``%%guarded_sql`` (guarded kernel) vs raw DuckDB ``con.execute(q).df()`` and jupysql ``%%sql``
  with ``autopandas`` (plain kernel), each result displayed: a point query, an aggregate over 1M
  rows and a 100k-row result;
* ``%load_ext jupyter_guard`` in a fresh kernel.

    .venv/bin/python benchmarks/bench_kernel.py [--repeat 40] [--json]

Cells of the compared kernels are interleaved, in a rotating order, so that machine noise hits
all alike. Every kernel runs without IPython's output cache (``Out``), so that the results of
earlier runs do not pile up in its heap.
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from jupyter_client.manager import KernelManager

ROOT = Path(__file__).resolve().parent.parent

PANDAS_SETUP = """
import numpy as np, pandas as pd
rng = np.random.default_rng(0)
orders = pd.DataFrame({"order_id": np.arange(20_000), "customer": rng.integers(0, 500, 20_000),
                       "amount": rng.gamma(2.0, 30.0, 20_000).round(2),
                       "day": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 90, 20_000), "D"),
                       "region": rng.choice(["north", "south", "east", "west"], 20_000)})
customers = pd.DataFrame({"customer": np.arange(500), "segment": rng.choice(["a", "b", "c"], 500)})
"""

PANDAS_CELL = """\
df = orders.copy()
df["week"] = df["day"].dt.to_period("W").dt.start_time
df["big"] = df["amount"] > 100
df["amount_eur"] = df["amount"] * 0.92
df = df.merge(customers, on="customer", how="left")
df = df[df["amount"] > 5]
by_region = df.groupby("region")["amount"].agg(["sum", "mean", "count"])
by_segment = df.groupby(["segment", "region"], as_index=False)["amount_eur"].sum()
weekly = df.groupby("week")["amount"].sum().rename("revenue").reset_index()
weekly["rolling"] = weekly["revenue"].rolling(4, min_periods=1).mean()
weekly["growth"] = weekly["revenue"].pct_change()
top = df.sort_values("amount", ascending=False).head(20)
pivot = df.pivot_table(index="region", columns="segment", values="amount", aggfunc="sum")
share = pivot.div(pivot.sum(axis=1), axis=0).round(3)
df["rank"] = df.groupby("region")["amount"].rank(ascending=False)
best = df[df["rank"] <= 3][["region", "order_id", "amount"]]
cust = df.groupby("customer").agg(orders=("order_id", "count"), spend=("amount", "sum"))
cust["avg"] = cust["spend"] / cust["orders"]
cust = cust.join(customers.set_index("customer"))
loyal = cust[cust["orders"] >= cust["orders"].quantile(0.9)]
loyal_share = len(loyal) / len(cust)
daily = df.set_index("day")["amount"].resample("D").sum()
daily_z = (daily - daily.mean()) / daily.std()
outliers = daily_z[daily_z.abs() > 2]
mix = df["region"].value_counts(normalize=True)
cross = pd.crosstab(df["region"], df["big"])
q = df["amount"].quantile([0.25, 0.5, 0.75]).to_dict()
flags = df.assign(high=lambda d: d["amount"] > q[0.75]).groupby("segment")["high"].mean()
result = {"regions": len(by_region), "weeks": len(weekly), "loyal": loyal_share}
summary = pd.Series(result)
"""

SQL_SETUP = """
import duckdb
con = duckdb.connect()
con.execute("CREATE TABLE t AS SELECT i AS id, i % 100 AS g, (i * 7919 % 1000) / 10.0 AS v, "
            "'item ' || i AS name FROM range(1000000) r(i)")
"""

QUERIES = {
    "point query": "SELECT * FROM t WHERE id = 4242",
    "aggregate over 1M rows": "SELECT g, count(*) AS n, sum(v) AS s, avg(v) AS a FROM t GROUP BY g ORDER BY g",
    "100k-row result": "SELECT id, g, v, name FROM t WHERE id < 100000",
}


class Kernel:
    def __init__(self, env: dict[str, str], cwd: str) -> None:
        self.km = KernelManager(kernel_name="python3")
        self.km.kernel_spec.argv[0] = sys.executable
        full = {**os.environ, **env}
        # no output cache: 100 kept 100k-row results per kernel made the heap, and the figures, drift
        self.km.start_kernel(cwd=cwd, env=full, extra_arguments=["--HistoryManager.enabled=False",
                                                                 "--InteractiveShell.cache_size=0"],
                             stderr=subprocess.DEVNULL)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=90)

    def run(self, code: str, timeout: float = 120) -> tuple[float, str, list[dict[str, Any]]]:
        content = {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                   "allow_stdin": False, "stop_on_error": False}
        msg = self.kc.session.msg("execute_request", content)
        t = time.perf_counter()
        self.kc.shell_channel.send(msg)
        mid = msg["header"]["msg_id"]
        out: list[dict[str, Any]] = []
        idle = status = None
        while idle is None or status is None:
            if idle is None:
                try:
                    m = self.kc.get_iopub_msg(timeout=timeout)
                except queue.Empty:
                    raise TimeoutError(code[:60]) from None
                if m["parent_header"].get("msg_id") == mid:
                    if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                        idle = time.perf_counter()
                    elif m["msg_type"] not in ("status", "execute_input"):
                        out.append(m)
            else:
                r = self.kc.get_shell_msg(timeout=timeout)
                if r["parent_header"].get("msg_id") == mid:
                    status = r["content"]["status"]
        return (idle - t) * 1000, status, out

    def ok(self, code: str) -> list[dict[str, Any]]:
        _, status, out = self.run(code)
        if status != "ok":
            errs = [m["content"] for m in out if m["msg_type"] == "error"]
            raise RuntimeError(f"cell failed: {code[:80]!r}: {errs}"[:3000])
        return out

    def stop(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def interleaved(pairs: dict[str, tuple[Kernel, str]], repeat: int) -> dict[str, float]:
    """Median ms of each named (kernel, cell), runs interleaved; 3 warm-up runs each. The order
    rotates every round: a cell that always ran right after another kernel's heavy cell would
    pay for that kernel's leftover work (its I/O threads, its garbage collection)."""
    times: dict[str, list[float]] = {k: [] for k in pairs}
    names = list(pairs)
    for i in range(repeat + 3):
        for name in names[i % len(names):] + names[:i % len(names)]:
            k, code = pairs[name]
            ms, status, out = k.run(code)
            if status != "ok":
                raise RuntimeError(f"{name} failed: {[m['content'] for m in out]}")
            if i >= 3:
                times[name].append(ms)
    return {k: statistics.median(v) for k, v in times.items()}


def guarded_env(tmp: str) -> dict[str, str]:
    return {"JUPYTER_GUARD_AUDIT": str(Path(tmp) / "audit.duckdb"), "JUPYTER_GUARD_USER": "bench",
            "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def cells(plain: Kernel, guarded: Kernel, repeat: int) -> dict[str, Any]:
    for k in (plain, guarded):
        k.ok(PANDAS_SETUP)
    res = {}
    for name, code in (("trivial cell (x = 1)", "x = 1"), ("30-line pandas cell", PANDAS_CELL)):
        m = interleaved({"plain": (plain, code), "guarded": (guarded, code)}, repeat)
        res[name] = {**m, "added_ms": m["guarded"] - m["plain"], "ratio": m["guarded"] / m["plain"]}
    return res


def sql(plain: Kernel, guarded: Kernel, repeat: int) -> dict[str, Any]:
    plain.ok(SQL_SETUP)
    plain.ok("%load_ext sql\n%config SqlMagic.autopandas = True\n%config SqlMagic.displaycon = False\n"
             "%config SqlMagic.feedback = 0\n%sql con --alias duck")
    guarded.ok(SQL_SETUP)
    res = {}
    for name, q in QUERIES.items():
        m = interleaved({"raw DuckDB": (plain, f"con.execute({q!r}).df()"),
                         "jupysql %%sql": (plain, f"%%sql\n{q}"),
                         "%%guarded_sql": (guarded, f"%%guarded_sql con\n{q}"),
                         "raw DuckDB, guarded kernel": (guarded, f"con.execute({q!r}).df()")}, repeat)
        base = m["raw DuckDB"]
        res[name] = {k: {"ms": v, "ratio": v / base, "added_ms": v - base} for k, v in m.items()}
    return res


def load_ext(tmp: str, runs: int) -> dict[str, Any]:
    """In-kernel time of ``%load_ext jupyter_guard`` and its round trip, a fresh kernel each run."""
    inside, trips = [], []
    for _ in range(runs):
        k = Kernel(guarded_env(tmp), tmp)
        try:
            k.ok("import time")
            ms, status, out = k.run("_t0 = time.perf_counter()\n"
                                    "get_ipython().run_line_magic('load_ext', 'jupyter_guard')\n"
                                    "print('LOADMS', (time.perf_counter() - _t0) * 1000)")
            text = "".join(m["content"].get("text", "") for m in out if m["msg_type"] == "stream")
            if status != "ok" or "LOADMS" not in text:
                raise RuntimeError(f"%load_ext failed: {out}")
            inside.append(float(text.split("LOADMS", 1)[1].split()[0]))
            trips.append(ms)
        finally:
            k.stop()
    return {"in_kernel_ms": statistics.median(inside), "round_trip_ms": statistics.median(trips)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=40)
    ap.add_argument("--load-runs", type=int, default=5)
    ap.add_argument("--only", choices=["cells", "sql", "load"], default=None)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    res: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        if a.only in (None, "cells", "sql"):
            plain = Kernel({}, tmp)
            guarded = Kernel(guarded_env(tmp), tmp)
            try:
                guarded.ok("%config JupyterGuard.quiet = True\n%load_ext jupyter_guard")
                if a.only in (None, "cells"):
                    res["cells"] = cells(plain, guarded, a.repeat)
                if a.only in (None, "sql"):
                    res["sql"] = sql(plain, guarded, a.repeat)
            finally:
                plain.stop()
                guarded.stop()
        if a.only in (None, "load"):
            res["load_ext"] = load_ext(tmp, a.load_runs)
    print(json.dumps(res, indent=2) if a.json else res)


if __name__ == "__main__":
    main()
