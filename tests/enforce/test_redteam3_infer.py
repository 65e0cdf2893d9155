"""Inference through a whole row, ``COLUMNS(...)`` and views the guard did not see made (red
team, 2026-11-30): a row cast to text (``c::VARCHAR``, ``CAST(c AS VARCHAR)``, ``c::JSON``,
``to_json(c)``, ``struct_pack``/``row`` of its columns) compared with a pattern holds every
column of the row, ``COLUMNS('ssn')`` / ``COLUMNS(c -> …)`` in a WHERE stands for the columns it
matches, and a view made by another process (or in a spelling the analysis did not remember)
selects a sensitive column under another name. Each is refused (``inference``, no count
printed); the benign twins (a row of a table with no sensitive column, ``COLUMNS('city')``, a
view of plain columns made elsewhere) run with correct results."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

N = 300
LYON = len(range(1, N, 3))


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    import duckdb

    from jupyter_guard.connections import unwrap
    from tests.conftest import make_warehouse

    d = work_root / "redteam3_infer"
    d.mkdir()
    make_warehouse(d / "wh.duckdb", rows=N)
    con = unwrap(duckdb.connect(str(d / "wh.duckdb")))   # another process's views, made before
    con.execute("CREATE VIEW ev1 AS SELECT id, ssn AS n FROM customers")
    con.execute("CREATE VIEW ev2(k, m) AS SELECT c.id, c.email FROM customers c")
    con.execute("CREATE VIEW ev3 AS SELECT n AS deep FROM ev1")
    con.execute("CREATE VIEW eb1 AS SELECT id, city AS town FROM customers")
    con.close()
    with guarded_kernel(d, connect=True) as kernel:
        yield kernel


ATTACKS = [
    pytest.param("SELECT count(*) FROM customers c WHERE c::VARCHAR LIKE '%10000012%'",
                 id="row-cast-varchar"),
    pytest.param("SELECT count(*) FROM customers c WHERE CAST(c AS VARCHAR) LIKE '%1000%'",
                 id="row-cast-function"),
    pytest.param("SELECT count(*) FROM customers WHERE customers::VARCHAR LIKE '%1000%'",
                 id="row-by-table-name"),
    pytest.param("SELECT count(*) FROM customers c WHERE c::JSON::VARCHAR LIKE '%1000%'",
                 id="row-cast-json"),
    pytest.param("SELECT count(*) FROM customers c WHERE to_json(c)::VARCHAR LIKE '%1000%'",
                 id="row-to-json"),
    pytest.param("SELECT count(*) FROM customers c WHERE contains(c::VARCHAR, '1000')",
                 id="row-contains"),
    pytest.param("SELECT count(*) FROM customers WHERE struct_pack(ssn)::VARCHAR LIKE '%1000%'",
                 id="struct-pack"),
    pytest.param("SELECT count(*) FROM customers WHERE struct_pack(s := ssn)::VARCHAR "
                 "LIKE '%1000%'", id="struct-pack-named"),
    pytest.param("SELECT count(*) FROM customers WHERE row(id, email)::VARCHAR LIKE '%user1@%'",
                 id="row-function"),
    pytest.param("SELECT count(*) FROM customers WHERE COLUMNS('ssn') LIKE '1%'",
                 id="columns-regex"),
    pytest.param("SELECT count(*) FROM customers WHERE COLUMNS(x -> x LIKE '%ss%') LIKE '1%'",
                 id="columns-lambda"),
    pytest.param("SELECT count(*) FROM customers WHERE COLUMNS('s.n') = '100000012'",
                 id="columns-pattern"),
    pytest.param("SELECT count(*) FROM customers WHERE COLUMNS(*) = 'user1@example.com'",
                 id="columns-star"),
    pytest.param("SELECT count(*) FROM ev1 WHERE n LIKE '1%'", id="view-made-elsewhere"),
    pytest.param("SELECT count(*) FROM ev2 WHERE m = 'user1@example.com'",
                 id="view-made-elsewhere-renamed"),
    pytest.param("SELECT count(*) FROM ev3 v WHERE v.deep LIKE '1%'",
                 id="view-of-a-view-made-elsewhere"),
    pytest.param("SELECT count(*) FROM ev1 v WHERE v::VARCHAR LIKE '%1000%'",
                 id="row-of-a-view-made-elsewhere"),
]


@pytest.mark.parametrize("q", ATTACKS)
def test_comparing_a_row_columns_or_a_catalog_view_is_refused(k: Kernel, q: str) -> None:
    r = k.blocked(f"print('ANSWER', con.sql({q!r}).fetchall())", "inference")
    assert "ANSWER" not in r.stream


def test_a_view_made_in_a_spelling_not_remembered_is_read_through(k: Kernel) -> None:
    """``AS`` at the end of a line: the analysis did not remember the view; the catalog does."""
    k.ok("con.execute('CREATE VIEW nv1 AS\\nSELECT email AS z FROM customers')")
    r = k.blocked("print('ANSWER', con.sql(\"SELECT count(*) FROM nv1 WHERE z LIKE 'u%'\")"
                  ".fetchall())", "inference")
    assert "ANSWER" not in r.stream


@pytest.mark.parametrize(("q", "want"), [
    pytest.param("SELECT count(*) FROM orders o WHERE o::VARCHAR LIKE '%order%'", 2000,
                 id="row-of-a-plain-table"),
    pytest.param("SELECT count(*) FROM customers c WHERE c.city = 'Lyon'", LYON, id="city"),
    pytest.param("SELECT count(*) FROM customers WHERE COLUMNS('city') = 'Lyon'", LYON,
                 id="columns-city"),
    pytest.param("SELECT count(*) FROM customers WHERE struct_pack(city)::VARCHAR LIKE '%Lyon%'",
                 LYON, id="struct-pack-city"),
    pytest.param("SELECT count(*) FROM eb1 WHERE town = 'Lyon'", LYON, id="plain-view-elsewhere"),
    pytest.param("SELECT count(*) FROM ev1 WHERE id < 10", 10, id="view-filtered-on-plain"),
    pytest.param("SELECT count(*) FROM ev2 e JOIN customers c ON e.m = c.email", N,
                 id="join-on-renamed-email"),
])
def test_benign_twins_run_with_correct_results(k: Kernel, q: str, want: int) -> None:
    r = k.ok(f"print(con.sql({q!r}).fetchall())")
    assert r.stream.strip() == f"[({want},)]"
