"""asyncpg results keep the SQL taint of their columns, in a real kernel on a real server:
fetched with ``fetch``, ``fetchrow``, ``fetchval``, a cursor (iterated or awaited) or a
prepared statement, no raw SSN (9 digits: only known values find them) or e-mail (also reversed
or hexed) reaches any message the kernel sends; pieces too short to mask and comparisons of
sensitive columns with constants are refused (``inference``); the benign twins run with
correct values."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kernelutil import Kernel
from tests.pg.pgserver import PgServer
from tests.pg.test_result_taint import INFERENCE, PIECES, leaked

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(pg: PgServer, work_root: Path) -> Iterator[Any]:
    d = work_root / "pg-asyncpg-taint"
    d.mkdir()
    name = pg.fresh()
    kernel = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb"),
                        "JUPYTER_GUARD_POLICY": None})
    try:
        assert kernel.run("%load_ext jupyter_guard").status == "ok"
        url = f"postgresql://postgres@127.0.0.1:{pg.port}/{name}"
        r = kernel.run(f"import asyncpg\nac = await asyncpg.connect({url!r})")
        assert r.status == "ok", r.text
        rows = pg.query("SELECT email, ssn FROM customers ORDER BY id LIMIT 60", db=name)
        kernel.workdir_ = d
        kernel.raw = [e for e, _ in rows] + [s for _, s in rows]
        kernel.raw += [e[::-1] for e, _ in rows] + [e.encode().hex() for e, _ in rows]
        yield kernel
    finally:
        kernel.stop()
        pg.drop(name)
        shutil.rmtree(d, ignore_errors=True)


def rows(lo: int, cols: str = "email, ssn") -> str:
    """Five rows no other form fetches (a value known from an earlier cell proves nothing)."""
    return f"SELECT {cols} FROM customers WHERE id BETWEEN {lo} AND {lo + 4} ORDER BY id"


SHOWN = [
    pytest.param(f"print(await ac.fetch({rows(1)!r}))", id="fetch-printed"),
    pytest.param(f"await ac.fetch({rows(6)!r})", id="fetch-displayed"),
    pytest.param("await ac.fetch(" + repr(rows(11, "reverse(email) AS a, replace(ssn, '-', '') "
                                                    "AS b, encode(email::bytea, 'hex') AS h")) +
                 ")", id="fetch-derived"),
    pytest.param(f"r = await ac.fetch({rows(16)!r})\nprint([x['ssn'] for x in r])",
                 id="fetch-values-in-python"),
    pytest.param(f"print(await ac.fetchrow({rows(21, 'ssn AS s, email')!r}))",
                 id="fetchrow-record"),
    pytest.param(f"print(await ac.fetchval({rows(26, 'ssn AS x')!r}))", id="fetchval"),
    pytest.param(f"print(await ac.fetchval({rows(31, 'id, ssn')!r}, column=1))",
                 id="fetchval-column"),
    pytest.param(f"async with ac.transaction():\n"
                 f"    print([x['ssn'] async for x in ac.cursor({rows(36)!r})])",
                 id="cursor-iterated"),
    pytest.param(f"async with ac.transaction():\n    c = await ac.cursor({rows(41)!r})\n"
                 "    print(await c.fetch(2), (await c.fetchrow())['ssn'])", id="cursor-awaited"),
    pytest.param(f"st = await ac.prepare({rows(46, 'ssn')!r})\n"
                 "print([x[0] for x in await st.fetch()])", id="prepared"),
    pytest.param(f"st = await ac.prepare({rows(51, 'ssn')!r})\n"
                 "print(await st.fetchval(), await st.fetchrow())", id="prepared-fetchval"),
    pytest.param(f"st = await ac.prepare({rows(56, 'ssn')!r})\nasync with ac.transaction():\n"
                 "    print([x[0] async for x in st.cursor()])", id="prepared-cursor"),
]


@pytest.mark.parametrize("cell", SHOWN)
def test_asyncpg_results_masked(k: Any, cell: str) -> None:
    r = k.run(cell)
    assert r.status == "ok", r.text
    assert "\u2588" in r.text, r.text   # the values were shown, masked
    assert leaked(k, r) == [], leaked(k, r)


@pytest.mark.parametrize("sql", PIECES)
def test_asyncpg_pieces_refused(k: Any, sql: str) -> None:
    for call in ("fetch", "fetchrow", "fetchval"):
        r = k.run(f"await ac.{call}({sql!r})")
        assert r.status == "error" and "inference" in r.text, (call, r.text)
        assert leaked(k, r) == []


@pytest.mark.parametrize("sql", INFERENCE)
def test_asyncpg_inference_refused(k: Any, sql: str) -> None:
    r = k.run(f"await ac.fetch({sql!r})")
    assert r.status == "error" and "inference" in r.text, r.text


def test_asyncpg_copy_of_sensitive_column_to_a_file(k: Any) -> None:
    """``copy_from_query`` to a file is an export of the column it reads: refused, and the
    file holds no SSN."""
    out = k.workdir_ / "ssn.csv"
    r = k.run(f"await ac.copy_from_query('SELECT ssn FROM customers', output={str(out)!r}, "
              "format='csv')")
    assert r.status == "error" and "Blocked by jupyter_guard" in r.text, r.text
    assert not out.exists() or not any(v in out.read_text() for v in k.raw)


def test_asyncpg_benign_twins(k: Any) -> None:
    r = k.run("print('city', await ac.fetchval('SELECT city FROM customers WHERE id = 1'))\n"
              "print('n', await ac.fetchval('SELECT count(*) FROM customers'))\n"
              "print('len', await ac.fetchval('SELECT length(email) FROM customers WHERE id = 1'))\n"
              "r = await ac.fetchrow('SELECT id, city FROM customers WHERE id = 2')\n"
              "print('row', r['id'], r['city'])\n"
              "print('join', await ac.fetchval('SELECT count(*) FROM customers a JOIN customers b "
              "ON a.ssn = b.ssn WHERE a.id <= 3334'))\n"
              "async with ac.transaction():\n"
              "    print('cur', [x['city'] async for x in ac.cursor("
              "'SELECT city FROM customers WHERE id <= 3 ORDER BY id')])\n"
              "st = await ac.prepare('SELECT city FROM customers WHERE id = $1')\n"
              "print('prep', await st.fetchval(3))")
    assert r.status == "ok", r.text
    for line in ("city Lyon", "n 10000", "len 17", "row 2 Nice", "join 3334",
                 "cur ['Lyon', 'Nice', 'Paris']", "prep Paris"):
        assert line in r.text, r.text
