"""Files that native code opens by path, in a real kernel: pyarrow, polars and h5py open and
write files in C++, Rust and C, past ``open`` and the audit hook.

Self-protection: every route that names the audit store (its file, journal, heads, lock, delta
parquet files, a new name in its namespace, a glob over it, a folder holding it) or the
server's authority key is refused as ``self-protection``, reading and writing alike; after each
attempt the store's delta files are byte for byte as they were, no new file appears in its
namespace and ``jupyter guard verify`` passes. A source that names no file and is no buffer is
refused. Writers are judged on their data (``ParquetWriter``, ``CSVWriter``, ``write_to_dataset``,
``write_dataset``, h5py datasets and attributes): no known value reaches the file.

A numeric ``.npy`` (``np.save``) has its header read by the detectors and its body by the known
values: a known e-mail in its raw bytes is refused, a million random floats are written
(``test_bin20_derived``).

Benign twins: the same libraries read and write ordinary files in the working directory (and
in-memory buffers) with correct contents.
"""
from __future__ import annotations

import glob
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.enforce.test_exits import EMAILS, SSNS
from tests.enforce.test_red15c_corpus import SETUP
from tests.kernelutil import Kernel, guarded_kernel

pytest.importorskip("pyarrow")
pytestmark = pytest.mark.kernel

IMPORTS = ("import glob, io, os, numpy as np, pandas as pd, pyarrow as pa, pyarrow.parquet as pq\n"
           "import pyarrow.csv as pc, pyarrow.json as pj, pyarrow.feather as pf, pyarrow.orc as po\n"
           "import pyarrow.dataset as ds, pyarrow.ipc as ipc, pyarrow.fs as pfs\n"
           "T = pa.table({'x': [1, 2, 3]})\n")


def _delta(cwd: Path) -> list[Path]:
    return sorted(Path(p) for p in glob.glob(str(cwd / "audit.duckdb.delta" / "*" / "*.parquet")))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kernel, Path]]:
    cwd = tmp_path_factory.mktemp("store22")
    key = cwd / "srv" / "authority.key"
    key.parent.mkdir()
    key.write_text("k,v\nsecret,1\n")
    env = {"JUPYTER_GUARD_AUTHORITY_KEY_FILE": str(key),
           "JUPYTER_GUARD_APPROVALS_FILE": str(cwd / "srv" / "approvals.json")}
    with guarded_kernel(cwd, env, warehouse=60, connect=True) as k:
        k.ok(SETUP)
        k.run("import os; os.remove('audit.duckdb')")   # refused: the store writes a delta
        start = time.monotonic()
        while not _delta(cwd) and time.monotonic() - start < 120:
            k.ok("pass")   # a cell's events reach the delta
        assert _delta(cwd), sorted(os.listdir(cwd))
        k.ok(IMPORTS + f"D = {str(_delta(cwd)[-1].relative_to(cwd))!r}\nKEY = {str(key)!r}")
        yield k, cwd


def _verify(cwd: Path) -> None:
    env = {**os.environ, "JUPYTER_GUARD_AUDIT": str(cwd / "audit.duckdb")}
    done = subprocess.run([sys.executable, "-m", "jupyter_guard.cli", "verify"], env=env,
                          cwd=cwd, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr


MADE = (".zw", ".f", ".c", ".orc", ".o", ".mm", ".arrow", ".s", ".h5")
"""What the attacks below would add to the store's namespace."""


def _store_files(cwd: Path) -> set[str]:
    return {n for n in os.listdir(cwd) if n.startswith(("audit.duckdb", ".audit.duckdb"))}


STORE_WRITES = [
    pytest.param("pq.write_table(T, 'audit.duck' + 'db.zw')", id="pq.write_table-new-name"),
    pytest.param("pq.write_table(T, D)", id="pq.write_table-delta"),
    pytest.param("pq.ParquetWriter(D, T.schema)", id="ParquetWriter-delta"),
    pytest.param("pq.write_to_dataset(T, 'audit.duckdb.delta')", id="write_to_dataset"),
    pytest.param("ds.write_dataset(T, 'audit.duckdb.delta', format='parquet', "
                 "existing_data_behavior='overwrite_or_ignore')", id="ds.write_dataset"),
    pytest.param("pf.write_feather(T, 'audit.duck' + 'db.f')", id="write_feather"),
    pytest.param("pc.write_csv(T, 'audit.duck' + 'db.heads.json')", id="pc.write_csv-heads"),
    pytest.param("pc.CSVWriter('audit.duck' + 'db.c', T.schema)", id="CSVWriter"),
    pytest.param("po.write_table(T, 'audit.duck' + 'db.orc')", id="orc.write_table"),
    pytest.param("pa.OSFile(D, 'wb').write(b'x')", id="OSFile-wb"),
    pytest.param("pa.output_stream('audit.duck' + 'db.o').write(b'x')", id="output_stream"),
    pytest.param("pa.create_memory_map('audit.duck' + 'db.mm', 16)", id="create_memory_map"),
    pytest.param("ipc.new_file('audit.duck' + 'db.arrow', T.schema)", id="ipc.new_file"),
    pytest.param("pfs.LocalFileSystem().delete_file(D)", id="fs.delete_file"),
    pytest.param("pfs.LocalFileSystem().delete_dir_contents('.')", id="fs.delete_dir_contents"),
    pytest.param("pfs.LocalFileSystem().move(D, 'moved.parquet')", id="fs.move"),
    pytest.param("pq.write_table(T, 'own.parquet')\n"
                 "pfs.LocalFileSystem().copy_file('own.parquet', D)", id="fs.copy_file"),
    pytest.param("pfs.LocalFileSystem().open_output_stream('audit.duck' + 'db.s')",
                 id="fs.open_output_stream"),
    pytest.param("import polars as pl\npl.DataFrame({'x': [1]}).write_parquet(D)",
                 id="polars-write_parquet"),
    pytest.param("import polars as pl\npl.LazyFrame({'x': [1]}).sink_csv('audit.duck' + 'db.c')",
                 id="polars-sink_csv"),
    pytest.param("import h5py\nh5py.File('audit.duck' + 'db.h5', 'w')", id="h5py-write"),
]
STORE_READS = [
    pytest.param("pq.read_table(D)", id="pq.read_table"),
    pytest.param("pd.read_parquet(D)", id="pandas-read_parquet"),
    pytest.param("pq.ParquetFile(D)", id="ParquetFile"),
    pytest.param("pq.read_metadata(D)", id="read_metadata"),
    pytest.param("pq.read_schema(D)", id="read_schema"),
    pytest.param("ds.dataset('audit.duck' + 'db.delta')", id="ds.dataset"),
    pytest.param("ds.dataset('.', format='parquet').to_table()", id="ds.dataset-folder"),
    pytest.param("pa.memory_map(D).read()", id="memory_map"),
    pytest.param("pa.input_stream('audit.duck' + 'db').read()", id="input_stream"),
    pytest.param("pc.read_csv('audit.duck' + 'db.heads.json')", id="pc.read_csv"),
    pytest.param("pc.open_csv('audit.duck' + 'db.lock')", id="pc.open_csv"),
    pytest.param("pj.read_json('audit.duck' + 'db.heads.json')", id="pj.read_json"),
    pytest.param("pf.read_table('audit.duck' + 'db')", id="feather.read_table"),
    pytest.param("pfs.LocalFileSystem().open_input_file(D).read()", id="fs.open_input_file"),
    pytest.param("import polars as pl\npl.read_parquet(D)", id="polars-read_parquet"),
    pytest.param("import polars as pl\npl.scan_parquet('audit.duck*/**/*.parquet').collect()",
                 id="polars-scan-glob"),
    pytest.param("import polars as pl\n"
                 "pl.read_ndjson(glob.glob('audit.duck' + 'db.journal/*')[0])",
                 id="polars-read_ndjson-journal"),
    pytest.param("import h5py\nh5py.File('audit.duck' + 'db', 'r')", id="h5py-read"),
    pytest.param("pa.input_stream(KEY).read()", id="authority-input_stream"),
    pytest.param("import polars as pl\npl.read_csv(KEY)", id="authority-polars"),
    pytest.param("pc.read_csv(KEY)", id="authority-pc.read_csv"),
    pytest.param("pq.read_table(object())", id="no-path-object"),
]


@pytest.mark.parametrize("code", STORE_WRITES + STORE_READS)
def test_native_routes_to_the_store_are_refused(home: tuple[Kernel, Path], code: str) -> None:
    k, cwd = home
    if "h5py" in code:
        pytest.importorskip("h5py")
    if "polars" in code:
        pytest.importorskip("polars")
    delta = {p: p.read_bytes() for p in _delta(cwd)}
    assert delta
    before = _store_files(cwd)
    r = k.run(code)
    assert r.status == "error", f"not refused: {code!r}\n{r.everything()}"
    # a path the cell's text shows overwriting a *.parquet may be refused before it runs
    assert "[self-protection]" in r.everything() or (
        "[destructive-files]" in r.everything() and "D)" in code), r.everything()
    assert {p: p.read_bytes() for p in delta if p.exists()} == delta   # intact, none gone
    made = {n for n in _store_files(cwd) - before if n.endswith(MADE)}
    assert not made and not (cwd / "moved.parquet").exists(), made
    assert "secret" not in r.everything()
    _verify(cwd)


LEAKS = [
    pytest.param("w = pq.ParquetWriter('leak_w.parquet', pa.schema([('e', pa.string())]))\n"
                 "w.write_table(pa.table({'e': E[:20]}))", "leak_w.parquet", id="ParquetWriter"),
    pytest.param("cw = pc.CSVWriter('leak_c.csv', pa.schema([('s', pa.string())]))\n"
                 "cw.write_table(pa.table({'s': S[:20]}))", "leak_c.csv", id="CSVWriter"),
    pytest.param("pq.write_to_dataset(pa.table({'e': E[:20]}), 'leak_d')", "leak_d",
                 id="write_to_dataset"),
    pytest.param("ds.write_dataset(pa.table({'v': S[:20]}), 'leak_ds', format='parquet')",
                 "leak_ds", id="ds.write_dataset"),
    pytest.param("import h5py\nf = h5py.File('leak_h1.h5', 'w')\n"
                 "f['e'] = np.array([e.encode() for e in E[:5]])", "leak_h1.h5", id="h5py-bytes"),
    pytest.param("import h5py\nf = h5py.File('leak_h2.h5', 'w')\n"
                 "f.create_dataset('s', data=np.array(S[:5], dtype=h5py.string_dtype()))",
                 "leak_h2.h5", id="h5py-strings"),
    pytest.param("import h5py\nf = h5py.File('leak_h3.h5', 'w')\n"
                 "f.create_dataset('n', data=np.array([int(s.replace('-', '')) for s in S[:40]]))",
                 "leak_h3.h5", id="h5py-numbers"),
    pytest.param("import h5py\nf = h5py.File('leak_h4.h5', 'w')\nd = f.create_dataset("
                 "'d', (5,), dtype=h5py.string_dtype())\nd[:] = E[:5]", "leak_h4.h5",
                 id="h5py-dataset-setitem"),
    pytest.param("import h5py\nf = h5py.File('leak_h5.h5', 'w')\nf.attrs['who'] = E[3]",
                 "leak_h5.h5", id="h5py-attrs"),
    # a numeric .npy: its body is read by the known values (raw floats spell e-mails by chance)
    pytest.param("b = (E[4] + ' ' * (-len(E[4]) % 8)).encode()\n"
                 "np.save('leak_n1.npy', np.frombuffer(b * 3, dtype='<f8'))", "leak_n1.npy",
                 id="npy-float-bytes-of-a-known-email"),
    pytest.param("np.save('leak_n2.npy', np.array(E[:5]))", "leak_n2.npy", id="npy-text"),
]


@pytest.mark.parametrize(("code", "name"), LEAKS)
def test_native_writers_are_judged_on_their_data(home: tuple[Kernel, Path], code: str,
                                                 name: str) -> None:
    k, cwd = home
    if "h5py" in code:
        pytest.importorskip("h5py")
    r = k.run(code + "\ntry:\n    f.close()\nexcept NameError:\n    pass")
    assert r.status == "error" and "[exfiltration]" in r.everything(), r.everything()
    k.ok("for _n in ('w', 'cw', 'f'):\n    _o = globals().pop(_n, None)\n"
         "    _o is not None and _o.close()")
    target = cwd / name
    files = [target] if target.is_file() else list(target.rglob("*")) if target.exists() else []
    values = SSNS[:60] + EMAILS[:60]   # the warehouse's (``make_warehouse``)
    for f in files:
        if f.is_file():
            data = f.read_bytes()
            assert not [v for v in values if v.encode() in data or
                        v.replace("-", "").encode() in data], f
    assert not [v for v in values if v in r.everything()]


TWINS = [
    pytest.param("pq.write_table(T, 'tw.parquet')\nprint(pq.read_table('tw.parquet')"
                 ".column('x').to_pylist())", "[1, 2, 3]", id="parquet"),
    pytest.param("w = pq.ParquetWriter('tw2.parquet', T.schema)\nw.write_table(T)\nw.close()\n"
                 "print(pq.ParquetFile('tw2.parquet').read().num_rows, "
                 "pq.read_metadata('tw2.parquet').num_rows)", "3 3", id="ParquetWriter"),
    pytest.param("cw = pc.CSVWriter('tw.csv', T.schema)\ncw.write_table(T)\ncw.close()\n"
                 "print(pc.read_csv('tw.csv').column('x').to_pylist())", "[1, 2, 3]",
                 id="CSVWriter"),
    pytest.param("os.makedirs('twd', exist_ok=True)\nds.write_dataset(T, 'twd', format='parquet',"
                 " existing_data_behavior='overwrite_or_ignore')\n"
                 "print(ds.dataset('twd').to_table().num_rows)", "3", id="dataset"),
    pytest.param("pf.write_feather(T, 'tw.f')\nprint(pf.read_table('tw.f').num_rows)", "3",
                 id="feather"),
    pytest.param("f = pa.OSFile('tw.bin', 'wb')\nf.write(b'abc')\nf.close()\n"
                 "print(pa.memory_map('tw.bin').read(), pa.input_stream('tw.bin').read())",
                 "b'abc' b'abc'", id="OSFile-memory_map"),
    pytest.param("fs = pfs.LocalFileSystem()\ns = fs.open_output_stream('tw.s')\ns.write(b'hi')\n"
                 "s.close()\nprint(fs.open_input_file('tw.s').read())", "b'hi'", id="fs"),
    pytest.param("b = pa.BufferOutputStream()\npq.write_table(T, b)\n"
                 "print(pq.read_table(pa.BufferReader(b.getvalue())).num_rows, "
                 "pq.read_table(io.BytesIO(b.getvalue().to_pybytes())).num_rows)", "3 3",
                 id="buffers"),
    pytest.param("print(ds.dataset(T).to_table().num_rows, ds.dataset([T, T]).count_rows())",
                 "3 6", id="dataset-of-tables"),
    pytest.param("import polars as pl\npl.DataFrame({'a': [4, 5]}).write_parquet('tw.pl')\n"
                 "print(pl.read_parquet('tw.pl')['a'].to_list(), "
                 "pl.scan_parquet('tw.pl').collect()['a'].sum())", "[4, 5] 9", id="polars"),
    pytest.param("import h5py\nwith h5py.File('tw.h5', 'w') as f:\n    f['a'] = np.arange(3)\n"
                 "    f.create_dataset('t', data=np.array([b'hello', b'world']))\n"
                 "    f.create_dataset('r', data=np.random.default_rng(1).random(100000))\n"
                 "    f.attrs['note'] = 'plain'\nwith h5py.File('tw.h5') as g:\n"
                 "    print(g['a'][:].tolist(), g['t'][:].tolist(), g['r'].shape, "
                 "g.attrs['note'])", "[0, 1, 2] [b'hello', b'world'] (100000,) plain",
                 id="h5py"),
]


@pytest.mark.parametrize(("code", "out"), TWINS)
def test_ordinary_files_still_work(home: tuple[Kernel, Path], code: str, out: str) -> None:
    k, _ = home
    if "h5py" in code:
        pytest.importorskip("h5py")
    if "polars" in code:
        pytest.importorskip("polars")
    assert k.ok(code).stream.strip() == out
