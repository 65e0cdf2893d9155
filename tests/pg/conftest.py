"""A throwaway PostgreSQL cluster (session) and a fresh database per test (the in-process shell
``ip`` is in tests/conftest.py). A cluster that cannot start fails the tests that need it."""
from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.kernelutil import Kernel, guarded_kernel, wait_stopped
from tests.pg.pgserver import PgServer, start


@pytest.fixture(scope="session")
def pg() -> Iterator[PgServer]:
    server = start()   # raises (and so fails the test) when PostgreSQL cannot start
    yield server
    wait_stopped()   # a kernel stopped behind drops its database on this server after it exits
    server.stop()


class Db:
    """One fresh database: its name, the server, and unguarded looks at its data."""

    def __init__(self, server: PgServer, name: str) -> None:
        self.server, self.name = server, name
        self.dsn = server.dsn(name)
        self.analyst = server.dsn(name, "analyst")    # no superuser, no server-file rights
        self.url = server.url(name)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return self.server.query(sql, db=self.name)

    def count(self, table: str) -> int:
        return int(self.query(f"SELECT count(*) FROM {table}")[0][0])

    def tables(self) -> set[str]:
        return {r[0] for r in self.query(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}

    def intact(self) -> None:
        """customers and orders are all there, triggers on, nobody left idle in a transaction."""
        assert {"customers", "orders"} <= self.tables()
        assert self.count("customers") == 10_000
        assert self.count("orders") == 50_000
        assert self.query("SELECT count(*) FROM pg_trigger WHERE tgenabled = 'D'")[0][0] == 0


@pytest.fixture()
def db(pg: PgServer) -> Iterator[Db]:
    name = pg.fresh()
    yield Db(pg, name)
    pg.drop(name)


@pytest.fixture()
def kernel(work_root: Path, request: pytest.FixtureRequest) -> Iterator[Kernel]:
    """A fresh real kernel with ``%load_ext jupyter_guard``, no policy, its audit in its own
    folder (named after the test module and a new id: an ``id()`` can be reused)."""
    d = work_root / f"{request.module.__name__.rsplit('.', 1)[-1]}-{uuid.uuid4().hex[:12]}"
    d.mkdir()
    with guarded_kernel(d, stop_behind=True) as k:
        yield k


def run(ip: Any, code: str) -> Any:
    """Run a cell; the result's ``error`` is the exception the cell ended with (or None)."""
    res = ip.run_cell(code, store_history=True)
    res.error = res.error_before_exec or res.error_in_exec
    return res


@contextmanager
def saved_before_load(work_root: Path, name: str, saved: str) -> Iterator[Kernel]:
    """A real kernel that ran ``saved`` (references taken from the drivers) before
    ``%load_ext jupyter_guard``: the saved-method tests' shared set-up."""
    d = work_root / name
    d.mkdir()
    kernel = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb")})
    try:
        r = kernel.run(saved)   # taken before the guard loads
        assert r.status == "ok", r.text
        r = kernel.run("%load_ext jupyter_guard")
        assert r.status == "ok", r.text
        yield kernel
    finally:
        kernel.stop()
        shutil.rmtree(d, ignore_errors=True)


PSYCOPG = "import psycopg\npg = psycopg.connect({dsn!r}, autocommit=True)"   # pg_kernel's usual


@contextmanager
def pg_kernel(pg: PgServer, d: Path, connect: str, setup: str = "") -> Iterator[Kernel]:
    """A real kernel in ``d`` with the guard loaded and no policy, on a fresh copy of ``shop``
    (``setup``, the tests' own SQL, run there first); ``connect`` is code formatted with
    ``dsn``, ``port`` and ``db`` (the user's connection). The kernel carries ``pg``, ``db`` and
    ``ssns`` (the first three customers' SSNs); the database is dropped after."""
    d.mkdir()
    name = pg.fresh()
    if setup:
        pg.query(setup, db=name)
    kernel = Kernel(d, {"JUPYTER_GUARD_AUDIT": str(d / "audit.duckdb"),
                        "JUPYTER_GUARD_POLICY": None})
    kernel.pg, kernel.db = pg, name
    try:
        assert kernel.run("%load_ext jupyter_guard").status == "ok"
        r = kernel.run(connect.format(dsn=pg.dsn(name), port=pg.port, db=name))
        assert r.status == "ok", r.text
        kernel.ssns = [s for (s,) in pg.query("SELECT ssn FROM customers ORDER BY id LIMIT 3",
                                              db=name)]
        yield kernel
    finally:   # behind the next test: the database and the folder go once the kernel exited
        kernel.stop(behind=True, then=lambda: (pg.drop(name),
                                               shutil.rmtree(d, ignore_errors=True)))
