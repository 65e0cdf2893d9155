"""``known_binary.found`` on honest numeric files, without a kernel: random int64 in [1e8, 9e8),
random float32 pairs, 1e6 random floats, sensor arrays, counters, dates, image-like bytes and the
65,000 plain values of the mask tests as numbers; against 300 random SSNs and against a run of
5,000 (the test warehouse's ``100000000 + n``): nothing is found. The red team's writes of
the same SSNs in parts and transformed are found (each rebuilds most of the 300)."""
from __future__ import annotations

import io
import random

import numpy as np
import pytest

from jupyter_guard.hooks import known_binary
from tests.enforce.test_exit_false_positives import corpus

_rnd = random.Random(21)
N = [int(f"{_rnd.randint(100, 899)}{_rnd.randint(10, 99)}{_rnd.randint(1000, 9999)}")
     for _ in range(300)]
KNOWN = {"random": np.unique(np.array(N, dtype=np.int64)),
         "run": np.arange(100_000_000, 100_005_000, dtype=np.int64)}


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def _plain() -> bytes:
    """The mask tests' plain values that are numbers, as float64."""
    vals = []
    for v in corpus():
        try:
            vals.append(float(v))
        except ValueError:
            continue
    return np.array(vals).tobytes()


r = np.random.default_rng(5)
HONEST = {
    "random-int64": r.integers(10**8, 9 * 10**8, 300).astype(np.int64).tobytes(),
    "random-f32-pairs": r.random((300, 2)).astype(np.float32).tobytes(),
    "random-floats-npy": _npy(r.random(1_000_000)),
    "random-floats-raw": r.random(300_000).tobytes(),
    "sensor-int16": (1000 + 20 * r.standard_normal(200_000)).astype(np.int16).tobytes(),
    "sensor-f32": (20 + r.standard_normal((50_000, 3))).astype(np.float32).tobytes(),
    "sensor-int32-npy": _npy(np.rint(1000 + 50 * r.standard_normal((50_000, 4))).astype(np.int32)),
    "counter-int64": np.arange(300_000, dtype=np.int64).tobytes(),
    "counter-int32": np.arange(300_000, dtype=np.int32).tobytes(),
    "counter-uint16": (np.arange(300_000) % 65536).astype(np.uint16).tobytes(),
    "image-uint8": r.integers(0, 256, (256, 256, 3)).astype(np.uint8).tobytes(),
    "image-uint16": r.integers(0, 4096, (256, 256)).astype(np.uint16).tobytes(),
    "dates-int32": np.arange(20200101, 20250101, dtype=np.int32).tobytes(),
    "ids-amounts-npy": _npy(np.stack([np.arange(50_000), r.integers(100, 99_999, 50_000)], 1)),
    "small-triples": r.integers(0, 1000, (50_000, 3)).astype(np.int16).tobytes(),
    "prices": np.round(r.random(100_000) * 1000, 2).tobytes(),
    "plain-values": _plain(),
}
ATTACKS = {
    "f32-pairs": np.array([[n // 100000, n % 100000] for n in N], dtype=np.float32).tobytes(),
    "i16-triples": np.array([[n // 10**6, n // 10**4 % 100, n % 10**4] for n in N],
                            dtype=np.int16).tobytes(),
    "be-words": b"".join(n.to_bytes(4, "big") for n in N),
    "structured": _npy(np.array([(n // 10**6, n // 10**4 % 100, n % 10**4) for n in N],
                                dtype=[("a", "<i2"), ("b", "<i2"), ("c", "<i2")])),
    "u16-halves": np.array([[n >> 16, n & 0xFFFF] for n in N], dtype=np.uint16).tobytes(),
    "be-f64-pairs": np.array([[n // 1000, n % 1000] for n in N], dtype=">f8").tobytes(),
    "xor": np.array([n ^ 0x5A5A5A5A for n in N], dtype=np.int64).tobytes(),
    "plus-one": np.array([n + 1 for n in N], dtype=np.int64).tobytes(),
    "reflected": np.array([10**10 - n for n in N], dtype=np.int64).tobytes(),
    "times-three": np.array([n * 3.0 for n in N]).tobytes(),
    "over-seven": np.array([n / 7 for n in N]).tobytes(),
}


@pytest.mark.parametrize("known", list(KNOWN))
@pytest.mark.parametrize("name", list(HONEST))
def test_honest_numbers_rebuild_nothing(name: str, known: str) -> None:
    assert known_binary.found(HONEST[name], KNOWN[known]) == []


@pytest.mark.parametrize("name", list(ATTACKS))
def test_parts_and_transforms_are_found(name: str) -> None:
    assert len(known_binary.found(ATTACKS[name], KNOWN["random"])) >= 200


def test_parts_in_columns_side_by_side() -> None:
    """A frame of two columns, each SSN's high and low part in one row (``to_parquet``)."""
    import pandas as pd

    from jupyter_guard.hooks import exits

    frame = pd.DataFrame({"hi": [n // 100000 for n in N], "lo": [n % 100000 for n in N]})
    honest = pd.DataFrame({"id": np.arange(300), "qty": np.random.default_rng(9).integers(
        1, 99999, 300)})
    saved = set(exits.known)
    try:
        exits.known.clear()
        exits.known.update(f"{n:09d}" for n in N)
        assert known_binary.in_table(frame) == known_binary.REASON
        assert known_binary.in_table(honest) == ""
    finally:
        exits.known.clear()
        exits.known.update(saved)


def test_a_counter_against_a_run_of_known_values() -> None:
    """A pickle of ``[i, i * 1.25]`` rows against known values ``100000000 + n`` (n < 300): any
    offset lines a counter up with the run, which tells nothing (refused before)."""
    import pickle

    run = np.arange(100_000_000, 100_000_300, dtype=np.int64)
    data = pickle.dumps([[i, round(i * 1.25, 2)] for i in range(2000)])
    assert known_binary.found(data, run) == []
