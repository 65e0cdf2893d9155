"""A frame DuckDB reads by name (a replacement scan) is judged by its own columns.

Before, ``COPY (SELECT * FROM df) TO 'x.csv'`` and ``CREATE TABLE n.t AS SELECT * FROM df`` of
a plain frame were refused as "columns the guard could not tell": the catalog does not know
``df``. The rule now reads the columns of a pandas or polars frame or an Arrow table of that
name (only those exact types, so no user code runs). A frame whose columns carry values of a
sensitive column (renamed, or rebuilt from its values) is still refused, and a decision that read
a frame is not reused when the same text comes again with another frame under that name."""
from __future__ import annotations

import csv
import uuid

import pytest

from tests.enforce.test_db_exits import _tables
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(kernel: Kernel) -> Kernel:
    from tests.conftest import make_warehouse

    make_warehouse(kernel.workdir / "wh.duckdb")
    kernel.ok("import duckdb, pandas as pd, pyarrow as pa\ncon = duckdb.connect('wh.duckdb')\n"
              "plain = pd.DataFrame({'a': [1, 2, 3], 'city': ['Lyon', 'Nice', 'Paris']})\n"
              "arrow = pa.table({'a': [4, 5], 'city': ['Lyon', 'Nice']})\n"
              "emails = con.execute('SELECT email, city FROM customers').df()\n"
              "renamed = emails.rename(columns={'email': 'contact'})")
    return kernel


def _name(ext: str) -> str:
    return f"f_{uuid.uuid4().hex[:8]}.{ext}"


def _rows(path: object) -> list[list[str]]:
    with open(str(path), newline="") as f:
        return list(csv.reader(f))


def test_a_plain_frame_is_copied_to_csv_with_its_rows(k: Kernel) -> None:
    out = _name("csv")
    k.ok(f"con.execute(\"COPY (SELECT * FROM plain) TO '{out}' (HEADER)\")")
    assert _rows(k.workdir / out) == [["a", "city"], ["1", "Lyon"], ["2", "Nice"], ["3", "Paris"]]


def test_plain_frames_go_into_an_attached_database(k: Kernel) -> None:
    db = _name("duckdb")
    k.ok(f"con.execute(\"ATTACH '{db}' AS nf\")\n"
         "con.execute('CREATE TABLE nf.t AS SELECT * FROM plain')\n"
         "con.execute('INSERT INTO nf.t SELECT * FROM arrow')\n"
         "con.execute('DETACH nf')")
    assert sorted(_tables(k.workdir / db)["t"]) == [
        (1, "Lyon"), (2, "Nice"), (3, "Paris"), (4, "Lyon"), (5, "Nice")]


@pytest.mark.parametrize("frame", ["emails", "renamed"])
def test_a_frame_of_sensitive_values_is_still_refused(k: Kernel, frame: str) -> None:
    out = _name("csv")
    k.blocked(f"con.execute(\"COPY (SELECT * FROM {frame}) TO '{out}'\")", "exfiltration")
    assert not (k.workdir / out).exists()


def test_the_same_text_with_another_frame_is_decided_again(k: Kernel) -> None:
    out = _name("csv")
    code = f"con.execute(\"COPY (SELECT * FROM df) TO '{out}' (HEADER)\")"
    k.ok("df = plain")
    k.ok(code)
    assert len(_rows(k.workdir / out)) == 4
    (k.workdir / out).unlink()
    k.ok("df = renamed")
    k.blocked(code, "exfiltration")
    assert not (k.workdir / out).exists()
    k.ok("df = plain")
    k.ok(f"def copy_it():\n    {code}\ncopy_it()")   # the same text run again, from a function
    k.ok("df = renamed")
    k.blocked("copy_it()", "exfiltration")
    assert len(_rows(k.workdir / out)) == 4


def test_a_frame_made_in_the_same_cell_is_judged_when_the_statement_runs(k: Kernel) -> None:
    """Before the cell runs the frame does not exist yet: the statement is left to its judgement
    at the database, where the frame's columns are read (this was refused as "columns the guard
    could not tell")."""
    out, db = _name("csv"), _name("duckdb")
    k.ok(f"made = pd.DataFrame({{'a': [7, 8], 'city': ['Metz', 'Caen']}})\n"
         f"con.execute(\"COPY (SELECT * FROM made) TO '{out}' (HEADER)\")\n"
         f"con.execute(\"ATTACH '{db}' AS nm\")\n"
         "con.execute('CREATE TABLE nm.t AS SELECT * FROM made')\n"
         "con.execute('DETACH nm')")
    assert _rows(k.workdir / out) == [["a", "city"], ["7", "Metz"], ["8", "Caen"]]
    assert sorted(_tables(k.workdir / db)["t"]) == [(7, "Metz"), (8, "Caen")]


@pytest.mark.parametrize("make", [
    "fresh = con.execute('SELECT email, city FROM customers').df()",
    "fresh = renamed.copy()",
    "fresh = pd.DataFrame({'who': emails['email'].str.upper()})",
])
def test_a_sensitive_frame_made_in_the_same_cell_is_refused_when_it_runs(
        k: Kernel, make: str) -> None:
    out = _name("csv")
    k.blocked(f"{make}\ncon.execute(\"COPY (SELECT * FROM fresh) TO '{out}'\")", "exfiltration")
    assert not (k.workdir / out).exists()
    k.ok("del fresh")
