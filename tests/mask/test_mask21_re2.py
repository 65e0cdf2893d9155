"""Issue 21: the secret split's pattern written for RE2 (``benchmarks/bench_mask21_split.py``,
which measured it slower than ``re``'s split on text dense with secrets) is what that
benchmark claims: wherever the bulk split (``splits._bounded``) matches, RE2's pattern matches
from the same place, and to the same end where the split's look-ahead holds at RE2's end and no
run is cut at ``MAX_VALUE`` (so the measurement is of the same work)."""
from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from jupyter_guard.mask.patterns import MAX_VALUE, PRECISE
from jupyter_guard.mask.splits import _bounded

re2 = pytest.importorskip("re2")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from bench_mask21_split import RE2_SECRET  # noqa: E402

PIECES = ("password", "PassWd", "pwd", "secret", "token", "api_key", "access-key", "AUTH", "=",
          ":", " ", "\v", "\t", '"', "'", ",", ";", "sk-", "proj-", "sk_live_", "ghp_",
          "github_pat_", "glpat-", "xoxb-", "AKIA", "AIza", "eyJ", ".", "-", "+", "/", "&amp;",
          "\u2011", "\u017f", "abcdEFGH1234", "Q" * 16, "x9" * 10, "-----BEGIN RSA PRIVATE KEY-----",
          "-----END RSA PRIVATE KEY-----", "hunter22", "é")


def _texts(seed: int, n: int = 300) -> list[str]:
    rng = random.Random(seed)
    return [" " + "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 40)))
            for _ in range(n)]


@pytest.mark.parametrize("seed", range(6))
def test_every_split_match_is_an_re2_match_from_the_same_place(seed: int) -> None:
    splitter, rx = _bounded(PRECISE["secret"]), re2.compile(RE2_SECRET)
    checked = 0
    for text in _texts(seed):
        pos = 0
        for m in splitter.finditer(text):
            got = rx.match(text, m.start())
            assert got is not None, (text, m.group())
            # the confirmation a caller would make at RE2's match's edge: a token's look-ahead
            after = text[got.end():got.end() + 1]
            cut = max(map(len, m.group().split())) >= MAX_VALUE
            token = got.group(2) is None
            if not cut and not (token and after and (after.isalnum() or after in "_/+=-")):
                assert got.end() == m.end(), (text, m.group(), got.group())
            pos, checked = m.end(), checked + 1
        assert pos <= len(text)
    assert checked > 100  # (the corpus holds matches of every kind)


def test_vertical_tab_and_long_s() -> None:
    """``\\s`` in RE2 has no vertical tab (``re``'s has, under ``re.ASCII``), and RE2's ``(?i)``
    folds the long s into 's': the pattern spells both out as ``re`` reads them."""
    rx = re2.compile(RE2_SECRET)
    assert rx.match(" password\v=\vhunter22") is not None
    assert _bounded(PRECISE["secret"]).match(" pa\u017fsword=hunter22") is None
    assert rx.match(" pa\u017fsword=hunter22") is None
