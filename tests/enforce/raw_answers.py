"""What a raw DuckDB connection answers on a fresh warehouse file: the expected results of the
honest twins the inference suites run in a guarded kernel on the same file; how those suites ask
a guarded kernel (``ask``) and what a refusal must show (``refused``)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb

from jupyter_guard.connections import unwrap
from tests.conftest import make_warehouse, new_workspace
from tests.kernelutil import Reply

Answers = dict[str, list[tuple[object, ...]]]


Setup = Sequence["str | tuple[str, list[tuple[object, ...]]]"]


def raw_answers(work_root: Path, queries: dict[str, str], rows: int,
                setup: Setup = ()) -> tuple[Path, Answers]:
    """A new workspace holding ``wh.duckdb`` (``rows`` customers, then each ``setup``
    statement run: a text, or a text and the rows ``executemany`` binds), and each query's rows
    fetched from it by a connection no guard watches."""
    d = new_workspace(work_root)
    make_warehouse(d / "wh.duckdb", rows=rows)
    raw = unwrap(duckdb.connect(str(d / "wh.duckdb")))
    try:
        for step in setup:
            if isinstance(step, str):
                raw.execute(step)
            else:
                raw.executemany(*step)
        return d, {name: raw.execute(q).fetchall() for name, q in queries.items()}
    finally:
        raw.close()


def ask(q: str) -> str:
    """A cell printing ``ANSWER`` and the rows of ``q`` fetched through the guarded ``con``."""
    return f"print('ANSWER', repr(con.sql({q!r}).fetchall()))"


def refused(r: Reply, values: Iterable[str] = (), rule: str = "inference") -> None:
    """Refused by ``rule``, with no answer and none of ``values`` in any output message nor
    the reply."""
    seen = r.everything() + "\n" + repr(r.reply)
    assert r.status == "error" and f"[{rule}]" in r.everything(), seen
    assert "ANSWER" not in seen, seen
    assert not any(v in seen for v in values), seen
