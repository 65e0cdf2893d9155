"""polars writers in a real kernel: a frame made from a guarded result (``pl.from_pandas(df)``,
``con.sql(...).pl()``) is not written to a file with its sensitive values, by any writer or
lazy sink, renamed or not; the file is absent or holds none of them. Plain columns and
aggregates are written and read back with correct results."""
from __future__ import annotations

import io
import uuid

import pytest

from tests.conftest import make_warehouse
from tests.enforce.test_exits import EMAILS, SSNS
from tests.kernelutil import Kernel

pytest.importorskip("polars")
pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(kernel: Kernel) -> Kernel:
    make_warehouse(kernel.workdir / "wh.duckdb")
    kernel.ok("import duckdb, polars as pl\ncon = duckdb.connect('wh.duckdb')\n"
              "df = con.sql('SELECT * FROM customers ORDER BY id').df()\np = pl.from_pandas(df)")
    return kernel


WRITES = [
    pytest.param("p.write_csv(F)", id="write_csv"),
    pytest.param("p.write_parquet(F)", id="write_parquet"),
    pytest.param("p.write_json(F)", id="write_json"),
    pytest.param("p.write_ndjson(file=F)", id="write_ndjson-keyword"),
    pytest.param("p.write_ipc(F)", id="write_ipc"),
    pytest.param("p.lazy().sink_csv(F)", id="lazy-sink_csv"),
    pytest.param("p.lazy().filter(pl.col('id') > 10).sink_parquet(F)", id="lazy-sink_parquet"),
    pytest.param("con.sql('SELECT id, ssn FROM customers').pl().write_csv(F)",
                 id="duckdb-pl-result"),
    pytest.param("p['email'].to_frame().write_csv(F)", id="series-to-frame"),
    pytest.param("p.rename({'ssn': 'k'}).select('k').write_parquet(F)", id="renamed"),
    pytest.param("with open(F, 'wb') as f:\n    p.select('email').write_csv(f)",
                 id="open-file-object"),
]


def _raw_in(data: bytes) -> list[str]:
    """Raw values in ``data``, read by polars when it is a columnar file."""
    text = data.decode("latin-1")
    if data[:4] in (b"PAR1", b"ARRO"):
        import polars as pl

        frame = pl.read_parquet(io.BytesIO(data)) if data[:4] == b"PAR1" else \
            pl.read_ipc(io.BytesIO(data))
        text = frame.write_csv()
    return [v for v in SSNS[:300] + EMAILS[:300] if v in text]


@pytest.mark.parametrize("code", WRITES)
def test_polars_writes_no_sensitive_value(k: Kernel, code: str) -> None:
    f = k.workdir / f"pl_{uuid.uuid4().hex[:8]}.out"
    k.blocked(f"F = {str(f)!r}\n{code}", "exfiltration")
    assert not f.exists() or not _raw_in(f.read_bytes())


def test_polars_writes_plain_columns_and_aggregates(k: Kernel) -> None:
    a, b = (k.workdir / f"pl_{uuid.uuid4().hex[:8]}.{x}" for x in ("csv", "parquet"))
    k.ok(f"p.select(['id', 'city']).write_csv({str(a)!r})\n"
         f"p.group_by('city').agg(pl.len().alias('n'), pl.col('email').n_unique().alias('u'))"
         f".sort('city').write_parquet({str(b)!r})\n"
         "s = p.select(['id']).write_csv()")   # no destination: the text comes back
    import polars as pl

    plain = pl.read_csv(a)
    assert plain.columns == ["id", "city"] and plain.height == 5000
    agg = pl.read_parquet(b)
    assert agg["n"].sum() == 5000 and agg["u"].sum() == 5000
