"""Text dense with IPv6 addresses is validated in bulk (``bulk.ipv6s_ok``: one pattern and a
few counts in C, each distinct address once), not by ``ipaddress`` per match: its answer is
``_ipv6_ok``'s for every string of hex digits and colons (random groups, every short string of
'0', ':' and 'a', the edges of '::'), and ``mask_text`` masks such text as the reference does."""
from __future__ import annotations

import itertools
import random

import pytest

from jupyter_guard.mask import bulk
from jupyter_guard.mask.detect import _ipv6_ok
from jupyter_guard.mask.text import MaskSettings, mask_text

from . import reference

ALL = MaskSettings(detectors=("email", "ssn", "card", "phone", "iban", "secret", "ipv4", "ipv6"))
EDGES = ["1:2:3:4:5:6:7::", "::1:2:3:4:5:6:7", "1::2:3:4:5:6:7:8", "::", ":::", "1:::2",
         ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "::abcd",
         "0000:0:0:0:0:0:0:00000", "2001:db8::8a2e:370:7334", "a::b::c", "::1", "fe80::", "1:2"]


def _random_values(rng: random.Random, n: int) -> list[str]:
    out = []
    for _ in range(n):
        parts = ["".join(rng.choices("0aF9", k=rng.choice([0, 0, 1, 2, 3, 4, 4, 5])))
                 for _ in range(rng.randint(0, 12))]
        out.append(":".join(parts))
    return out


def test_bulk_validation_is_ipv6_ok() -> None:
    values = _random_values(random.Random(6), 50_000) + EDGES
    values += ["".join(p) for k in range(1, 8) for p in itertools.product("0:a", repeat=k)]
    expected = list(map(_ipv6_ok, values))
    assert bulk.ipv6s_ok(values) == expected
    assert 1000 < sum(expected) < len(values) - 1000  # (both answers are tested)
    repeated = values[:3000] * 4  # (each distinct value read once)
    assert bulk.ipv6s_ok(repeated) == expected[:3000] * 4


def test_bulk_validation_declines_other_characters() -> None:
    values = ["2001:db8::1", "é::1", "1:2:3:4:5:6:7:g", "::1%eth0"] * 20
    assert bulk.ipv6s_ok(values) == list(map(_ipv6_ok, values))
    assert bulk.BULK[_ipv6_ok] is bulk.ipv6s_ok


def _dense(rng: random.Random, size: int) -> str:
    out, n = [], 0
    values = _random_values(rng, 2000) + EDGES
    while n < size:
        piece = rng.choice(values) + rng.choice([" ", " ", "\n", ",", '" "', " x ", ""])
        out.append(piece)
        n += len(piece)
    return "".join(out)


@pytest.mark.parametrize("strategy", ["partial", "redact", "hash"])
@pytest.mark.parametrize("seed", range(3))
def test_dense_addresses_mask_as_the_reference(strategy: str, seed: int) -> None:
    text = _dense(random.Random(seed), 70_000)
    settings = MaskSettings(detectors=ALL.detectors, strategy=strategy)
    masked = mask_text(text, settings)
    assert masked == reference.mask_text(text, settings)
    assert masked != text


@pytest.mark.parametrize("unit", ["2001:db8::8a2e:370:7334 ", '"fe80::1:2" ', "1:2:3:4:5:6:7:8,",
                                  "::1\n", "a::b::c "])
def test_repeated_addresses_mask_as_the_reference(unit: str) -> None:
    text = unit * (70_000 // len(unit))
    assert mask_text(text, ALL) == reference.mask_text(text, ALL)
