"""PostgreSQL names the value a statement failed on in its error (``invalid input syntax for
type boolean: "100004001"``): over a sensitive column that value is masked in every message the
kernel sends, through psycopg 3, psycopg2 and ``%%guarded_sql``; errors over plain columns are
shown whole."""
from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kernelutil import Kernel, Reply
from tests.pg.pgserver import PgServer

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(pg: PgServer, work_root: Path) -> Iterator[Any]:
    d = work_root / "pg-error-values"
    d.mkdir()
    name = pg.fresh()
    kernel = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb"),
                        "JUPYTER_GUARD_POLICY": None})
    try:
        kernel.ok("%load_ext jupyter_guard")
        kernel.ok(f"import psycopg, psycopg2\npg = psycopg.connect({pg.dsn(name)!r}, "
                  f"autocommit=True)\npg2 = psycopg2.connect({pg.dsn(name)!r})\n"
                  f"pg2.autocommit = True\nURL = {pg.url(name)!r}")
        kernel.ok(f"import asyncpg\nac = await asyncpg.connect("
                  f"'postgresql://postgres@127.0.0.1:{pg.port}/{name}')")
        rows = pg.query("SELECT email, ssn FROM customers WHERE id BETWEEN 4000 AND 4100",
                        db=name)
        kernel.raw = [e for e, _ in rows] + [s for _, s in rows]
        kernel.url = pg.url(name)
        yield kernel
    finally:
        kernel.stop()
        pg.drop(name)
        shutil.rmtree(d, ignore_errors=True)


def _leaked(k: Any, r: Reply) -> list[str]:
    sent = json.dumps([m["content"] for m in r.messages if m["msg_type"] != "execute_input"]
                      + [r.reply], default=str)
    return [v for v in k.raw if v in sent]


@pytest.mark.parametrize("code", [
    "pg.execute('SELECT ssn::bool FROM customers WHERE id = 4001')",
    "pg2.cursor().execute('SELECT ssn::uuid FROM customers WHERE id = 4002')",
    "c = pg.cursor()\nfor i in range(4010, 4030):\n    try:\n"
    "        c.execute(f'SELECT ssn::bool FROM customers WHERE id = {i}')\n"
    "    except Exception as e:\n        print(e)",
    "%%guarded_sql {URL}\nSELECT ssn::bool FROM customers WHERE id = 4040",
    "await ac.fetch('SELECT ssn::uuid FROM customers WHERE id = 4050')",
])
def test_a_value_a_postgresql_error_quotes_is_masked(k: Any, code: str) -> None:
    r = k.run(code.replace("{URL}", k.url), timeout=120)
    assert not _leaked(k, r), _leaked(k, r)[:3]
    assert "\u2588" in r.everything()


def test_errors_of_plain_columns_are_shown_whole(k: Any) -> None:
    r = k.run("pg.execute('SELECT city::int FROM customers WHERE id = 4001')")
    text = r.everything()
    assert r.status == "error" and any(f'"{c}"' in text for c in ("Lyon", "Paris", "Nice")), text
