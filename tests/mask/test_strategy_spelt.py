"""``partial`` of a known value spelt otherwise than it was read (span kind ``SPELT``): masked
whole on every path that masks text (short text, long text dense with values, text with
entities to decode), while the value as read keeps its last four characters. A finder of known
values is registered as the kernel registers its own (``text.KNOWN``)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from jupyter_guard.mask import text as mask_text_module
from jupyter_guard.mask.strategy import BLOCK, SPELT, canonical, mask_value, masker
from jupyter_guard.mask.text import MaskSettings, mask_text

SPACED = "1 0 0 0 0 0 0 0 5"
HEXED = "0x5f5e105"


def _finder(text: str) -> list[tuple[int, int, str]]:
    """The two spellings of ``100000005``, wherever they are (``SPELT``), and the value as
    read (``known``)."""
    out = []
    for word, kind in ((SPACED, SPELT), (HEXED, SPELT), ("100000005", "known")):
        at = text.find(word)
        while at >= 0:
            out.append((at, at + len(word), kind))
            at = text.find(word, at + len(word))
    return out


@pytest.fixture()
def finder() -> Iterator[None]:
    mask_text_module.KNOWN.append(_finder)
    yield
    mask_text_module.KNOWN.remove(_finder)


@pytest.mark.parametrize(("strategy", "expected"), [
    pytest.param("partial", BLOCK, id="partial"),
    pytest.param("redact", BLOCK, id="redact"),
    pytest.param("null", "", id="null"),
])
def test_a_spelt_value_keeps_nothing(strategy: str, expected: str) -> None:
    assert mask_value(SPACED, strategy, kind=SPELT) == expected
    assert masker(strategy, "", SPELT)(HEXED) == expected


def test_hash_of_a_spelt_value_is_a_digest() -> None:
    assert mask_value(SPACED, "hash", "s", SPELT) == mask_value(SPACED, "hash", "s")
    assert mask_value(SPACED, "hash", "s", SPELT).startswith("h:")


def test_the_value_as_read_keeps_its_tail() -> None:
    assert mask_value("100000005", "partial", kind="known") == BLOCK + "0005"
    assert masker("partial")("jane@example.com") == "█████@example.com"


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param("123-45-6789", True, id="ssn"),
    pytest.param("4111 1111 1111 1111", True, id="card"),
    pytest.param("jane@example.com", True, id="email"),
    pytest.param("josé@bücher.de", True, id="idn-email"),
    pytest.param("short", True, id="too-short-to-keep"),
    pytest.param("moc.elpmaxe@enaj", False, id="reversed-email"),
    pytest.param("j a n e @ x . i o", False, id="spaced-email"),
    pytest.param("jane@x.io>", False, id="not-a-host"),
    pytest.param("0x75bcd15", False, id="hex"),
    pytest.param("1,2,3,4,5,6,7,8,9", False, id="comma-joined"),
    pytest.param("9876-54-321", False, id="reversed-ssn"),
])
def test_canonical(value: str, expected: bool) -> None:
    assert canonical(value) is expected


def test_short_text(finder: None) -> None:
    s = MaskSettings()
    assert mask_text(f"a {SPACED} b {HEXED} c 100000005", s) == f"a {BLOCK} b {BLOCK} c ████0005"


def test_long_text_dense_with_values(finder: None) -> None:
    """The numpy path (``mixed``) leaves a text holding a spelt value to the span path."""
    s = MaskSettings()
    rows = "".join(f"user{i}@example.com,{SPACED if i % 500 == 7 else 'x'}\n"
                   for i in range(4000))
    out = mask_text(rows, s)
    assert len(rows) >= mask_text_module.ALONE_MIN
    assert SPACED not in out and " 0 5" not in out
    assert out.count(f"█████@example.com,{BLOCK}\n") == 8
    assert "user" not in out


def test_text_with_entities(finder: None) -> None:
    s = MaskSettings()
    assert mask_text(f"&lt;b&gt;{SPACED}&lt;/b&gt;", s) == f"&lt;b&gt;{BLOCK}&lt;/b&gt;"
