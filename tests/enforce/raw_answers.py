"""What a raw DuckDB connection answers on a fresh warehouse file: the expected results of the
honest twins the inference suites run in a guarded kernel on the same file."""
from __future__ import annotations

from pathlib import Path

import duckdb

from jupyter_guard.connections import unwrap
from tests.conftest import make_warehouse, new_workspace

Answers = dict[str, list[tuple[object, ...]]]


def raw_answers(work_root: Path, queries: dict[str, str], rows: int) -> tuple[Path, Answers]:
    """A new workspace holding ``wh.duckdb`` (``rows`` customers), and each query's rows
    fetched from it by a connection no guard watches."""
    d = new_workspace(work_root)
    make_warehouse(d / "wh.duckdb", rows=rows)
    raw = unwrap(duckdb.connect(str(d / "wh.duckdb")))
    try:
        return d, {name: raw.execute(q).fetchall() for name, q in queries.items()}
    finally:
        raw.close()
