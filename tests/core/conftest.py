"""A session over the in-process shell ``ip`` (tests/conftest.py): a warehouse connected as ``con``
in a fresh work folder, and unguarded looks at it."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_warehouse


@dataclass
class Cell:
    result: Any

    @property
    def ok(self) -> bool:
        return bool(self.result.success)

    @property
    def error(self) -> BaseException | None:
        return self.result.error_before_exec or self.result.error_in_exec

    @property
    def rule(self) -> str:
        return getattr(self.error, "rule_id", "")


@dataclass
class Session:
    ip: Any
    dir: Path
    db: Path

    def run(self, code: str) -> Cell:
        return Cell(self.ip.run_cell(code, store_history=True))

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        """Read the warehouse through a second, unguarded read of the file."""
        from jupyter_guard.connections import unwrap

        return list(unwrap(self.ip.user_ns["con"]).execute(query).fetchall())

    def tables(self) -> set[str]:
        return {r[0] for r in self.sql("SELECT table_name FROM duckdb_tables()")}

    def count(self, table: str = "customers") -> int:
        return int(self.sql(f"SELECT count(*) FROM {table}")[0][0])


@pytest.fixture()
def s(ip: Any, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    db = make_warehouse(workdir / "wh.duckdb")
    ip.user_ns["WORK"] = str(workdir)
    ip.user_ns["DB"] = str(db)
    res = ip.run_cell(f"import duckdb\ncon = duckdb.connect({str(db)!r})", store_history=True)
    assert res.success
    monkeypatch.chdir(workdir)
    yield Session(ip, workdir, db)
    ip.run_cell("con.close()", store_history=True)
