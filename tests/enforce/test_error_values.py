"""A statement over a sensitive column that fails on one of its values names that value in the
error (a failed cast, DuckDB's ``error(ssn)``): the value is masked wherever the error goes
(traceback, ``str(e)`` printed, the reply) and refused at a file, one query at a time or in a
loop over every row. Errors of statements over plain columns are shown as they are."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.conftest import make_warehouse
from tests.kernelutil import Kernel, Reply, guarded_kernel

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "error-values"
    d.mkdir()
    make_warehouse(d / "wh.duckdb", rows=300)
    with duckdb.connect(str(d / "wh.duckdb"), read_only=True) as db:   # before the kernel locks it
        rows = db.sql("SELECT email, ssn FROM customers").fetchall()
    with guarded_kernel(d) as kernel:
        kernel.ok("import duckdb\ncon = duckdb.connect('wh.duckdb')")
        kernel.raw = [e for e, _ in rows] + [s for _, s in rows]   # type: ignore[attr-defined]
        yield kernel


def _leaked(k: Kernel, r: Reply) -> list[str]:
    sent = json.dumps([m["content"] for m in r.messages if m["msg_type"] != "execute_input"]
                      + [r.reply], default=str)
    return [v for v in k.raw if v in sent]   # type: ignore[attr-defined]


@pytest.mark.parametrize("code", [
    pytest.param("con.sql('SELECT ssn::BOOLEAN FROM customers WHERE id = 7').fetchall()",
                 id="cast-relation"),
    pytest.param("con.execute('SELECT CAST(ssn AS DATE) FROM customers WHERE id = 8')",
                 id="cast-execute"),
    # (``strptime(ssn, …)`` makes a date of the content: refused before it runs, test_cast21_temporal)
    pytest.param("con.sql('SELECT CAST(ssn AS UUID) FROM customers WHERE id = 9').df()",
                 id="cast-uuid"),
    pytest.param("con.sql('SELECT error(ssn) FROM customers WHERE id = 10').fetchall()",
                 id="error-function"),
    pytest.param("con.sql('SELECT error(email) FROM customers WHERE id = 11').fetchall()",
                 id="error-function-email"),
    pytest.param("for i in range(20, 60):\n    try:\n        con.sql(f'SELECT error(ssn) FROM "
                 "customers WHERE id = {i}').fetchall()\n    except Exception as e:\n"
                 "        print(e)", id="loop-over-rows-printed"),
    pytest.param("%%guarded_sql con\nSELECT ssn::BOOLEAN FROM customers WHERE id = 61",
                 id="guarded-sql"),
])
def test_a_value_an_error_quotes_is_masked(k: Kernel, code: str) -> None:
    r = k.run(code)
    assert not _leaked(k, r), _leaked(k, r)[:3]
    assert "\u2588" in r.everything()   # the value is there, masked


def test_an_error_written_to_a_file_is_refused(k: Kernel) -> None:
    r = k.run("try:\n    con.sql('SELECT error(ssn) FROM customers WHERE id = 70').fetchall()\n"
              "except Exception as e:\n    open('err.txt', 'w').write(str(e))")
    assert r.status == "error" and "exfiltration" in r.everything(), r.everything()
    f = k.workdir / "err.txt"
    assert not f.exists() or not any(v in f.read_text() for v in k.raw)   # type: ignore[attr-defined]


def test_errors_of_plain_columns_are_shown_whole(k: Kernel) -> None:
    r = k.run("con.sql('SELECT city::INT FROM customers WHERE id = 1').fetchall()")
    assert r.status == "error" and "'Lyon'" in r.everything(), r.everything()
    r = k.run("con.sql('SELECT ssn FROM custmers').fetchall()")   # a typo names no value
    assert "custmers" in r.everything()
