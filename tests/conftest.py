"""Shared fixtures: a real IPython shell with the guard loaded, real DuckDB files, real kernels.

Work folders live under ``~/.cache/jupyter_guard_tests`` — never under the system temp directory,
which the default policy deliberately leaves unprotected (a clone in /tmp would make every
protected-path test pass vacuously)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(os.environ.get("JUPYTER_GUARD_TEST_WORK", Path.home() / ".cache" / "jupyter_guard_tests"))


@pytest.fixture(scope="session")
def work_root() -> Iterator[Path]:
    from jupyter_guard.policy.rules import in_tempdir

    assert not in_tempdir(str(WORK), "/"), f"{WORK} is in the temp dir: set JUPYTER_GUARD_TEST_WORK elsewhere"
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"run-{os.getpid()}"
    path.mkdir(exist_ok=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def new_workspace(root: Path, *, data: bool = True) -> Path:
    """A fresh folder under ``root`` (outside the temp dir); with ``data``, a protected
    ``data/keep.csv`` inside."""
    d = root / uuid.uuid4().hex[:8]
    d.mkdir(parents=True)
    if data:
        (d / "data").mkdir()
        (d / "data" / "keep.csv").write_text("id,city\n1,Paris\n")
    return d


@pytest.fixture()
def workdir(work_root: Path) -> Path:
    """A fresh folder outside the temp dir, with a protected ``data/`` folder inside."""
    return new_workspace(work_root)


@pytest.fixture(scope="session")
def ip(work_root: Path) -> Iterator[Any]:
    """A real in-process IPython shell with ``%load_ext jupyter_guard`` (history off); it
    guards this process from then on, so the tests that use it run last (see below)."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    from tests.kernelutil import wait_stopped

    wait_stopped()   # no kernel still exiting behind once the guard judges this process
    os.environ["JUPYTER_GUARD_AUDIT"] = str(work_root / "audit.duckdb")
    os.environ.pop("JUPYTER_GUARD_POLICY", None)
    cfg = Config()
    cfg.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=cfg)
    res = shell.run_cell("%load_ext jupyter_guard", store_history=True)
    assert res.success, res.error_in_exec
    yield shell


@pytest.fixture(autouse=True, scope="module")
def _known_values_per_module() -> Iterator[None]:
    """The values the guard remembered from sensitive columns are forgotten after each module:
    the in-process shell lives for the whole run, and 250,000-row fetches (``tests/pg``) each
    leave ~1.5 million values and forms behind, whose matcher grew past 20 GB in CI. No test
    may rely on values another module made known."""
    yield
    exits = sys.modules.get("jupyter_guard.hooks.exits")
    if exits is not None and exits.known:
        exits.known.clear()
        exits.counted[0] = 0
        exits.lengths.clear()


def make_warehouse(path: Path, rows: int = 5000, ssns: Sequence[str] = ()) -> Path:
    """A DuckDB file with customers (sensitive columns) and orders, made outside any guard;
    ``ssns``: the first customers' SSNs in id order (realistic values instead of
    ``100000000 + id``)."""
    import duckdb

    from jupyter_guard.connections import unwrap

    con = unwrap(duckdb.connect(str(path)))  # the test's own set-up is not the session's work
    con.execute(f"""
        CREATE TABLE customers AS
        SELECT range AS id, 'user' || range || '@example.com' AS email,
               lpad(CAST(100000000 + range AS VARCHAR), 9, '0') AS ssn,
               CASE range % 3 WHEN 0 THEN 'Paris' WHEN 1 THEN 'Lyon' ELSE 'Nice' END AS city,
               round(range * 1.5, 2) AS amount
        FROM range({rows})""")
    con.execute("CREATE TABLE orders AS SELECT range AS order_id, range % 50 AS customer_id, "
                "range * 2.5 AS total FROM range(2000)")
    if ssns:
        con.executemany("UPDATE customers SET ssn = ? WHERE id = ?",
                        [[s, i] for i, s in enumerate(ssns)])
    con.close()
    return path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that load the guard into *this* process (the in-process shell fixture ``ip``) run last:
    once loaded the guard cannot be unloaded, and it guards every DuckDB connection the process
    opens afterwards, including other tests' own set-up."""
    items.sort(key=lambda item: "ip" in getattr(item, "fixturenames", ()))


def mounted_tmpfs(mnt: Path, size: str) -> Iterator[Path]:
    """A small tmpfs mounted at ``mnt`` for the time of a test (a full disk on demand); the test
    is skipped, with the reason, where mounting is impossible."""
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip() or r.returncode})")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


_EXIT: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    kernelutil = sys.modules.get("tests.kernelutil")
    if kernelutil is not None:
        kernelutil.wait_stopped()   # the last kernels stopped behind have exited
    _EXIT.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave without interpreter finalization once the results are printed: the guard loaded in
    this process by the in-process tests keeps daemon threads (the audit ingest) that may be
    inside DuckDB's C++ code when finalization stops them, which aborts the process (`terminate
    called ... exception not rethrown`) after every test passed."""
    if _EXIT and os.environ.get("JUPYTER_GUARD_TEST_FINALIZE") != "1":
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT[0])
