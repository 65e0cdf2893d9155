"""pyodbc results from PostgreSQL keep the taint of their columns, in a real kernel: no raw SSN or
e-mail (also reversed or with dashes dropped) reaches any message the kernel sends, whichever
fetch reads them, the fetched values are refused at a file exit, pieces too short to mask are
refused (``inference``), and the benign twins print their values.

Needs ``pyodbc`` and the psqlODBC driver (see tests/pg/test_odbc.py)."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kernelutil import Kernel
from tests.pg.pgserver import PgServer
from tests.pg.test_result_taint import leaked

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(pg: PgServer, work_root: Path) -> Iterator[Any]:
    d = work_root / "pg-odbc-taint"
    d.mkdir()
    name = pg.fresh()
    kernel = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb"),
                        "JUPYTER_GUARD_POLICY": None})
    dsn = (f"DRIVER={{PostgreSQL Unicode}};SERVER=127.0.0.1;PORT={pg.port};DATABASE={name};"
           "UID=postgres")
    try:
        r = kernel.run(f"import pyodbc\ncon = pyodbc.connect({dsn!r}, autocommit=True)")
        assert r.status == "ok", r.text
        assert kernel.run("%load_ext jupyter_guard").status == "ok"   # found in the namespace
        rows = pg.query("SELECT email, ssn FROM customers ORDER BY id LIMIT 60", db=name)
        kernel.workdir_ = d
        kernel.raw = [e for e, _ in rows] + [s for _, s in rows]
        kernel.raw += [e[::-1] for e, _ in rows] + [s.replace("-", "") for _, s in rows]
        yield kernel
    finally:
        kernel.stop()
        pg.drop(name)
        shutil.rmtree(d, ignore_errors=True)


SHOWN = [
    pytest.param("SELECT email, ssn FROM customers ORDER BY id LIMIT 5", "c.fetchall()",
                 id="fetchall"),
    pytest.param("SELECT reverse(email) AS a, replace(ssn, '-', '') AS b FROM customers "
                 "ORDER BY id LIMIT 5", "c.fetchmany(5)", id="derived-fetchmany"),
    pytest.param("SELECT c.ssn FROM customers c ORDER BY id LIMIT 1", "c.fetchone()",
                 id="fetchone"),
    pytest.param("SELECT ssn AS x FROM customers ORDER BY id LIMIT 1", "c.fetchval()",
                 id="fetchval-renamed"),
    pytest.param("SELECT reverse(email) FROM customers ORDER BY id LIMIT 5",
                 "print([r for r in c])",
                 id="iteration-printed"),
    pytest.param("SELECT email FROM customers ORDER BY id LIMIT 5", "print(next(c))",
                 id="next"),
]


@pytest.mark.parametrize("sql,fetch", SHOWN)
def test_fetched_values_masked(k: Any, sql: str, fetch: str) -> None:
    r = k.run(f"c = con.cursor()\nc.execute({sql!r})\n{fetch}")
    assert r.status == "ok", r.text
    assert "█" in r.text, r.text
    assert not leaked(k, r), leaked(k, r)


def test_fetched_values_refused_at_file_exit(k: Any) -> None:
    target = k.workdir_ / "x-odbc.txt"
    r = k.run("rows = con.execute(\"SELECT replace(ssn, '-', '') FROM customers ORDER BY id "
              f"DESC LIMIT 50\").fetchall()\nopen({str(target)!r}, 'w').write(str(rows))")
    assert r.status == "error" and "exfiltration" in r.text, r.text
    assert not target.exists() or "-" in target.read_text() or target.read_text() == ""
    r = k.run("rows = con.execute('SELECT id, city FROM customers ORDER BY id LIMIT 50')"
              f".fetchall()\nopen({str(target)!r}, 'w').write(str(rows))")
    assert r.status == "ok", r.text   # the benign twin: non-sensitive values are written
    assert "(1, 'Lyon')" in target.read_text() and "(2, 'Nice')" in target.read_text()


def test_pieces_refused_and_lengths_shown(k: Any) -> None:
    r = k.run("con.execute('SELECT substr(ssn, 3, 1) AS d FROM customers ORDER BY id LIMIT 3')"
              ".fetchall()")
    assert r.status == "error" and "inference" in r.text, r.text
    r = k.run("con.execute('SELECT id, length(email) AS n FROM customers ORDER BY id LIMIT 3')"
              ".fetchall()")
    assert r.status == "ok" and "(1, 17)" in r.text, r.text   # a length reveals no piece
