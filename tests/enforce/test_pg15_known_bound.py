"""A DuckDB fetch whose new sensitive values do not fit the known values' bounds
(``exits.MAX_KNOWN`` values, ``MAX_KNOWN_BYTES``) is refused before any is remembered or handed
out (``guard-error``, naming the fix), even when the bound was not reached before it (one fetch
must not overshoot it); an Arrow stream (``arrow()``, ``fetch_record_batch``) remembers every
batch, the 240,000th value as much as the first, and refuses a batch that does not fit. The
bounds are brought near by setting the counters (as ``test_known_full_duckdb`` does), not by
fetching gigabytes. Real in-process shell (``ip``), real DuckDB files."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_warehouse
from tests.pg.conftest import run

BIG = 250_000
K = "replace(ssn, '0', 'x') AS k"


@pytest.fixture()
def near(ip: Any, workdir: Path) -> Iterator[Any]:
    """A connection to a 50-customer warehouse (its SSNs known once read: the fetches here
    read values derived from them, ``replace(ssn, '0', 'x')``, new); the counters put back (and the values this
    test made known forgotten) after."""
    from jupyter_guard.hooks import exits

    wh = make_warehouse(workdir / f"wh-{uuid.uuid4().hex[:8]}.duckdb", rows=50)
    # (the first fetch of a file makes its sensitive columns known: ``warehouse_values``)
    r = run(ip, f"import duckdb\ncon = duckdb.connect({str(wh)!r})\n"
                "con.execute('SELECT city FROM customers').fetchall()")
    assert r.error is None, r.error
    for name in ("got", "batches"):
        ip.user_ns.pop(name, None)
    counted, held = exits.counted[0], exits.held[0]
    exits.remember(["pg15-bound-anchor"])   # something known: ``held`` is kept while it is
    try:
        yield ip
    finally:
        exits.counted[0], exits.held[0] = counted, held
        run(ip, "con.close()")
        exits.known.clear()
        exits.counted[0] = 0


def _refused(r: Any, ip: Any, name: str) -> None:
    assert isinstance(r.error, PermissionError), repr(r.error)
    assert r.error.rule_id == "guard-error", r.error
    assert "fetch fewer rows" in str(r.error)
    assert name not in ip.user_ns


def test_a_fetch_past_the_count_bound_is_refused_whole(near: Any) -> None:
    from jupyter_guard.hooks import exits

    exits.counted[0] = exits.MAX_KNOWN - 10   # not full: 50 new values do not fit
    r = run(near, "got = con.execute(\"SELECT id, " + K + " FROM customers\").fetchall()")
    _refused(r, near, "got")
    assert exits.counted[0] == exits.MAX_KNOWN - 10   # none remembered
    exits.counted[0] = exits.MAX_KNOWN - 60   # the benign twin: they fit, and run
    r = run(near, "got = con.execute(\"SELECT id, " + K + " FROM customers ORDER BY id\")"
                  ".fetchall()")
    assert r.error is None, r.error
    assert len(near.user_ns["got"]) == 50 and {k for _, k in near.user_ns["got"]} <= exits.known


def test_a_fetch_past_the_byte_bound_is_refused_whole(near: Any) -> None:
    from jupyter_guard.hooks import exits

    exits.held[0] = exits.MAX_KNOWN_BYTES - 1000   # not full: 50 SSNs and forms do not fit
    r = run(near, "got = con.execute(\"SELECT " + K + " FROM customers\").df()")
    _refused(r, near, "got")
    r = run(near, "got = con.execute('SELECT id, city FROM customers').fetchall()")
    assert r.error is None, r.error   # plain columns still fetch
    assert len(near.user_ns["got"]) == 50


@pytest.mark.parametrize("stream", [
    "con.sql(\"SELECT " + K + " FROM customers\").arrow()",
    "con.sql(\"SELECT " + K + " FROM customers\").fetch_record_batch(20)",
    "con.sql(\"SELECT " + K + " FROM customers\").to_arrow_reader(20)",
])
def test_an_arrow_stream_past_the_bound_is_refused(near: Any, stream: str) -> None:
    from jupyter_guard.hooks import exits

    exits.counted[0] = exits.MAX_KNOWN - 5
    r = run(near, f"r = {stream}\nbatches = [b.column(0).to_pylist() for b in r]")
    _refused(r, near, "batches")
    assert exits.counted[0] == exits.MAX_KNOWN - 5


@pytest.mark.parametrize("dead", [
    pytest.param("dead = duckdb.connect()\ndead.close()", id="closed-in-memory"),
    pytest.param("dead = duckdb.connect(DB)\ndead.close()", id="closed-same-file"),
])
def test_a_closed_connection_in_the_namespace_changes_nothing(near: Any, dead: str) -> None:
    """A closed connection among the user's variables (the whole suite's shell had many) once
    made the next relation fetch's taint fail (its file could not be looked up), so that fetch
    was handed out unremembered, an Arrow stream past the bound too; now the stream is still
    refused, and a fetch with room still remembers its values."""
    from jupyter_guard.hooks import exits

    r = run(near, "DB = con.execute('SELECT path FROM duckdb_databases() "
                  "WHERE database_name = current_database()').fetchall()[0][0]")
    assert r.error is None, r.error
    try:
        exits.counted[0] = exits.MAX_KNOWN - 60   # the benign twin: they fit, run, are known
        r = run(near, dead + "\ngot = con.sql(\"SELECT id, " + K + " FROM customers\").fetchall()")
        assert r.error is None, r.error
        got = [k for _, k in near.user_ns["got"]]
        assert len(got) == 50 and set(got) <= exits.known
        exits.known.clear()
        exits.counted[0] = exits.MAX_KNOWN - 5
        r = run(near, dead + "\nr = con.sql(\"SELECT " + K + " FROM customers\")"
                      ".fetch_record_batch(20)\nbatches = [b.column(0).to_pylist() for b in r]")
        _refused(r, near, "batches")
    finally:
        near.user_ns.pop("dead", None)


def test_every_batch_of_a_big_stream_is_known(near: Any, workdir: Path) -> None:
    """Past 200,000 rows (one piece check's slice) a stream's values are known, and a file
    exit refuses the 240,000th; the same stream of a plain column writes."""
    import duckdb

    from jupyter_guard.connections import unwrap

    path = workdir / f"big-{uuid.uuid4().hex[:8]}.duckdb"
    con = unwrap(duckdb.connect(str(path)))
    con.execute(f"CREATE TABLE people AS SELECT range AS id, (300000000 + range * 7)::VARCHAR "
                f"AS ssn, (700000000 + range * 7)::VARCHAR AS code FROM range({BIG})")
    con.close()
    out = workdir / f"out-{uuid.uuid4().hex[:8]}.txt"
    for col, writes in (("ssn", False), ("code", True)):
        r = run(near, f"big = duckdb.connect({str(path)!r})\n"
                      f"r = big.sql('SELECT {col} FROM people ORDER BY id')"
                      ".fetch_record_batch(50000)\n"
                      "vals = [v for b in r for v in b.column(0).to_pylist()]\nbig.close()")
        assert r.error is None, r.error
        value = near.user_ns["vals"][239_999]
        r = run(near, f"open({str(out)!r}, 'w').write(vals[239999])")
        if writes:
            assert r.error is None, r.error
            assert out.read_text() == value
        else:
            assert isinstance(r.error, PermissionError), repr(r.error)
            assert not out.exists() or value not in out.read_text()
        run(near, "del vals")



def test_a_fetch_the_check_fails_on_is_refused_not_handed_out(near: Any) -> None:
    """A cell that breaks a library method the check reads a frame with (``Series.tolist``)
    made the check of a fetch fail, and the frame was handed out with none of its values
    remembered; now a result with a sensitive column is refused (``guard-error``, naming the
    error), and one of plain columns is still handed out whole."""
    r = run(near, "import pandas as pd\nkept = pd.Series.tolist\n"
                  "pd.Series.tolist = lambda self: 1 / 0\n"
                  "got = con.execute('SELECT id, ssn FROM customers').df()")
    try:
        assert isinstance(r.error, PermissionError), repr(r.error)
        assert r.error.rule_id == "guard-error" and "ZeroDivisionError" in str(r.error), r.error
        assert "got" not in near.user_ns
        r = run(near, "plain = con.execute('SELECT id, city FROM customers').df()")
        assert r.error is None, r.error
        assert len(near.user_ns.pop("plain")) == 50
    finally:
        assert run(near, "pd.Series.tolist = kept").error is None
