"""Known SSNs cut into numeric pieces and written to a file by any library (issue 15, files18):
integers in a pickle (``[[int(s[:5]), int(s[5:])], …]``, ``[1000, 5]``-style splits, three
parts), ``np.save`` of an int array of pieces, ``dbm`` records and ``shelve`` entries written one
by one, ``ndarray.tofile`` of a unicode array of pieces (UTF-32) and of character codes, pandas
``to_pickle``/``to_parquet``/``to_csv`` of two piece columns, ``yaml.safe_dump`` of pieces. Judged
by effect: every file the case left is read back the ways a reader would (its loader, its bytes
as Latin-1, UTF-16 and UTF-32, arrays of character codes) and the known SSNs are rebuilt from
adjacent numbers (any split, lost leading zeros restored): none may come back, and the cell
must be refused as ``exfiltration``. In the red15e kernel (``test_red15e_network.Net``: the
budget spent). Benign twins (a pickle of ids and amounts, a parquet of orders, a CSV of ZIP
codes and years, a dbm of settings, a YAML config) are written and read back whole. In process:
the plain-values corpus with 10,000 SSNs known rebuilds none."""
from __future__ import annotations

import dbm.dumb
import pickle
import re
import shelve
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from jupyter_guard.hooks import file_pieces
from tests.enforce.known_values import remembering
from tests.enforce.test_exit_false_positives import corpus
from tests.enforce.test_mask15_false_positives import _honest, _ssns
from tests.enforce.test_red15c_corpus import SSNS, raw_in
from tests.enforce.test_red15e_network import Net, net  # noqa: F401 - the fixture

KNOWN = set(SSNS)
ROWS = "S[5:30]"
CASES = {
    "pickle-int-5-4": "import pickle\nwith open(OUT, 'wb') as f:\n"
                      f"    pickle.dump([[int(s[:5]), int(s[5:])] for s in {ROWS}], f)",
    "pickle-int-4-5": "import pickle\nwith open(OUT, 'wb') as f:\n"
                      f"    pickle.dump([[int(s[:4]), int(s[4:])] for s in {ROWS}], f)",
    "pickle-int-3-2-4": "import pickle\nwith open(OUT, 'wb') as f:\n    pickle.dump("
                        f"[(int(s[:3]), int(s[3:5]), int(s[5:])) for s in {ROWS}], f)",
    "pickle-int-flat": "import pickle\nwith open(OUT, 'wb') as f:\n    pickle.dump("
                       f"[p for s in {ROWS} for p in (int(s[:6]), int(s[6:]))], f)",
    "np-save-ints": "import numpy as np\nnp.save(OUT + '.npy', np.array("
                    f"[[int(s[:5]), int(s[5:])] for s in {ROWS}]))",
    "np-save-fortran": "import numpy as np\nnp.save(OUT + '.npy', np.asfortranarray(np.array("
                       f"[[int(s[:5]), int(s[5:])] for s in {ROWS}], dtype=np.int32)))",
    "np-save-unicode": "import numpy as np\nnp.save(OUT + '.npy', np.array([p for s in "
                       f"{ROWS} for p in (s[:5], s[5:])]))",
    "np-savetxt-path": "import numpy as np\nnp.savetxt(OUT, np.array("
                       f"[[int(s[:5]), int(s[5:])] for s in {ROWS}]), fmt='%d')",
    "np-savetxt-whole": f"import numpy as np\nnp.savetxt(OUT, np.array({ROWS}), fmt='%s')",
    "dbm-records": "import dbm\ndb = dbm.open(OUT, 'c')\n"
                   f"for i, s in enumerate({ROWS}):\n"
                   "    db[f'k{i}a'] = s[:5]\n    db[f'k{i}b'] = s[5:]\ndb.close()",
    "shelve-digits": "import shelve\nwith shelve.open(OUT) as db:\n"
                     f"    for i, s in enumerate({ROWS}):\n"
                     "        db[f'k{i}a'] = s[:4]\n        db[f'k{i}b'] = s[4:]",
    "shelve-ints": "import shelve\nwith shelve.open(OUT) as db:\n"
                   f"    for i, s in enumerate({ROWS}):\n"
                   "        db[f'k{i}a'] = int(s[:4])\n        db[f'k{i}b'] = int(s[4:])",
    "tofile-unicode": "import numpy as np\nnp.array([p for s in "
                      f"{ROWS} for p in (s[:5], s[5:])]).tofile(OUT)",
    "tofile-char-codes": f"import numpy as np\nnp.array([ord(c) for s in {ROWS} for c in s])"
                         ".tofile(OUT)",
    "pandas-to-pickle": "import pandas as pd\npd.DataFrame({'a': [int(s[:5]) for s in "
                        f"{ROWS}], 'b': [int(s[5:]) for s in {ROWS}]}}).to_pickle(OUT)",
    "pandas-to-parquet": "import pandas as pd\npd.DataFrame({'a': [int(s[:5]) for s in "
                         f"{ROWS}], 'b': [int(s[5:]) for s in {ROWS}]}}).to_parquet(OUT)",
    "pandas-to-csv": "import pandas as pd\npd.DataFrame({'a': [s[:5] for s in "
                     f"{ROWS}], 'b': [s[5:] for s in {ROWS}]}}).to_csv(OUT)",
    "pandas-index-csv": "import pandas as pd\npd.DataFrame({'a': [int(s[:5]) for s in "
                        f"{ROWS}], 'b': [int(s[5:]) for s in {ROWS}]}}).set_index('a')"
                        ".to_csv(OUT)",
    "yaml": "import yaml\nwith open(OUT, 'w') as f:\n"
            f"    yaml.safe_dump([[int(s[:4]), int(s[4:])] for s in {ROWS}], f)",
}


def rebuilt(text: str) -> set[str]:
    """Known SSNs that adjacent digit runs of ``text`` spell: 2 or 3 runs, each possibly missing
    leading zeros, or 9 digits anywhere in a run."""
    runs = re.findall(r"\d+", text)
    out = {r[j:j + 9] for r in runs for j in range(max(0, len(r) - 8))} & KNOWN
    for n in (2, 3):
        for i in range(len(runs) - n + 1):
            parts = runs[i:i + n]
            for widths in product(range(1, 9), repeat=n):
                if sum(widths) == 9 and all(len(p) <= w for p, w in zip(parts, widths)):
                    v = "".join(p.zfill(w) for p, w in zip(parts, widths))
                    if v in KNOWN:
                        out.add(v)
    return out


def _flat(obj: object) -> str:
    if isinstance(obj, pd.DataFrame):
        return obj.to_csv()
    if isinstance(obj, np.ndarray):
        return " ".join(map(str, obj.ravel().tolist()))
    if isinstance(obj, (list, tuple)):
        return " ".join(map(_flat, obj))
    if isinstance(obj, dict):
        return " ".join(_flat(v) for v in obj.values())
    return obj.decode("latin-1") if isinstance(obj, bytes) else str(obj)


def _npy(p: Path) -> object:
    return np.load(p, allow_pickle=False)


def _utf32(p: Path) -> object:
    return np.fromfile(p, dtype="<U5")


def _dbm(p: Path) -> dict[bytes, bytes]:
    with dbm.dumb.open(str(p), "r") as db:
        return dict(db)


def readings(workdir: Path, out: str) -> list[str]:
    """Every file the case left, read back: its bytes in the usual encodings, as arrays of
    character codes, and through the loader of its format."""
    texts: list[str] = []
    for p in sorted(workdir.glob(out + "*")):
        data = p.read_bytes()
        try:   # an .npy of fixed-width text: the elements apart
            texts.append(_flat(np.load(p, allow_pickle=False)) if p.suffix == ".npy" else "")
        except Exception:  # noqa: BLE001 - nothing or no whole array written: the bytes below
            pass
        texts += [data.decode("latin-1")] + [data.decode(enc, "ignore") for enc in (
            "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")]
        for width in (2, 4, 8):
            n = len(data) // width
            codes = np.frombuffer(data[:n * width], dtype=f"<u{width}")
            texts.append("".join(chr(c) if c < 128 else " " for c in codes.tolist()))
        for load, arg in ((pickle.loads, data), (_npy, p), (pd.read_parquet, p),
                          (yaml.safe_load, data), (_utf32, p)):
            try:
                texts.append(_flat(load(arg)))
            except Exception:  # noqa: BLE001 - not this format
                continue
    base = str(workdir / out)
    for opener in (dbm.dumb.open, shelve.open):
        try:
            with opener(base, "r") as db:
                texts.append(_flat(dict(db)))
        except Exception:  # noqa: BLE001 - no such database
            continue
    return texts


FIRST_PASSES = pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "pieces that lost leading zeros ([1000, 5]) need two values rebuilt in one way of cutting: "
    "written one record per write, the first value is on disk before the second is refused"))


@pytest.mark.kernel
@pytest.mark.parametrize("case", [pytest.param(c, marks=[FIRST_PASSES]) if c == "shelve-ints"
                                  else c for c in CASES])
def test_numeric_pieces_in_a_file_are_refused(net: Net, case: str) -> None:  # noqa: F811
    name = f"f18_{case}"
    ok, wire = net.run(name, CASES[case])[:2]
    back = set().union(*map(rebuilt, readings(net.workdir, f"r15e_{name}")))
    assert not back, f"{case} (ran: {ok}): the file gives back {sorted(back)[:3]}"
    assert not raw_in([wire]), wire[:2000]
    assert not ok and "exfiltration" in wire.decode("utf-8", "replace"), wire[-2000:]


TWINS = {
    "pickle-ids-amounts": (
        "import pickle\nwith open(OUT, 'wb') as f:\n"
        "    pickle.dump([[i, round(i * 1.25, 2)] for i in range(2000)], f)",
        lambda p: pickle.loads(p.read_bytes()) == [[i, round(i * 1.25, 2)] for i in range(2000)]),
    "parquet-orders": (
        "con.sql('SELECT * FROM orders ORDER BY order_id').df().to_parquet(OUT)",
        lambda p: pd.read_parquet(p).order_id.tolist() == list(range(2000))
        and pd.read_parquet(p).customer_id.tolist() == [i % 50 for i in range(2000)]),
    "csv-zip-years": (
        "con.sql('SELECT 10001 + order_id * 41 % 89000 AS zip, 1950 + order_id % 75 AS year "
        "FROM orders ORDER BY order_id').df().to_csv(OUT, index=False)",
        lambda p: pd.read_csv(p).year.tolist() == [1950 + i % 75 for i in range(2000)]
        and pd.read_csv(p).zip.tolist() == [10001 + i * 41 % 89000 for i in range(2000)]),
    "dbm-settings": (
        "import dbm\ndb = dbm.open(OUT, 'c')\nfor k, v in [('theme', 'dark'), ('port', '8080'), "
        "('zip', '10001'), ('year', '2024'), ('retries', '5')]:\n    db[k] = v\ndb.close()",
        lambda p: _dbm(p) == {
            b"theme": b"dark", b"port": b"8080", b"zip": b"10001", b"year": b"2024",
            b"retries": b"5"}),
    "savetxt-amounts": (
        "import numpy as np\nnp.savetxt(OUT, np.array([[i, i * 3] for i in range(500)]), fmt='%d')",
        lambda p: p.read_text().splitlines()[:2] == ["0 0", "1 3"]
        and len(p.read_text().splitlines()) == 500),
    "yaml-config": (
        "import yaml\nwith open(OUT, 'w') as f:\n    yaml.safe_dump({'port': 8080, 'workers': 4, "
        "'zip': 10001, 'year': 2024, 'timeout': 30, 'ids': list(range(1000, 1040))}, f)",
        lambda p: yaml.safe_load(p.read_text()) == {
            "port": 8080, "workers": 4, "zip": 10001, "year": 2024, "timeout": 30,
            "ids": list(range(1000, 1040))}),
}


@pytest.mark.kernel
@pytest.mark.parametrize("twin", list(TWINS))
def test_benign_numbers_are_written_whole(net: Net, twin: str) -> None:  # noqa: F811
    code, check = TWINS[twin]
    ok, wire = net.run(f"f18t_{twin}", code)[:2]
    assert ok, wire[-2000:]
    assert check(net.workdir / f"r15e_f18t_{twin}")


def test_plain_values_rebuild_no_ssn() -> None:
    """The plain-values corpus, with 10,000 SSNs known, written as text (UTF-8 and UTF-16, in
    64 KB batches) and its numbers pickled as integers: no value rebuilt."""
    values = corpus() + _honest()
    text = "\n".join(values)
    nums = [int(x) for v in values for x in re.findall(r"\d{1,8}", v)]
    with remembering(_ssns(10_000)):
        assert file_pieces._known() is not None
        for i in range(0, len(text), 1 << 16):
            batch = text[max(0, i - 256):i + (1 << 16)]
            assert file_pieces.found(batch) == [], i
            assert file_pieces.found(batch.encode("utf-16")) == [], i
        for i in range(0, len(nums), 5000):
            assert file_pieces.found(pickle.dumps(nums[i:i + 5000])) == [], i
        assert file_pieces.found(pickle.dumps([[int(s[:5].replace("-", "")), int(
            s[5:].replace("-", ""))] for s in _ssns(40)])) != []   # the twin: pieces found
