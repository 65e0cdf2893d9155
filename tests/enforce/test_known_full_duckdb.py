"""When the known values are full (``exits.full()``), a DuckDB fetch of a sensitive column's new
values is refused (``guard-error``, naming the fix), as PostgreSQL's is, instead of handing out
values the exits would not know; plain columns and values already known still fetch. Real
in-process shell (``ip``), real DuckDB file."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_warehouse
from tests.pg.conftest import run


@pytest.fixture()
def full(ip: Any, workdir: Path) -> Iterator[Any]:
    from jupyter_guard.hooks import exits

    wh = make_warehouse(workdir / f"wh-{uuid.uuid4().hex[:8]}.duckdb", rows=50)
    r = run(ip, f"import duckdb\ncon = duckdb.connect({str(wh)!r})")
    assert r.error is None, r.error
    for name in ("got", "cities"):
        ip.user_ns.pop(name, None)
    counted = exits.counted[0]
    exits.counted[0] = exits.MAX_KNOWN   # as if that many values had been remembered
    try:
        yield ip
    finally:
        exits.counted[0] = counted
        run(ip, "con.close()")


def test_a_fetch_of_new_sensitive_values_is_refused_when_full(full: Any) -> None:
    from jupyter_guard.hooks import exits

    r = run(full, "got = con.execute('SELECT id, ssn FROM customers').fetchall()")
    assert isinstance(r.error, PermissionError), repr(r.error)
    assert r.error.rule_id == "guard-error", r.error
    assert "fetch fewer rows" in str(r.error)
    assert "got" not in full.user_ns
    r = run(full, "got = con.execute('SELECT id, ssn FROM customers').df()")
    assert isinstance(r.error, PermissionError) and "got" not in full.user_ns, repr(r.error)
    exits.counted[0] = 0   # room again: the same fetch runs, and its values are known
    r = run(full, "got = con.execute('SELECT id, ssn FROM customers ORDER BY id').fetchall()")
    assert r.error is None, r.error
    ssns = [s for _, s in full.user_ns["got"]]
    assert len(ssns) == 50 and set(ssns) <= exits.known


def test_plain_columns_fetch_when_full(full: Any) -> None:
    """The benign twin: nothing sensitive to remember, nothing refused."""
    r = run(full, "cities = con.execute('SELECT id, city FROM customers ORDER BY id').fetchall()")
    assert r.error is None, r.error
    assert len(full.user_ns["cities"]) == 50


def test_values_already_known_fetch_when_full(full: Any) -> None:
    """A fetch again of values the guard knows is handed out: it knows all of them."""
    from jupyter_guard.hooks import exits

    exits.counted[0] = 0
    r = run(full, "got = con.execute('SELECT ssn FROM customers').fetchall()")
    assert r.error is None, r.error
    exits.counted[0] = exits.MAX_KNOWN
    r = run(full, "got = con.execute('SELECT ssn FROM customers').fetchall()")
    assert r.error is None, r.error
    assert len(full.user_ns["got"]) == 50


def test_pandas_values_of_a_sensitive_column_are_refused_when_full(full: Any) -> None:
    """``tolist``/``values``/``to_dict`` of a sensitive column whose values the guard does not
    know, once it can remember no more, are refused as the fetch is; a plain column, and
    values it knows, still come out."""
    from jupyter_guard.hooks import exits

    exits.counted[0] = 0
    r = run(full, "known = con.execute('SELECT id, ssn FROM customers ORDER BY id').df()")
    assert r.error is None, r.error
    exits.counted[0] = exits.MAX_KNOWN
    r = run(full, "import pandas as pd\nmade = pd.DataFrame({'ssn': [f'{n:09d}' for n in "
                  "range(7, 9000007, 90001)], 'city': ['Paris'] * 100})")
    assert r.error is None, r.error
    for form in ("made.ssn.tolist()", "made.ssn.values", "made.to_dict()"):
        full.user_ns.pop("got", None)
        r = run(full, f"got = {form}")
        assert isinstance(r.error, PermissionError), (form, r.error)
        assert r.error.rule_id == "guard-error" and "got" not in full.user_ns, (form, r.error)
    for form, n in (("made.city.tolist()", 100), ("known.ssn.tolist()", 50)):
        r = run(full, f"got = {form}")
        assert r.error is None, (form, r.error)
        assert len(full.user_ns["got"]) == n, form
