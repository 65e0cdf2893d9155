"""What a raw DuckDB connection answers on a fresh warehouse file: the expected results of the
honest twins the inference suites run in a guarded kernel on the same file (``raw_answers``, and
the pair of module fixtures ``answered_kernel`` makes: those answers and that kernel); how those
suites ask a guarded kernel (``ask``), what an honest twin must show (``same_answer``) and what a
refusal must show (``refused``)."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest

from jupyter_guard.connections import unwrap
from tests.conftest import make_warehouse, new_workspace
from tests.kernelutil import Kernel, Reply, guarded_kernel

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


def answered_kernel(queries: dict[str, str], rows: int, setup: Setup = (), *, first: str = "",
                    policy: str | None = None) -> tuple[Any, Any]:
    """Two module fixtures, for a suite to bind as ``expected, k = answered_kernel(...)``:
    ``expected``, the workspace and raw DuckDB's answers (``raw_answers`` of ``queries``,
    ``rows`` and ``setup``), and ``k``, a guarded kernel in that workspace with its warehouse
    open as ``con`` (``policy``: YAML it runs under), after the cell ``first`` when given."""

    @pytest.fixture(scope="module", name="expected")
    def expected_fixture(work_root: Path) -> tuple[Path, Answers]:
        return raw_answers(work_root, queries, rows, setup)

    @pytest.fixture(scope="module", name="k")
    def kernel_fixture(expected: tuple[Path, Answers]) -> Iterator[Kernel]:
        with guarded_kernel(expected[0], connect=True, policy=policy) as kernel:
            if first:
                kernel.ok(first)
            yield kernel

    return expected_fixture, kernel_fixture


def ask(q: str) -> str:
    """A cell printing ``ANSWER`` and the rows of ``q`` fetched through the guarded ``con``."""
    return f"print('ANSWER', repr(con.sql({q!r}).fetchall()))"


def same_answer(k: Kernel, expected: tuple[Path, Answers], name: str, q: str) -> None:
    """``q``, the honest twin ``name``, runs through the guarded ``con`` and prints the rows raw
    DuckDB gave (``expected``)."""
    r = k.ok(ask(q))
    assert f"ANSWER {expected[1][name]!r}" in r.stream, r.everything()


def refused(r: Reply, values: Iterable[str] = (), rule: str = "inference") -> None:
    """Refused by ``rule``, with no answer and none of ``values`` in any output message nor
    the reply."""
    seen = r.everything() + "\n" + repr(r.reply)
    assert r.status == "error" and f"[{rule}]" in r.everything(), seen
    assert "ANSWER" not in seen, seen
    assert not any(v in seen for v in values), seen
