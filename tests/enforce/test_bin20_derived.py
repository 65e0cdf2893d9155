"""Known SSNs written by binary writers as derived numbers (red team 19, issue 15): read into a
plain Python list (no taint), then ``int(s) / 1e9`` or ``int(s[1:])`` written by ``pickle``,
``np.save``/``savez``, ``ndarray.tofile``, pyarrow's parquet and feather writers and a frame's
``to_pickle``/``to_parquet``/``to_feather``; ``np.savetxt`` in numpy's default ``%.18e``; digits
as an ``int8`` array; one filler every two digits; a cut value with fillers. Each is refused as
``exfiltration`` and leaves no file holding the form (``hooks/known_binary.py``,
``known_cut._more``). The benign twins (1e6 random floats and ints saved, a parquet of order
amounts and ids, a pickle of a dict of dates) are written with their content intact.

The warehouse's SSNs are realistic (random, ``ddd-dd-dddd``): on the test warehouse's
``100000000 + n`` a value less its first digit is a small number, spelt by nothing."""
from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

_rnd = random.Random(20)
SSNS = [f"{_rnd.randint(100, 899)}-{_rnd.randint(10, 99)}-{_rnd.randint(1000, 9999)}"
        for _ in range(60)]
DIGITS = [s.replace("-", "") for s in SSNS]


@pytest.fixture(scope="module")
def k(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    with guarded_kernel(tmp_path_factory.mktemp("bin20"), warehouse=60, ssns=SSNS) as kernel:
        kernel.ok("import duckdb, pickle, numpy as np, pandas as pd, pyarrow as pa\n"
                  "import pyarrow.parquet as pq, pyarrow.feather as pf\n"
                  "con = duckdb.connect('wh.duckdb')\n"
                  "S = [str(s) for s in con.sql('SELECT ssn FROM customers ORDER BY id')"
                  ".df().ssn.tolist()][5:]")
        yield kernel


VALUES = {"fraction": "[int(s.replace('-', '')) / 1e9 for s in S]",
          "cut": "[int(s.replace('-', '')[1:]) for s in S]"}
WRITERS = {
    "pickle": "pickle.dump(vals, open(OUT, 'wb'))",
    "np-save": "np.save(OUT, np.array(vals))",
    "tofile": "np.array(vals).tofile(OUT)",
    "savez": "np.savez(OUT, a=np.array(vals))",
    "parquet": "pq.write_table(pa.table({'x': vals}), OUT)",
    "feather": "pf.write_feather(pa.table({'x': vals}), OUT)",
    "to-pickle": "pd.DataFrame({'x': vals}).to_pickle(OUT)",
    "to-parquet": "pd.DataFrame({'x': vals}).to_parquet(OUT)",
    "to-feather": "pd.DataFrame({'x': vals}).to_feather(OUT)",
}
CASES = {f"{v}-{w}": f"vals = {vc}\n{wc}" for v, vc in VALUES.items() for w, wc in WRITERS.items()}
CASES |= {
    "savetxt-e": "np.savetxt(OUT, np.array([int(s.replace('-', '')) / 1e9 for s in S]))",
    "int8-digits": "np.save(OUT, np.array([[int(c) for c in s.replace('-', '')] for s in S], "
                   "dtype=np.int8))",
    "uint8-tofile": "np.array([[int(c) for c in s.replace('-', '')] for s in S], "
                    "dtype=np.uint8).tofile(OUT)",
    "filler-pairs": "D = [s.replace('-', '') for s in S]\nopen(OUT, 'w').write('\\n'.join("
                    "'x'.join(s[i:i + 2] for i in range(0, 9, 2)) for s in D))",
    "cut-filler": "D = [s.replace('-', '') for s in S]\n"
                  "open(OUT, 'w').write('\\n'.join('x'.join(s[1:]) for s in D))",
}


def _recoverable(path_bytes: bytes) -> list[str]:
    """Known values whose derived forms the file holds (as text, or as the bytes of the arrays
    the attacks make)."""
    import numpy as np

    text = path_bytes.decode("latin-1")
    forms = {s: [repr(int(s) / 1e9), s[1:], "x".join(s[1:]),
                 "x".join(s[i:i + 2] for i in range(0, 9, 2)), f"{int(s) / 1e9:.18e}"]
             for s in DIGITS[5:]}
    left = [s for s, fs in forms.items() if any(f in text for f in fs)]
    raw = [np.array([int(s) / 1e9 for s in DIGITS[5:]]).tobytes(),
           np.array([int(s[1:]) for s in DIGITS[5:]]).tobytes(),
           np.array([[int(c) for c in s] for s in DIGITS[5:]], dtype=np.int8).tobytes()]
    if any(r[:64] in path_bytes for r in raw):
        left.append("binary run")
    return left


@pytest.mark.parametrize("case", list(CASES))
def test_derived_numbers_are_refused(k: Kernel, case: str) -> None:
    out = k.workdir / f"b20_{case}"
    k.blocked(CASES[case].replace("OUT", repr(str(out))), "exfiltration")
    written = b"".join(p.read_bytes() for p in k.workdir.glob(f"b20_{case}*") if p.is_file())
    assert not _recoverable(written), case


TWINS = {
    "np-save-floats": ("x = np.random.default_rng(1).random(1_000_000)\nnp.save(OUT, x)",
                       "np.array_equal(np.load(OUT + '.npy'), x)"),
    "np-save-ints": ("x = np.random.default_rng(2).integers(0, 10**12, 1_000_000)\n"
                     "np.save(OUT, x)", "np.array_equal(np.load(OUT + '.npy'), x)"),
    "parquet-orders": ("rng = np.random.default_rng(3)\nt = pa.table({'order_id': "
                       "np.arange(1_000_000), 'amount': np.round(rng.random(1_000_000) * 500, "
                       "2)})\npq.write_table(t, OUT)", "pq.read_table(OUT).equals(t)"),
    "pickle-dates": ("import datetime as dt\nx = {i: dt.date(2020, 1, 1) + dt.timedelta(i) "
                     "for i in range(5000)}\npickle.dump(x, open(OUT, 'wb'))",
                     "pickle.load(open(OUT, 'rb')) == x"),
}


@pytest.mark.parametrize("twin", list(TWINS.values()),
                         ids=list(TWINS))
def test_ordinary_binary_files_are_written(k: Kernel, twin: tuple[str, str]) -> None:
    code, check = twin
    out = repr(str(k.workdir / f"b20_twin_{len(code)}"))
    k.ok(code.replace("OUT", out))
    assert "True" in k.ok(f"print({check.replace('OUT', out)})").stream
