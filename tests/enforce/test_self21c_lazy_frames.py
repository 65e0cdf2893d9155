"""polars LazyFrames and Arrow datasets that DuckDB scans by name, in the statements the guard
runs under its own-work token (a measured ``CREATE TABLE … AS``, ``INSERT … SELECT``, a
``DELETE`` whose ``WHERE`` reads one): the user's functions they run while DuckDB collects them
(``map_batches``) are judged as the user's, and a ``COPY`` of a LazyFrame, whose columns the
guard does not read, is refused. A probe (self21c) that found these closed, kept as a
regression test; the twins scan a LazyFrame and an Arrow dataset with correct results."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.enforce.test_busy_token import busy_kernel, probe_kept
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

SETUP = ("import functools, polars as pl, pyarrow as pa, pyarrow.dataset as ds\n"
         "RM = functools.partial(getattr(os, R('erzbir')), 'data/probe.duckdb')\n"
         "def rmb(s):\n    RM()\n    return s\n"
         "con.execute('CREATE TABLE t2 (a BIGINT)')\n")
LF = ("lf = pl.LazyFrame({'a': [1, 2]}).select(pl.col('a').map_batches("
      "FN, return_dtype=pl.Int64))\n")

ATTACKS = [
    pytest.param(LF.replace("FN", "rmb") + "con.execute('CREATE TABLE t1 AS SELECT * FROM lf')",
                 id="ctas"),
    pytest.param(LF.replace("FN", "lambda s: (RM(), s)[1]")
                 + "con.execute('INSERT INTO t2 SELECT * FROM lf')", id="insert"),
    pytest.param(LF.replace("FN", "rmb")
                 + "con.execute('DELETE FROM t2 WHERE a IN (SELECT a FROM lf)')",
                 id="delete-where"),
    pytest.param(LF.replace("FN", "rmb") + "con.execute(\"COPY (SELECT * FROM lf) TO 'o.csv'\")",
                 id="copy"),
    pytest.param(LF.replace("FN", "rmb") + "con.execute('SELECT * FROM lf').fetchall()",
                 id="select"),
]


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    with busy_kernel(work_root, SETUP) as kernel:
        yield kernel


@pytest.mark.parametrize("cell", ATTACKS)
def test_a_lazy_frames_functions_are_the_users(k: Kernel, cell: str) -> None:
    probe_kept(k, cell)


def test_lazy_frames_and_datasets_scan_by_name(k: Kernel) -> None:
    r = k.ok("lz = pl.LazyFrame({'a': [1, 2, 3]}).select(pl.col('a').map_batches("
             "lambda s: s * 10, return_dtype=pl.Int64))\n"
             "con.execute('CREATE TABLE t4 AS SELECT * FROM lz')\n"
             "print('lz', con.execute('SELECT sum(a) FROM t4').fetchall())\n"
             "dset = ds.dataset(pa.table({'b': [4, 5]}))\n"
             "print('ds', con.execute('SELECT sum(b) FROM dset').fetchall())")
    assert "lz [(60,)]" in r.stream and "ds [(9,)]" in r.stream, r.everything()
