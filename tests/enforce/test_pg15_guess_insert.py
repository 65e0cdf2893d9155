"""Inference by a join against a guess table filled after it was made (DuckDB, a real kernel on
a real warehouse file): ``CREATE TABLE g(s VARCHAR)`` then ``INSERT INTO g VALUES ('1000…')``
(or ``INSERT … SELECT '…'``, a column list) holds only the attacker's guesses, so comparing
``ssn`` with its column (``IN (SELECT s FROM g)``, ``JOIN g ON c.ssn = g.s``, ``USING``) is a
comparison with constants: refused (``inference``, no count printed), as the
``CREATE TABLE g AS SELECT '…'`` spelling is. Twins: a table filled from ``customers`` itself
(a join on ``ssn`` between tables) and a guess table compared with a plain column run with the
correct counts; guesses mixed with rows of ``customers`` are still guesses."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

N = 300


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "pg15_guess_insert"
    d.mkdir()
    with guarded_kernel(d, warehouse=N, connect=True) as kernel:
        yield kernel


FILLS = [
    pytest.param("CREATE TABLE {t}(s VARCHAR)", "INSERT INTO {t} VALUES ('100000012')",
                 id="values"),
    pytest.param("CREATE TABLE {t}(s VARCHAR)",
                 "INSERT INTO {t} VALUES ('100000012'), ('100000013')", id="values-many"),
    pytest.param("CREATE TABLE {t}(n INT, s VARCHAR)", "INSERT INTO {t}(s) VALUES ('100000012')",
                 id="column-list"),
    pytest.param("CREATE TABLE {t}(s VARCHAR)", "INSERT INTO {t} SELECT '100000012'",
                 id="insert-select-literal"),
    pytest.param("CREATE TEMP TABLE {t}(s VARCHAR)", "INSERT INTO {t} VALUES ('100000012')",
                 id="temp"),
    pytest.param("CREATE TABLE {t} AS SELECT '1' AS s WHERE false",
                 "INSERT INTO {t} VALUES ('100000012')", id="empty-ctas"),
]
PROBES = [
    pytest.param("SELECT count(*) FROM customers WHERE ssn IN (SELECT s FROM {t})", id="in"),
    pytest.param("SELECT count(*) FROM customers c JOIN {t} g ON c.ssn = g.s", id="join-on"),
    pytest.param("SELECT count(*) FROM customers c, {t} g WHERE c.ssn = g.s", id="comma"),
    pytest.param("SELECT count(*) FROM customers WHERE ssn = ANY(SELECT s FROM {t})",
                 id="any"),
]
_N = [0]


@pytest.mark.parametrize("probe", PROBES)
@pytest.mark.parametrize(("create", "fill"), FILLS)
def test_a_table_filled_with_guesses_compared_with_ssn_is_refused(
        k: Kernel, create: str, fill: str, probe: str) -> None:
    _N[0] += 1
    t = f"guess{_N[0]}"
    k.ok(f"con.execute({create.format(t=t)!r})\ncon.execute({fill.format(t=t)!r})")
    r = k.run(f"print('ANSWER', con.sql({probe.format(t=t)!r}).fetchall())")
    assert r.status == "error" and "inference" in r.text, r.text
    assert "ANSWER" not in r.stream


def test_guesses_inserted_in_one_cell_with_the_probe_are_refused(k: Kernel) -> None:
    r = k.run("con.execute(\"CREATE TABLE g1cell(s VARCHAR); INSERT INTO g1cell VALUES "
              "('100000012')\")\nprint('ANSWER', con.sql('SELECT count(*) FROM customers c "
              "JOIN g1cell g ON c.ssn = g.s').fetchall())")
    assert r.status == "error" and "inference" in r.text, r.text
    assert "ANSWER" not in r.stream


def test_using_a_guess_column_named_ssn_is_refused(k: Kernel) -> None:
    k.ok("con.execute('CREATE TABLE gusing(ssn VARCHAR)')\n"
         "con.execute(\"INSERT INTO gusing VALUES ('100000012')\")")
    r = k.run("print('ANSWER', con.sql('SELECT count(*) FROM customers JOIN gusing "
              "USING (ssn)').fetchall())")
    assert r.status == "error" and "inference" in r.text, r.text
    assert "ANSWER" not in r.stream


def test_a_table_filled_from_customers_joins_on_ssn(k: Kernel) -> None:
    k.ok("con.execute('CREATE TABLE kept(s VARCHAR)')\n"
         "con.execute('INSERT INTO kept SELECT ssn FROM customers WHERE id < 5')")
    r = k.run("print('ANSWER', con.sql('SELECT count(*) FROM customers c JOIN kept k "
              "ON c.ssn = k.s').fetchall())")
    assert r.status == "ok", r.text
    assert "ANSWER [(5,)]" in r.stream


def test_guesses_then_rows_of_customers_join_on_ssn_is_refused(k: Kernel) -> None:
    """Constant rows and rows read from customers: the count is the known rows plus the guesses
    that hit, so the guesses are still asked about (``sql_sides``: one guess leaf makes the side
    a guess). Changed from allowed (infer17)."""
    k.ok("con.execute('CREATE TABLE mixed(s VARCHAR)')\n"
         "con.execute(\"INSERT INTO mixed VALUES ('x')\")\n"
         "con.execute('INSERT INTO mixed SELECT ssn FROM customers WHERE id < 3')")
    r = k.run("print('ANSWER', con.sql('SELECT count(*) FROM customers c JOIN mixed m "
              "ON c.ssn = m.s').fetchall())")
    assert r.status == "error" and "inference" in r.text, r.text
    assert "ANSWER" not in r.stream


def test_a_guess_table_compared_with_a_plain_column_runs(k: Kernel) -> None:
    k.ok("con.execute('CREATE TABLE towns(s VARCHAR)')\n"
         "con.execute(\"INSERT INTO towns VALUES ('Lyon'), ('Nice')\")")
    r = k.run("print('ANSWER', con.sql('SELECT count(*) FROM customers c JOIN towns t "
              "ON c.city = t.s').fetchall(), con.sql('SELECT count(*) FROM towns').fetchall())")
    assert r.status == "ok", r.text
    assert f"ANSWER [({len(range(1, N, 3)) + len(range(2, N, 3))},)] [(2,)]" in r.stream
