"""Objects selected by explicit column from a frame: the guard's own sample of the rows a
``COPY`` or ``CREATE … AS`` writes (``db_rows``) must not make DuckDB run a user object's
methods under the guard's token.  ``COPY (SELECT note FROM hf) TO 'x.csv'`` where ``note`` holds
objects whose ``__str__`` is a builtin that deletes a protected file: refused, the file intact.
The honest twin (plain strings and numbers, the same explicit column) copies its rows."""
from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.enforce.test_busy_dunders import GADGETS
from tests.enforce.test_busy_token import _intact, _settle, busy_kernel
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    with busy_kernel(work_root, GADGETS) as kernel:
        yield kernel


def _name(ext: str) -> str:
    return f"o_{uuid.uuid4().hex[:8]}.{ext}"


ATTACKS = [
    pytest.param("COPY (SELECT note FROM {f}) TO '{out}'", id="copy-column"),
    pytest.param("COPY (SELECT upper(note) AS n FROM {f}) TO '{out}'", id="copy-expression"),
    pytest.param("COPY (SELECT a, note FROM {f} WHERE a > 0) TO '{out}'", id="copy-two-columns"),
    pytest.param("COPY (SELECT * FROM (SELECT note FROM {f})) TO '{out}'", id="copy-subquery"),
    pytest.param("CREATE TABLE t_{tag} AS SELECT note FROM {f}", id="create-as"),
]


@pytest.mark.parametrize("same_cell", [True, False], ids=["same-cell", "earlier-cell"])
@pytest.mark.parametrize("stmt", ATTACKS)
def test_objects_by_column_are_not_sampled_under_the_token(k: Kernel, stmt: str,
                                                          same_cell: bool) -> None:
    probe = k.workdir / "data" / "probe.duckdb"
    probe.write_text("x")
    tag = uuid.uuid4().hex[:8]
    frame, out = f"hf_{tag}", _name("csv")
    make = f"{frame} = pd.DataFrame({{'a': [1, 2], 'note': [H(), H()]}})"
    sql = stmt.format(f=frame, out=out, tag=tag)
    try:
        if not same_cell:
            k.ok(make)
        r = k.run((make + "\n" if same_cell else "") + f"con.execute({sql!r})")
        assert probe.exists(), f"the object's __str__ deleted the protected file: {r.everything()}"
        assert r.status == "error", r.everything()
        assert not (k.workdir / out).exists()
    finally:
        _settle(k)
    _intact(k, probe)


def test_the_refusal_names_the_column_and_the_fix(k: Kernel) -> None:
    probe = k.workdir / "data" / "probe.duckdb"
    probe.write_text("x")
    out = _name("csv")
    k.ok("hf_msg = pd.DataFrame({'a': [1], 'note': [H()]})")
    try:
        r = k.blocked(f"con.execute(\"COPY (SELECT note FROM hf_msg) TO '{out}'\")",
                      "exfiltration")
        text = r.everything()
        assert "column note of frame hf_msg" in text and ".astype(str)" in text, text
    finally:
        _settle(k)
    _intact(k, probe)


def test_an_appended_frame_of_objects_is_refused(k: Kernel) -> None:
    """``con.append`` into a foreign database: the guard's own read of the frame (``to_csv``)
    would run the objects' ``__str__``."""
    probe = k.workdir / "data" / "probe.duckdb"
    probe.write_text("x")
    db = _name("duckdb")
    k.ok(f"other = duckdb.connect('{db}')\nother.execute('CREATE TABLE t (a INT, note VARCHAR)')\n"
         "ha = pd.DataFrame({'a': [1], 'note': [H()]})")
    try:
        r = k.blocked("other.append('t', ha)", "exfiltration")
        assert "Python objects (column note" in r.everything(), r.everything()
        assert probe.exists()
    finally:
        _settle(k)
        k.run("other.close()")
    _intact(k, probe)


def test_plain_values_by_explicit_column_copy_with_their_rows(k: Kernel) -> None:
    """The honest twins: plain strings and numbers (also Decimals, dates and lists of them in
    object columns) selected by explicit column, copied to a file, into an attached database
    and appended."""
    out, db = _name("csv"), _name("duckdb")
    k.ok("import decimal, datetime\n"
         "pf = pd.DataFrame({'a': [1, 2], 'note': ['Lyon', 'Nice'],\n"
         "                   'd': pd.Series([decimal.Decimal('1.5'), None], dtype=object),\n"
         "                   'day': pd.Series([datetime.date(2020, 1, 2), None], dtype=object),\n"
         "                   'l': pd.Series([[1, 2], []], dtype=object)})")
    k.ok(f"con.execute(\"COPY (SELECT note, a FROM pf ORDER BY a) TO '{out}' (HEADER)\")")
    with open(k.workdir / out, newline="") as f:
        assert list(csv.reader(f)) == [["note", "a"], ["Lyon", "1"], ["Nice", "2"]]
    r = k.ok(f"con.execute(\"ATTACH '{db}' AS pn\")\n"
             "con.execute('CREATE TABLE pn.t AS SELECT note, d, day, l FROM pf')\n"
             "print(con.execute('SELECT note, d, day, l FROM pn.t ORDER BY note').fetchall())\n"
             "con.execute('DETACH pn')\n"
             f"o2 = duckdb.connect('{db}')\no2.append('t', pf[['note', 'd', 'day', 'l']])\n"
             "print('rows', o2.execute('SELECT count(*) FROM t').fetchall()[0][0])\no2.close()")
    assert "('Lyon', Decimal('1.50'), datetime.date(2020, 1, 2), [1, 2])" in r.stream \
        or "('Lyon', Decimal('1.5'" in r.stream, r.everything()
    assert "rows 4" in r.stream, r.everything()


@pytest.mark.parametrize("make", [
    pytest.param("rel_o = con.sql('SELECT note FROM hf_rel')", id="relation-over-frame"),
    pytest.param("rel_o = con.from_df(hf_rel)", id="relation-from-df"),
])
def test_a_relation_over_such_a_frame_is_not_read_under_the_token(k: Kernel, make: str) -> None:
    """One step removed: a DuckDB relation (read by name like a frame) over the frame of
    objects; whatever runs their methods runs as user code."""
    probe = k.workdir / "data" / "probe.duckdb"
    probe.write_text("x")
    out = _name("csv")
    k.ok(f"hf_rel = pd.DataFrame({{'a': [1], 'note': [H()]}})\n{make}")
    try:
        r = k.run(f"con.execute(\"COPY (SELECT note FROM rel_o) TO '{out}'\")")
        assert probe.exists(), f"the object's __str__ deleted the protected file: {r.everything()}"
        assert r.status == "error" and "Blocked by jupyter_guard" in r.everything()
    finally:
        _settle(k)
    _intact(k, probe)
