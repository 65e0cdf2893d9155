"""The exits' byte scan on 65,000+ plain values (ids, amounts, timestamps, product codes, UUIDs,
addresses): no value is taken for sensitive data, alone or in one big file-sized text."""
from __future__ import annotations

import random
import uuid

from jupyter_guard.hooks import exits
from jupyter_guard.mask.text import MaskSettings

STREETS = ["Rue de la Paix", "Main Street", "Hauptstraße", "Calle Mayor", "Via Roma"]
CITIES = ["Paris", "Lyon", "Berlin", "Madrid", "Roma", "Springfield"]


def corpus(n: int = 13_500) -> list[str]:
    rng = random.Random(15)
    out: list[str] = []
    for i in range(n):
        out += [str(i), f"{rng.uniform(0, 99_999):.2f}",
                f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
                f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}",
                f"PRD-{rng.randint(0, 999_999):06d}", str(uuid.UUID(int=rng.getrandbits(128))),
                f"{rng.randint(1, 200)} {rng.choice(STREETS)}, {rng.randint(10_000, 99_999)} "
                f"{rng.choice(CITIES)}"]
    return out


def test_no_plain_value_is_sensitive():
    values = corpus()
    assert len(values) >= 65_000
    settings = MaskSettings()
    hits = [v for v in values if exits.scan(v, settings)]
    assert hits == []


def test_a_plain_csv_text_passes_whole():
    values = corpus(2_000)
    text = "\n".join(",".join(values[i:i + 6]) for i in range(0, len(values), 6))
    assert exits.scan(text, MaskSettings()) == ""
    assert exits.scan(text.encode(), MaskSettings()) == ""
