"""The benchmarks' synthetic audit stores are written the way the store is laid out today: `make bench`
fills them straight into the live tables (``events`` and ``lineage`` are views over the live tables
and the sealed segments), and the governance views read every row back."""
from __future__ import annotations

import sys
from pathlib import Path

import duckdb

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def test_synthetic_store_reads_back_through_the_views(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        from bench_audit import QUERIES, synthetic
    finally:
        sys.path.remove(str(BENCH))
    path = tmp_path / "s.duckdb"
    synthetic(path, 2_000)
    con = duckdb.connect(str(path), read_only=True)
    try:
        (events,), = con.execute("SELECT count(*) FROM events").fetchall()
        (lineage,), = con.execute("SELECT count(*) FROM lineage").fetchall()
        blocked = con.execute(QUERIES["blocked per user per day, 30 days"]).fetchall()
    finally:
        con.close()
    assert (events, lineage) == (2_000, 6_000)
    # (user_name, day, blocked, allowed, events): every event counted once, about 5% blocked
    assert sum(r[4] for r in blocked) == 2_000
    assert 0 < sum(r[2] for r in blocked) < 400
