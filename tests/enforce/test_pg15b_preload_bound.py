"""The values of a DuckDB file's sensitive columns, read on the file's first fetch
(``warehouse_values.preload``), stay within the known values' bounds (``exits.MAX_KNOWN``,
``MAX_KNOWN_BYTES``): a column that does not fit is skipped, never remembered past the bound,
and the fetch that read the file (plain columns) still runs; a later fetch of the sensitive
column itself is refused (``guard-error``, naming the fix). Twin: with room, the file's SSNs are
known after a fetch of ``city`` alone. The bounds are brought near by setting the counters (as
``test_pg15_known_bound`` does). Real in-process shell (``ip``), real DuckDB files."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_warehouse
from tests.pg.conftest import run

ROWS = 50
SSNS = {str(100000000 + i) for i in range(ROWS)}   # ``make_warehouse``'s


@pytest.fixture()
def fresh(ip: Any, workdir: Path) -> Iterator[Any]:
    """A new 50-customer file not read yet; the known values emptied (something else known,
    so ``held`` is kept), put back after with the counters."""
    from jupyter_guard.hooks import exits

    saved, counted, held = set(exits.known), exits.counted[0], exits.held[0]
    exits.known.clear()
    exits.remember(["pg15b-preload-anchor"])
    ip.wh = make_warehouse(workdir / f"wh-{uuid.uuid4().hex[:8]}.duckdb", rows=ROWS)
    ip.user_ns.pop("got", None)
    try:
        yield ip
    finally:
        run(ip, "con.close()")
        exits.known.clear()
        exits.known.update(saved)
        exits.counted[0], exits.held[0] = counted, held


def _first_fetch(ip: Any) -> Any:
    return run(ip, f"import duckdb\ncon = duckdb.connect({str(ip.wh)!r})\n"
                   "got = con.execute('SELECT id, city FROM customers ORDER BY id').fetchall()")


def test_a_preload_past_the_count_bound_is_skipped(fresh: Any) -> None:
    from jupyter_guard.hooks import exits

    exits.counted[0] = exits.MAX_KNOWN - 10   # not full: the file's 100 values do not fit
    r = _first_fetch(fresh)
    assert r.error is None, r.error   # the honest fetch of plain columns runs
    assert len(fresh.user_ns["got"]) == ROWS and fresh.user_ns["got"][1][1] == "Lyon"
    assert exits.counted[0] <= exits.MAX_KNOWN, exits.counted[0]   # never past the bound
    assert not SSNS & exits.known
    r = run(fresh, "got = con.execute('SELECT ssn FROM customers').fetchall()")
    assert isinstance(r.error, PermissionError) and r.error.rule_id == "guard-error", r.error
    assert "fetch fewer rows" in str(r.error)
    assert len(fresh.user_ns["got"][0]) == 2   # still the (id, city) rows: no SSN handed out


def test_a_preload_past_the_byte_bound_is_skipped(fresh: Any) -> None:
    from jupyter_guard.hooks import exits

    exits.held[0] = exits.MAX_KNOWN_BYTES - 1000
    r = _first_fetch(fresh)
    assert r.error is None, r.error
    assert exits.held[0] <= exits.MAX_KNOWN_BYTES, exits.held[0]
    assert not SSNS & exits.known


def test_with_room_the_preload_makes_the_files_values_known(fresh: Any) -> None:
    from jupyter_guard.hooks import exits

    r = _first_fetch(fresh)
    assert r.error is None, r.error
    assert exits.known >= SSNS
