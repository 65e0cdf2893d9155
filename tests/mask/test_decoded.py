"""Dense text that needs decoding (entities, URL escapes, zero-width characters, Unicode
dashes), lone surrogates and the ``hash`` strategy, masked from numpy arrays (``mask.decoded``,
``mask.merge``): the bytes equal the reference masker's (the span path before the fast paths,
token-by-token decoding) on random and hostile text, and the arrays path is the one answering."""
from __future__ import annotations

import random

import pytest

from jupyter_guard.mask import decoded
from jupyter_guard.mask import text as text_mod
from jupyter_guard.mask.detect import DETECTORS
from jupyter_guard.mask.merge import BLOCKS
from jupyter_guard.mask.mixed import _sizes, mask_mixed
from jupyter_guard.mask.normalize import normalize
from jupyter_guard.mask.strategy import hash_value
from jupyter_guard.mask.text import MaskSettings, mask_text

from . import reference
from .test_shapes import pii_rows

ROWS = pii_rows(3000)
SETTINGS = [MaskSettings(), MaskSettings(strategy="hash", salt="s"),
            MaskSettings(strategy="redact"), MaskSettings(detectors=tuple(DETECTORS)),
            MaskSettings(per_column={"email": "hash", "ssn": "null"})]
TOKENS = ["&amp;", "&#64;", "&#x40;", "%40", "%41", "%2D", "&#45;", "&lt;", "&bogus;", "%zz",
          "%00", "&", "%", "\u200b", "\u200b\u200d", "\ufeff", "\u00ad", "\u2011", "\u2013",
          "\uff11", "\uff20", "\ud800", "\udcff", "\U0001f600", "é", " ", "1", "@", ".", "-"]
"""What is put anywhere in dense rows: tokens that decode to a value's own characters (so a
value is found only decoded), tokens left as they are, zero-width characters, dashes and
full-width forms folded one for one, lone surrogates, astral characters, plain characters."""


def _sprinkled(seed: int, n: int) -> str:
    rng = random.Random(seed)
    pieces = list(ROWS)
    for _ in range(n):
        pieces.insert(rng.randrange(len(pieces)), rng.choice(TOKENS))
    return "".join(pieces)


@pytest.fixture
def answered(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each call of ``decoded.mapped`` gave values (the arrays path answered)."""
    calls: list[bool] = []
    real = decoded.mapped

    def spy(*args: object) -> object:
        got = real(*args)  # type: ignore[arg-type]
        calls.append(got is not None)
        return got

    monkeypatch.setattr(decoded, "mapped", spy)
    return calls


@pytest.mark.parametrize("seed", range(6))
def test_decoded_text_masks_as_the_reference(seed: int, answered: list[bool]) -> None:
    for n in (1, 7, 60, 600):
        text = _sprinkled(seed * 10 + n, n)
        for settings in SETTINGS:
            assert mask_text(text, settings) == reference.mask_text(text, settings), (n, settings)
    assert sum(answered) >= 12  # most were answered by the arrays, not the span path


@pytest.mark.parametrize("unit", [
    "user{n}&#64;example.com,123&#45;45-{m},+44 20 7946 {m}\n",  # every e-mail decoded
    "user{n}@example.com,123-45-{m}%2C+44 20 7946 {m}&amp;\n",  # a token beside each value
    "us\u200ber{n}@exa\u200bmple.com,12\u200b3-45-{m},+44\u200b20 7946 {m}\n",  # inside them
    "user{n}@example.com,123\u201145\u2011{m},+44 20 7946 {m}\n",  # folded dashes
    "\ud800user{n}@example.com,123-45-{m},+44 20 7946 {m}\udcff\n",  # lone surrogates
    "user{n}@example.com&#x200b;,123-45-{m},%E2%80%8B+44 20 7946 {m}\n",  # decoding to nothing
])
def test_each_spelling_row_by_row(unit: str, answered: list[bool]) -> None:
    text = "".join(unit.format(n=1000 + i * 7, m=1000 + i % 9000) for i in range(1200))
    for settings in SETTINGS:
        want = reference.mask_text(text, settings)
        assert mask_text(text, settings) == want != text


def test_one_entity_before_dense_rows_takes_the_arrays(answered: list[bool]) -> None:
    text = "&amp; " + ROWS
    assert normalize(text).text is not text
    for settings in SETTINGS:
        assert mask_text(text, settings) == reference.mask_text(text, settings)
    assert answered == [True] * len(SETTINGS)


def test_values_overlapping_once_mapped_go_to_the_span_path() -> None:
    """A decoded token is one character, so two values never share one; should mapped values
    overlap all the same, the arrays decline (the span path decides)."""
    np = pytest.importorskip("numpy")
    text = "a&amp;b " * 20
    norm = normalize(text)
    apart = (np.array([0, 2]), np.array([2, 4]), (np.array([0, 0]), np.array([2, 4]), ()))
    assert decoded.mapped(text, norm, apart)[:2][0].tolist() == [0, 6]  # type: ignore[index]
    crossing = (np.array([0, 1]), np.array([3, 4]), (np.array([0, 0]), np.array([3, 4]), ()))
    assert decoded.mapped(text, norm, crossing) is None


def test_hash_and_lone_surrogates_are_answered_by_the_arrays() -> None:
    for text in (ROWS, ROWS[:5000] + "\ud800" + ROWS[5000:], "\udcff" + ROWS + "\ud83d"):
        for settings in SETTINGS:
            got = mask_mixed(text, settings, engine="shapes")
            assert got is not None
            assert got == mask_text(text, settings) == reference.mask_text(text, settings)


def test_hash_digests_are_remembered_but_salted() -> None:
    """The memory of digests answers per salt: another salt gives other digests."""
    a = mask_text(ROWS, MaskSettings(strategy="hash", salt="a"))
    b = mask_text(ROWS, MaskSettings(strategy="hash", salt="b"))
    first = ROWS.split(",")[0]
    assert hash_value(first, "a") in a and hash_value(first, "b") in b
    assert hash_value(first, "a") not in b and a != b
    assert a == mask_text(ROWS, MaskSettings(strategy="hash", salt="a"))


def test_known_values_in_decoded_text(monkeypatch: pytest.MonkeyPatch,
                                      answered: list[bool]) -> None:
    """Known values (the ``KNOWN`` finders read the decoded text) are put back too."""
    import re

    text = _sprinkled(99, 40)

    def find(t: str) -> list[tuple[int, int, str]]:
        return [(m.start(), m.end(), "known") for m in re.finditer(r"user\d+|7946", t)]

    monkeypatch.setattr(text_mod, "KNOWN", [find])
    for settings in SETTINGS[:3]:
        assert mask_text(text, settings) == reference.mask_text(text, settings, [find])
    assert any(answered)


MB = 1 << 20
HOSTILE = {
    "every e-mail written with an entity": "user1&#64;example.com,123-45-6789 ",
    "zero-width inside every value": "a\u200b@b.com 123-45\u200b-6789 ",
    "one entity, then dense rows": None,
    "a lone surrogate on every row": "\ud800user1@example.com,123-45-6789\n",
    "hash, every value distinct": "",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_megabyte_of_each_new_path_is_masked_whole(name: str, answered: list[bool]) -> None:
    """1 MB per new path: it finishes, the arrays answer, and the bytes equal the span path
    (the reference masker). Time goes in the benchmark, not here."""
    unit = HOSTILE[name]
    settings = MaskSettings()
    if unit is None:
        text = "&amp; " + pii_rows(MB // 45)
    elif not unit:
        text, settings = pii_rows(MB // 45, seed=7), MaskSettings(strategy="hash")
    else:
        text = unit * (MB // len(unit))
    got = mask_text(text, settings)
    assert got == reference.mask_text(text, settings) != text
    if normalize(text).text is text:
        assert mask_mixed(text, settings, engine="shapes") == got
    else:
        assert answered == [True]


def test_hash_values_equal_hash_value_and_take_lone_surrogates(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The bulk digests (salt hashed once, remembered) equal ``hash_value`` one by one, for
    any string; a known value holding a lone surrogate is hashed, not a crash."""
    from jupyter_guard.mask import strategy

    rng = random.Random(4)
    values = ["".join(rng.choice("ab@1é\ud800\U0001f600 ") for _ in range(rng.randint(0, 9)))
              for _ in range(3000)]
    for salt in ("", "s", "\ud800"):
        strategy._hashed.clear()
        assert strategy.hash_values(values, salt) == [hash_value(v, salt) for v in values]
        assert strategy.hash_values(values, salt) == [hash_value(v, salt) for v in values]
    text = ROWS.replace("\n", "\ud800\n")

    def find(t: str) -> list[tuple[int, int, str]]:
        return [(m.start(), m.end(), "known") for m in __import__("re").finditer(
            r"\d{4}\ud800", t)]

    monkeypatch.setattr(text_mod, "KNOWN", [find])
    settings = MaskSettings(strategy="hash")
    got = mask_text(text, settings)
    assert got == reference.mask_text(text, settings, [find]) != text
    assert mask_mixed(text, settings, engine="shapes", known=find(text)) == got


@pytest.mark.parametrize("seed", range(2))
def test_a_long_decoded_line_is_cut_by_the_arrays(seed: int, answered: list[bool]) -> None:
    """The stream masker's cut of one long line with tokens to decode (entities, escapes,
    zero-width characters) is answered by the arrays and masks as ``mask_text`` does: what goes
    out is the start of the whole line masked (the reference's), the rest is held raw."""
    from jupyter_guard.kernel import streams

    line = _sprinkled(seed, 300).replace("\n", " ")
    for settings in SETTINGS[:3]:
        for drop in (0, 7, 23):
            text = line[:len(line) - drop]
            whole = mask_text(text, settings)
            assert whole == reference.mask_text(text, settings)
            for limit in (streams.WINDOW, streams.HOLD):
                out, held = streams._split(text, settings, limit)
                assert whole.startswith(out) and text.endswith(held) and len(held) <= limit
    assert sum(answered) >= 12


@pytest.mark.parametrize("unit", ["password=hunter22&amp; ", "token=q1w2e3r4t5\u2011x\n",
                                  "AKIA" + "A1" * 8 + "&#64; x ", "pwd=\u200bhunter22é "])
def test_values_of_one_kind_found_as_spans_in_decoded_text(unit: str,
                                                           answered: list[bool]) -> None:
    """Spans of one kind (``decoded.from_spans`` numbers no kinds) put back on the text as
    written, with masks made from the decoded text (``mixed._sizes`` of each): the bytes
    equal the reference's."""
    for size in (60_000, 1 << 18):  # (the span path under ``ALONE_MIN``, the arrays' above)
        text = unit * (size // len(unit))
        for settings in (MaskSettings(), MaskSettings(strategy="redact"),
                         MaskSettings(strategy="hash")):
            assert mask_text(text, settings) == reference.mask_text(text, settings) != text
    assert answered and all(answered)


def test_the_sizes_of_masks_are_their_utf8_lengths() -> None:
    """``mixed._sizes`` counts UTF-8 bytes in numpy (a lone surrogate: 3) where a mask is not
    ASCII: each is ``len(mask.encode("utf-8", "surrogatepass"))``."""
    rng = random.Random(5)
    chars = ["a", "█", "é", "\udc80", "\U0001d11e", "日", "h", "\x7f", "\u0800", "\u07ff"]
    masks = tuple("".join(rng.choices(chars, k=rng.randint(0, 9))) for _ in range(2000))
    for blocks in ((*BLOCKS, *masks), (*BLOCKS, "ascii", "")):
        assert _sizes(blocks, "utf-8") == [len(b.encode("utf-8", "surrogatepass"))
                                            for b in blocks]
        assert _sizes(blocks, "utf-32-le") == list(map(len, blocks))
