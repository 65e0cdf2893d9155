"""The audit at 100k, 1M, 10M events: generated in bulk with DuckDB SQL, measured in any checkout.

``generate`` writes ``events.parquet`` and ``lineage.parquet`` once per size: sessions of 100
events, 3 lineage rows each, 5% blocked, valid hash chains (computed in SQL, one ``seq`` level at
a time, with the same canonical text the verifier's SQL uses). ``measure`` loads them into a
store of whatever layout the imported ``jupyter_guard`` has (one DuckDB file today; the catalog
and sealed segments on this branch) and times what the issue lists. ``bench_audit.py --scale``
runs ``measure`` for this checkout and, with ``--baseline DIR``, for another one in a
subprocess, on the same generated events.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

PER_SESSION = 100
BLOCKED_CELL = "import shutil; shutil.rmtree('data')"


def generate(folder: Path, n: int) -> float:
    """Write the events of a store of ``n`` events to ``folder``; returns seconds taken."""
    from jupyter_guard.record.chainsql import CANONICAL

    if (folder / "events.parquet").exists():
        return 0.0
    folder.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"""CREATE TABLE base AS SELECT
        md5(i::VARCHAR) AS event_id, 's' || lpad((i // {PER_SESSION})::VARCHAR, 8, '0') AS
        session_id, (i % {PER_SESSION} + 1)::BIGINT AS seq,
        TIMESTAMP '2026-01-01' + to_microseconds((i::HUGEINT * 2592000000000 // {n})::BIGINT)
            AS ts,
        'user' || (hash(i // {PER_SESSION}) % 50) AS user_name, 'human' AS actor,
        []::VARCHAR[] AS groups, 'n.ipynb' AS notebook, 'c' || i AS cell_id,
        (i % {PER_SESSION} + 1)::INTEGER AS execution_count, 'sql' AS kind,
        'SELECT * FROM table' || (i % 40) AS code, md5('c' || i) AS code_sha256,
        CASE WHEN hash(i) % 20 = 0 THEN 'block' ELSE 'allow' END AS decision,
        CASE WHEN hash(i) % 20 = 0 THEN 'bulk-changes' ELSE '' END AS rule_id,
        CASE WHEN hash(i) % 20 = 0 THEN 'DELETE without WHERE' ELSE 'no rule matched' END
            AS reason, 'r1' AS policy_revision, '' AS decision_id,
        CASE WHEN hash(i) % 20 = 0 THEN 'blocked' ELSE 'ok' END AS status,
        1.0::DOUBLE AS duration_ms, NULL::BIGINT AS rows_affected, 'bench' AS host
        FROM range({n}) t(i) ORDER BY seq""")
    con.execute(f"""CREATE TABLE lineage AS SELECT md5(i::VARCHAR) AS event_id, 'read' AS
        direction, kind AS object_kind, name, sens AS is_sensitive FROM range({n}) t(i),
        LATERAL (VALUES ('table', 'table' || (i % 40), false),
            ('column', 'table' || (i % 40) || '.col' || (hash(i) % 200), hash(i) % 200 < 10),
            ('variable', 'df' || (i % 7), false)) v(kind, name, sens)""")
    con.execute("""CREATE TABLE lin AS SELECT event_id, '[' || string_agg(json_array(direction,
        object_kind, name, is_sensitive)::VARCHAR, ',' ORDER BY direction, object_kind, name,
        is_sensitive) || ']' AS l FROM lineage GROUP BY event_id""")
    # each event's lineage text joined once, the rows kept in seq order: a step below reads
    # only its seq's row groups (zone maps), so the 100 steps cost one pass, not 100
    con.execute("""CREATE TABLE basel AS SELECT e.*, lin.l AS lin_l FROM base e
        LEFT JOIN lin USING (event_id) ORDER BY seq""")
    con.execute("DROP TABLE base")
    con.execute("CREATE TABLE prev (session_id VARCHAR, hash VARCHAR)")
    con.execute("CREATE TABLE chained AS SELECT * EXCLUDE (lin_l), ''::VARCHAR AS prev_hash, "
                "''::VARCHAR AS hash FROM basel LIMIT 0")
    canonical = CANONICAL.replace("prev_hash", "p.hash").replace("lin.l", "e.lin_l")
    for k in range(1, PER_SESSION + 1):
        con.execute(f"""CREATE OR REPLACE TABLE cur AS SELECT e.* EXCLUDE (lin_l),
            coalesce(p.hash, '') AS prev_hash, sha256(coalesce(p.hash, '') || {canonical}) AS hash
            FROM basel e LEFT JOIN prev p USING (session_id) WHERE e.seq = {k}""")
        con.execute("INSERT INTO chained SELECT * FROM cur")
        con.execute("CREATE OR REPLACE TABLE prev AS SELECT session_id, hash FROM cur")
    con.execute(f"COPY (SELECT * FROM chained ORDER BY session_id, seq) TO "
                f"'{folder / 'events.parquet'}' (FORMAT parquet)")
    con.execute(f"COPY lineage TO '{folder / 'lineage.parquet'}' (FORMAT parquet)")
    con.close()
    return time.perf_counter() - t


def load(gen: Path, path: Path) -> str:
    """A store at ``path`` holding the generated events, in the imported checkout's layout."""
    from jupyter_guard.duck import own_connection
    from jupyter_guard.record import ingest
    from jupyter_guard.record.schema import ensure_schema

    con = own_connection(os.fspath(path))
    ensure_schema(con)
    layout = "segments" if con.execute("SELECT count(*) FROM duckdb_tables() WHERE "
                                       "table_name = 'events_live'").fetchall()[0][0] else "file"
    ev, li = (f"read_parquet('{gen / f}')" for f in ("events.parquet", "lineage.parquet"))
    written: list[str] = []
    cols = "event_id, ts, user_name, actor, groups, session_id, seq, notebook, cell_id, " \
           "execution_count, kind, code, code_sha256, decision, rule_id, reason, " \
           "policy_revision, decision_id, status, duration_ms, rows_affected, host, prev_hash, " \
           "hash, ts AS finished_at"
    if layout == "file":
        con.execute(f"INSERT INTO events BY NAME SELECT {cols} FROM {ev}")
        con.execute(f"INSERT INTO lineage BY NAME SELECT * FROM {li}")
    else:
        from jupyter_guard.record import segments as sg

        # segments written straight from the generated events, 1M at a time, as a seal would
        # write them (nothing passes through the file's live tables)
        (n,), = con.execute(f"SELECT count(*) FROM {ev}").fetchall()
        step = 1_000_000
        for lo in range(0, n, step):
            con.execute("CREATE OR REPLACE TEMP TABLE _chunk AS SELECT * FROM events_live LIMIT 0")
            con.execute(f"""INSERT INTO _chunk BY NAME SELECT {cols} FROM {ev}
                WHERE session_id >= 's' || lpad(({lo} // {PER_SESSION})::VARCHAR, 8, '0')
                AND session_id < 's' || lpad((({lo} + {step}) // {PER_SESSION})::VARCHAR, 8, '0')
                """)
            name = sg._write(con, sg.segment_dir(path), "SELECT * FROM _chunk ORDER BY "
                             "session_id, seq", f"SELECT l.* FROM {li} l SEMI JOIN _chunk c "
                             "USING (event_id)")
            sg._register(con, name, "_chunk")
            sg._rollup(con, name, "_chunk")
            written.append(name)
        con.execute("DROP TABLE _chunk")
        sg.create_views(con, path)
    con.execute(f"""INSERT INTO sessions (session_id, journal, last_seq, last_hash, closed)
        SELECT session_id, session_id || '.jsonl', max(seq), arg_max(hash, seq), true
        FROM {ev} GROUP BY 1""")
    con.execute("CHECKPOINT")
    con.close()
    if layout == "segments":   # a steady-state file: the loaded rows' freed blocks given back
        from jupyter_guard.record.store import rewrite, store_lock

        with store_lock(path, wait=None), rewrite(path, shrink=True):
            pass
    ingest(path)
    if layout == "segments":
        try:   # the writer seals what it writes (a checkout without seal_write does not)
            from jupyter_guard.record.seal_write import seal_segment
        except ImportError:
            return layout
        t = time.perf_counter()
        for name in written:
            seal_segment(path, name)
        SEALED["seal_s"] = time.perf_counter() - t
    return layout


SEALED: dict[str, float] = {}   # the loader's write-time sealing: seconds for all segments


def _sizes(path: Path) -> dict[str, float]:
    seg = Path(f"{path}.segments")
    journal = Path(f"{path}.journal")
    total = sum(f.stat().st_size for f in seg.glob("*")) if seg.is_dir() else 0
    kept = sum(f.stat().st_size for f in journal.rglob("*.jsonl")) if journal.is_dir() else 0
    return {"file_mb": path.stat().st_size / 2**20, "segments_mb": total / 2**20,
            "journals_mb": kept / 2**20}


def ingest_100(path: Path, runs: int = 5) -> list[float]:
    from jupyter_guard.record import AuditLog, ingest

    took = []
    for _ in range(runs):
        log = AuditLog(path, background=False)
        for i in range(100):
            e = log.begin(user="ada", actor="human", notebook="n", cell_id=f"c{i}",
                          execution_count=i, kind="python", code=f"x = {i}", decision="allow",
                          rule_id="", reason="", lineage=[("write", "variable", "x", False)])
            log.finish(e, status="ok", duration_ms=1.0)
        t = time.perf_counter()
        ingest(path)
        took.append(time.perf_counter() - t)
        log._journal.close()   # type: ignore[union-attr]  # no closing ingest: timed above
        log._closed = True
    return took


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """(seconds, peak MB, exit code, last output line) of a fresh process.

    The peak comes from ``/usr/bin/time`` where it exists: Linux carries a parent's peak RSS into
    a child it forks, so ``wait4`` here would report this (large) process's own peak.
    """
    timer = ["/usr/bin/time", "-f", "JG_MAXRSS_KB %M"] if os.path.exists("/usr/bin/time") else []
    t = time.perf_counter()
    p = subprocess.Popen(timer + argv, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True,
                         cwd=tempfile.gettempdir())   # not a checkout: -m imports it
    out = p.stdout.read() if p.stdout else ""
    _, status, usage = os.wait4(p.pid, 0)
    took = time.perf_counter() - t
    lines = [x for x in out.strip().splitlines() if not x.startswith("JG_MAXRSS_KB ")]
    peak = [int(x.split()[1]) for x in out.splitlines() if x.startswith("JG_MAXRSS_KB ")]
    code = os.waitstatus_to_exitcode(status)
    return took, (peak[-1] if peak else usage.ru_maxrss) / 1024, code, (lines or [""])[-1][:160]


def cells(path: Path, tmp: Path, runs: int) -> dict[str, float]:
    """Round trip of an allowed and a blocked cell in a guarded kernel on this store, in pairs
    (one of each, alternating which goes first): p50 of each, and p50 of the pairs' difference
    (the blocked one's cost on the same minute's load)."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
    from kernelutil import Kernel

    (tmp / "data").mkdir(exist_ok=True)
    k = Kernel(tmp, env={"JUPYTER_GUARD_AUDIT": os.fspath(path),
                         "JUPYTER_GUARD_USER": "ada"})
    try:
        assert k.run("%load_ext jupyter_guard").status == "ok"
        k.run("x = 0")
        assert k.run(BLOCKED_CELL).status == "error"   # warm: the first refusal's imports
        allowed, blocked = [], []

        def one(code: str, status: str) -> float:
            t = time.perf_counter()
            assert k.run(code).status == status
            return (time.perf_counter() - t) * 1e3

        for i in range(runs):
            if i % 2:
                blocked.append(one(BLOCKED_CELL, "error"))
                allowed.append(one("x = 1", "ok"))
            else:
                allowed.append(one("x = 1", "ok"))
                blocked.append(one(BLOCKED_CELL, "error"))
    finally:
        k.stop()
    return {"allowed_ms": statistics.median(allowed), "blocked_ms": statistics.median(blocked),
            "blocked_minus_allowed_ms": statistics.median(b - a for a, b in zip(allowed, blocked)),
            "cell_runs": runs}


def measure(gen: Path, work: Path, *, verify: bool, kernel_runs: int) -> dict[str, Any]:
    from jupyter_guard.record.report import report

    path = work / "audit.duckdb"
    t = time.perf_counter()
    layout = load(gen, path)
    out: dict[str, Any] = {"layout": layout, "load_s": time.perf_counter() - t}
    out.update(_sizes(path))
    out["ingest_100_s"] = statistics.median(ingest_100(path))
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        report(path)
        runs.append(time.perf_counter() - t)
    out["report_fn_s"] = statistics.median(runs)
    # bytecode cached as an installed package has it (a run with PYTHONDONTWRITEBYTECODE would
    # compile every module on each start: 0.15 s more per command on this machine)
    env = {**os.environ, "JUPYTER_GUARD_AUDIT": os.fspath(path),
           "PYTHONPYCACHEPREFIX": os.fspath(work / "pycache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cli = [sys.executable, "-m", "jupyter_guard.cli"]
    _run(cli + ["report"], env)   # fills the bytecode cache
    out["report_cli_s"] = statistics.median(_run(cli + ["report"], env)[0] for _ in range(3))
    out.update(SEALED)
    if verify:
        # the store's first verify (segments sealed by their writer are linked, not re-hashed),
        # then every row re-hashed (a checkout without --full exits 2: its plain run re-hashed)
        s, mb, rc, line = _run(cli + ["verify"], env)
        out.update(verify_s=s, verify_mb=mb, verify_rc=rc, verify_out=line)
        s, mb, rc, line = _run(cli + ["verify", "--full"], env)
        if rc != 2:
            out.update(verify_full_s=s, verify_full_mb=mb, verify_full_rc=rc)
    if kernel_runs:
        out.update(cells(path, work, kernel_runs))
    return out


if __name__ == "__main__":   # one checkout's figures, as JSON (run by bench_audit.py --scale)
    args = json.loads(sys.argv[1])
    print(json.dumps(measure(Path(args["gen"]), Path(args["work"]), verify=args["verify"],
                             kernel_runs=args["kernel_runs"])))
