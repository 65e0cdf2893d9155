"""The RE2 finder of base64 runs (``scan.base64_runs``, used by ``hooks.encoded.runs`` on texts
longer than ``TINY``) finds exactly the runs of the regex and numpy forms."""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_guard.hooks import encoded
from jupyter_guard.mask import scan

pytestmark = pytest.mark.skipif(scan.engine() != "re2", reason="google-re2 is not installed")

PIECES = ["dXNlcjFAZXhhbXBsZS5jb20=", "a", "Z9", "+/", "_-", " ", "\n", "é", "\ud800", "==",
          "0123456789abcdef", "the order", "QUJD", "💡", ",", "%41", "x" * 13]


def regex_runs(text: str, shortest: int) -> list[str]:
    pattern = re.compile("[A-Za-z0-9+/_-]{" + str(shortest) + ",}")
    return list(dict.fromkeys(m.group() for m in pattern.finditer(text)))


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(PIECES), max_size=400), st.sampled_from([8, 12, 16]))
def test_re2_runs_equal_the_regex_runs(pieces: list[str], shortest: int) -> None:
    text = "".join(pieces)
    assert scan.base64_runs(text, shortest) == regex_runs(text, shortest)


@pytest.mark.parametrize("shortest", [12, 16])
def test_long_text_runs_equal_the_numpy_form(monkeypatch: pytest.MonkeyPatch,
                                             shortest: int) -> None:
    text = ("plain words " * 500 + "dXNlcjFAZXhhbXBsZS5jb20sdXNlcjJAZXhhbXBsZS5jb20 é "
            + "x" * 15 + "\ud800" + "y" * 20 + " ") * 20
    fast = encoded.runs(text, shortest)
    monkeypatch.setattr(encoded, "TINY", len(text) + 1)   # the numpy form (text > SMALL)
    assert len(text) > encoded.SMALL
    assert fast == encoded.runs(text, shortest) == regex_runs(text, shortest)
    assert "dXNlcjFAZXhhbXBsZS5jb20sdXNlcjJAZXhhbXBsZS5jb20" in fast


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(PIECES), max_size=400))
def test_first_run_tells_whether_there_is_any(pieces: list[str]) -> None:
    text = "".join(pieces)
    first = scan.base64_runs(text, 12, first=True)
    runs = regex_runs(text, 12)
    assert bool(first) == bool(runs)
    assert not first or runs[0].startswith(first[0])


@pytest.mark.parametrize("offset", range(-13, 2))
def test_first_run_across_a_block_edge(offset: int) -> None:
    """A long text is read in blocks of ``SPAN`` overlapping by a run's length: a run cut by
    a block edge is found, eleven characters are not a run."""
    pad = " " * (scan.SPAN + offset)
    assert scan.base64_runs(pad + "x" * 12 + pad, 12, first=True) == ["x" * 12]
    assert scan.base64_runs(pad + "é" + "x" * 11 + "é" + pad, 12, first=True) == []
