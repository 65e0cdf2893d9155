"""The runs of base64 characters a text holds are the same whichever way they are found: one
regex for texts up to ``SMALL`` (no numpy for a small write), numpy passes above."""
from __future__ import annotations

import random
import string

import pytest

from jupyter_guard.hooks import encoded

ALPHABET = string.ascii_letters + string.digits + "+/_-= ,.\n\té€😀"


@pytest.mark.parametrize("shortest", [8, 12, 16])
def test_the_regex_and_the_numpy_passes_find_the_same_runs(shortest: int,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(shortest)
    texts = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 400)))
             for _ in range(1500)]
    texts += ["x" * shortest, "x" * (shortest - 1), "é" + "A" * shortest + "é"]
    small = [encoded.runs(t, shortest) for t in texts]
    monkeypatch.setattr(encoded, "SMALL", -1)   # every text through the numpy passes
    assert [encoded.runs(t, shortest) for t in texts] == small
    assert any(small) and not all(small)
