"""What the psycopg inference suites share: a module kernel on a fresh copy of ``shop``
(``psycopg_kernel``), a cell that runs one statement on a cursor and prints ``ANSWER`` and its
rows (``cur``), a refusal with no answer in any message (``refused``), and a statement that runs
through the guard with the rows the server itself gives (``served``)."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pg.conftest import PSYCOPG, pg_kernel
from tests.pg.pgserver import PgServer


def psycopg_kernel(folder: str, setup: str = "") -> Any:
    """The module fixture ``k`` (bind it as ``k = psycopg_kernel(...)``): a guarded kernel in
    ``work_root / folder`` connected by psycopg as ``pg`` to a fresh ``shop`` (``setup`` run
    there first)."""

    @pytest.fixture(scope="module", name="k")
    def kernel_fixture(pg: PgServer, work_root: Path) -> Iterator[Any]:
        with pg_kernel(pg, work_root / folder, PSYCOPG, setup=setup) as kernel:
            yield kernel

    return kernel_fixture


def cur(sql: str) -> str:
    """A cell running ``sql`` on a cursor of ``pg`` and printing ``ANSWER`` and its rows."""
    return f"c = pg.cursor()\nc.execute({sql!r})\nprint('ANSWER', c.fetchall())"


def refused(r: Any, values: Iterable[str] = ()) -> None:
    """Refused by ``inference``, with no answer and none of ``values`` in any output message nor
    the reply."""
    seen = r.everything() + repr(r.reply)
    assert r.status == "error" and "[inference]" in r.everything(), seen
    assert "ANSWER" not in seen and not any(v in seen for v in values), seen


def served(k: Any, sql: str) -> None:
    """``sql`` runs through the guard and prints the rows the server gives (read unguarded)."""
    want = k.pg.query(sql, db=k.db)
    r = k.run(cur(sql))
    assert r.status == "ok", r.everything()
    assert f"ANSWER {[tuple(w) for w in want]!r}" in r.stream, r.everything()
