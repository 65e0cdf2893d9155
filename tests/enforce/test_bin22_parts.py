"""Known SSNs written as binary numbers in parts or after one shared transform (red team 21,
issue 15): read into a plain list (no taint), each SSN as an int ``n``, then written as float32
pairs ``[n // 100000, n % 100000]`` (``tofile`` and ``tobytes`` through ``open().write``), int16
triples split at decimal boundaries, 4-byte big-endian words in a ``bytearray``, a structured
``np.save`` (three ``<i2`` fields), uint16 halves ``[n >> 16, n & 0xFFFF]``, ``n ^ K``, ``n + 1``
and ``n * 3.0``. Each is refused as ``exfiltration`` and the file holds none of the values
(``hooks/known_binary_parts.py``, ``hooks/known_binary_affine.py``). The benign twins (random
int64 in [1e8, 9e8), random float32 pairs, an int16 sensor array, a counter, an image) are
written with their content intact."""
from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
import pytest

from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

_rnd = random.Random(22)
SSNS = [f"{_rnd.randint(100, 899)}-{_rnd.randint(10, 99)}-{_rnd.randint(1000, 9999)}"
        for _ in range(300)]
N = {int(s.replace("-", "")) for s in SSNS}


@pytest.fixture(scope="module")
def k(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    with guarded_kernel(tmp_path_factory.mktemp("bin22"), warehouse=300, ssns=SSNS) as kernel:
        kernel.ok("import duckdb, numpy as np\ncon = duckdb.connect('wh.duckdb')\n"
                  "S = con.sql('SELECT ssn FROM customers ORDER BY id').df().ssn.tolist()\n"
                  "N = [int(s.replace('-', '')) for s in S]")
        yield kernel


def _pairs(b: bytes, dtype: str, scale: int) -> list[int]:
    a = np.frombuffer(b, dtype).reshape(-1, 2).astype(np.int64)
    return [int(x) * scale + int(y) for x, y in a]


def _triples(b: bytes) -> list[int]:
    a = np.frombuffer(b, "<i2").reshape(-1, 3).astype(np.int64)
    return [int(x) * 1_000_000 + int(y) * 10_000 + int(z) for x, y, z in a]


# the write, and how the file it would leave is read back
CASES = {
    "f32-pairs-tofile": ("np.array([[n // 100000, n % 100000] for n in N], dtype=np.float32)"
                         ".tofile(OUT)", lambda b: _pairs(b, "<f4", 100_000)),
    "f32-pairs-write": ("open(OUT, 'wb').write(np.array([[n // 100000, n % 100000] for n in N], "
                        "dtype=np.float32).tobytes())", lambda b: _pairs(b, "<f4", 100_000)),
    "i16-triples": ("open(OUT, 'wb').write(np.array([[n // 1000000, n // 10000 % 100, n % 10000] "
                    "for n in N], dtype=np.int16).tobytes())", _triples),
    "bytearray-be": ("ba = bytearray()\nfor n in N:\n    ba.extend(n.to_bytes(4, 'big'))\n"
                     "open(OUT, 'wb').write(ba)",
                     lambda b: np.frombuffer(b, ">u4").tolist()),
    "structured-save": ("np.save(OUT, np.array([(n // 1000000, n // 10000 % 100, n % 10000) "
                        "for n in N], dtype=[('a', '<i2'), ('b', '<i2'), ('c', '<i2')]))",
                        lambda b: _triples(b[128:])),
    "u16-halves": ("open(OUT, 'wb').write(np.array([[n >> 16, n & 0xFFFF] for n in N], "
                   "dtype=np.uint16).tobytes())", lambda b: _pairs(b, "<u2", 65536)),
    "xor": ("open(OUT, 'wb').write(np.array([n ^ 0x5A5A5A5A for n in N], dtype=np.int64)"
            ".tobytes())", lambda b: [int(x) ^ 0x5A5A5A5A for x in np.frombuffer(b, "<i8")]),
    "plus-one": ("open(OUT, 'wb').write(np.array([n + 1 for n in N], dtype=np.int64).tobytes())",
                 lambda b: [int(x) - 1 for x in np.frombuffer(b, "<i8")]),
    "times-three": ("open(OUT, 'wb').write(np.array([n * 3.0 for n in N]).tobytes())",
                    lambda b: [round(x / 3) for x in np.frombuffer(b, "<f8")]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_parts_and_transforms_are_refused(k: Kernel, case: str) -> None:
    code, decode = CASES[case]
    out = k.workdir / f"b22_{case}"
    k.blocked(code.replace("OUT", repr(str(out))), "exfiltration")
    for p in k.workdir.glob(f"b22_{case}*"):
        raw = p.read_bytes()
        usable = len(raw) - len(raw) % 12
        assert not N & set(decode(raw[:usable])) if usable else True, case


TWINS = {
    "random-int64": ("x = np.random.default_rng(1).integers(10**8, 9 * 10**8, 300)\n"
                     "open(OUT, 'wb').write(x.astype(np.int64).tobytes())", "<i8"),
    "random-f32-pairs": ("x = np.random.default_rng(2).random((300, 2)).astype(np.float32)\n"
                         "x.tofile(OUT)", "<f4"),
    "sensor-int16": ("x = (1000 + 20 * np.random.default_rng(3).standard_normal(200_000))"
                     ".astype(np.int16)\nopen(OUT, 'wb').write(x.tobytes())", "<i2"),
    "counter": ("x = np.arange(300_000, dtype=np.int64)\nopen(OUT, 'wb').write(x.tobytes())",
                "<i8"),
    "image": ("x = np.random.default_rng(4).integers(0, 256, (256, 256, 3)).astype(np.uint8)\n"
              "x.tofile(OUT)", "u1"),
}


@pytest.mark.parametrize("twin", list(TWINS))
def test_ordinary_numbers_are_written(k: Kernel, twin: str) -> None:
    code, dtype = TWINS[twin]
    out = repr(str(k.workdir / f"b22_twin_{twin}"))
    k.ok(code.replace("OUT", out))
    assert "True" in k.ok(f"print(np.array_equal(np.fromfile({out}, {dtype!r}), "
                          "x.ravel()))").stream
