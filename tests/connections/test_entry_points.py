"""A database kind added as a third-party package would add it: one module, found through the
``jupyter_guard.connections`` entry-point group, in a real kernel. Decisions flow through it (its
driver is wrapped at connect(), ``%%guarded_sql`` uses its catalog and counts); a kind that fails
to load breaks the guard, naming the kind (every cell refused)."""
from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel

HERE = Path(__file__).parent


def _package(site: Path, module: str, source: str, entry: str) -> None:
    """An installed distribution: ``module.py`` and a dist-info declaring the entry point."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(source)
    info = site / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[jupyter_guard.connections]\n{entry}\n")


def _kernel(d: Path, site: Path) -> Kernel:
    import os

    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return Kernel(d, {"PYTHONPATH": path, "JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb"),
                      "JUPYTER_GUARD_USER": "alice"})


def _orders(path: Path) -> int:
    con = sqlite3.connect(str(path))
    try:
        return int(con.execute("SELECT count(*) FROM orders").fetchone()[0])
    finally:
        con.close()


@pytest.fixture(scope="module")
def toy(work_root: Path) -> Iterator[tuple[Kernel, Path]]:
    d = work_root / "toykind"
    d.mkdir()
    _package(d / "site", "toydb", (HERE / "toykind_src.py").read_text(), "toy = toydb:ToyKind")
    db = d / "shop.toy"
    con = sqlite3.connect(str(db))
    con.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, email TEXT, amount INT)")
    con.executemany("INSERT INTO orders VALUES (?, ?, ?)",
                    [(i, f"u{i}@x.org", i) for i in range(1, 3001)])
    con.commit()
    con.close()
    kernel = _kernel(d, d / "site")
    r = kernel.run("%load_ext jupyter_guard")
    assert r.status == "ok", r.text
    r = kernel.run(f"import toydb\ncon = toydb.connect({str(db)!r})")
    assert r.status == "ok", r.text
    yield kernel, db
    kernel.stop()
    shutil.rmtree(d, ignore_errors=True)


def test_the_kind_is_loaded_and_its_driver_wrapped(toy: tuple[Kernel, Path]) -> None:
    k, _ = toy
    r = k.run("%guard status")
    assert "database kinds" in r.text and "on" in r.text, r.text
    r = k.run("print(con.__class__.__name__, type(con).__name__)")
    assert "Connection GuardedDbapi" in r.text, r.text


@pytest.mark.parametrize("cell", [
    pytest.param("con.execute('DELETE FROM orders')", id="driver-delete-all"),
    pytest.param("con.cursor().execute('DELETE FROM orders WHERE id <= 2500')", id="driver-count"),
    pytest.param("t = 'ord' + 'ers'\ncon.execute('DELETE FROM ' + t)", id="driver-runtime-sql"),
    pytest.param("%%guarded_sql con\nDELETE FROM orders WHERE amount > 100", id="magic-count"),
    pytest.param("%%guarded_sql con\nDROP TABLE orders", id="magic-drop"),
])
def test_attacks_are_refused_through_the_kind(toy: tuple[Kernel, Path], cell: str) -> None:
    k, db = toy
    r = k.run(cell)
    assert r.status == "error", r.text
    assert r.error.get("ename") != "NameError", r.text
    assert "bulk-change" in r.text or "destructive-ddl" in r.text, r.text
    k.run("con.commit()")
    assert _orders(db) >= 2990   # nothing deleted (the benign twin below takes at most 5)


def test_benign_twins_run_and_the_kind_judged_them(toy: tuple[Kernel, Path]) -> None:
    k, db = toy
    before = _orders(db)
    r = k.run("con.execute('DELETE FROM orders WHERE id <= 2')\ncon.commit()")
    assert r.status == "ok", r.text
    r = k.run("%%guarded_sql con\nDELETE FROM orders WHERE id IN (3, 4, 5)")
    assert r.status == "ok", r.text
    assert _orders(db) == before - 5 or _orders(db) == 2995
    r = k.run("%%guarded_sql con --limit 3\nSELECT id, amount FROM orders ORDER BY id")
    assert r.status == "ok" and "showing" in r.text, r.text
    r = k.run("print('judged by the toy kind:', sum('orders' in t for t in toydb.LOADED) >= 3)")
    assert "judged by the toy kind: True" in r.text, r.text


def test_a_kind_registered_after_loading_is_undone(toy: tuple[Kernel, Path]) -> None:
    """Self-protection restores the registry: a lenient kind defined in a cell changes nothing."""
    k, db = toy
    r = k.run("import jupyter_guard.connections.base as b\n"
              "from jupyter_guard.model import Analysis\n"
              "class Lenient(b.ConnectionKind):\n"
              "    dialect = 'toy'\n"
              "    drivers = ('toydb',)\n"
              "    def analyse(self, text, params=None):\n"
              "        return Analysis()\n")
    r = k.run("con.execute('DELETE FROM orders')")
    assert r.status == "error" and "bulk-change" in r.text, r.text
    r = k.run("print(type(b.for_dialect('toy')).__name__)")
    assert "ToyKind" in r.text, r.text
    assert _orders(db) >= 2990


def test_a_kind_that_fails_to_load_breaks_the_guard(work_root: Path) -> None:
    d = work_root / "brokenkind"
    d.mkdir()
    _package(d / "site", "toybroken", "raise ImportError('no toy driver here')\n",
             "brokenkind = toybroken:Kind")
    k = _kernel(d, d / "site")
    try:
        r = k.run("%load_ext jupyter_guard")
        assert "brokenkind" in r.text and "no toy driver here" in r.text, r.text
        r = k.run("x = 1 + 1")
        assert r.status == "error" and "guard-error" in r.text, r.text
        assert "brokenkind" in r.text, r.text
    finally:
        k.stop()
        shutil.rmtree(d, ignore_errors=True)
