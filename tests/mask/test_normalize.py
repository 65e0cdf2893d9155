"""Detectors see normalised text, masking changes the original; plain data stays plain."""
from __future__ import annotations

import random
import uuid

import pytest

from jupyter_guard.mask.normalize import normalize
from jupyter_guard.mask.text import MaskSettings, find_spans, mask_text

S = MaskSettings()

HIDDEN = [
    pytest.param("mail jane&#64;example.com now", "jane&#64;example.com", id="decimal-entity"),
    pytest.param("mail jane&#x40;example&period;com now", "jane&#x40;example&period;com",
                 id="hex-and-named-entity"),
    pytest.param('<img src="https://t.example/p?e=jane%40example.com">', "jane%40example.com",
                 id="url-escaped-in-img-src"),
    pytest.param("mail ja\u200bne@exa\u200dmple.com now", "ja\u200bne@exa\u200dmple.com",
                 id="zero-width"),
    pytest.param("ssn 123\u201145\u20146789 ok", "123\u201145\u20146789", id="unicode-dashes"),
    pytest.param("ssn 123&#45;45&#45;6789 ok", "123&#45;45&#45;6789", id="dash-entities"),
    pytest.param("card \uff14111 1111 1111 1111 ok", "\uff14111 1111 1111 1111", id="fullwidth"),
    pytest.param("mail jane\uff20example\uff0ecom now", "jane\uff20example\uff0ecom",
                 id="fullwidth-at-and-dot"),
    pytest.param("mail jane&commat;example&period;com now", "jane&commat;example&period;com",
                 id="named-entities-only"),
    pytest.param("SSN: 123456789 ok", "123456789", id="ssn-digits-after-keyword"),
    pytest.param("social security number is 123456789.", "123456789", id="ssn-words"),
    pytest.param("holder 666-12-3456 ok", "666-12-3456", id="ssn-area-666"),
    pytest.param("itin 912-70-1234 ok", "912-70-1234", id="ssn-area-9xx"),
]


@pytest.mark.parametrize(("text", "value"), HIDDEN)
def test_hidden_value_is_masked_in_the_original(text: str, value: str) -> None:
    masked = mask_text(text, S)
    assert value not in masked
    start = text.index(value)
    assert masked[:start] == text[:start]  # what comes before is untouched
    spans = find_spans(text, S)
    assert [(a, b) for a, b, _ in spans] == [(start, start + len(value))]


PLAIN = ["AT&amp;T grew 100% in Q3", "a &lt; b &amp;&amp; c &gt; d", "50%-off sale, 20% tip",
         "2024\u20112025 season", "pages 10\u201320", "id 123456789", "order 100000245",
         "tel. ext 1234", "SSN column renamed", "zip 62704-1234"]


@pytest.mark.parametrize("text", PLAIN)
def test_plain_text_with_special_characters_unchanged(text: str) -> None:
    assert mask_text(text, S) == text


def test_frame_cells_hiding_values_are_masked() -> None:
    import pandas as pd

    from jupyter_guard.mask.settings import mask_frame

    df = pd.DataFrame({"note": ["jane&commat;example.com", "ja\u200bne@example.com",
                                "AT&amp;T 100%"]})
    shown = mask_frame(df, S).note.tolist()
    assert "jane" not in " ".join(shown[:2]) and shown[2] == "AT&amp;T 100%"


def test_map_back_over_mixed_tokens() -> None:
    text = "x&#64;\u200by%41 jane&#64;example.com"
    n = normalize(text)
    assert n.text == "x@yA jane@example.com"
    a = n.text.index("jane")
    assert text[slice(*n.span(a, len(n.text)))] == "jane&#64;example.com"


def plain_corpus(n: int = 5000, seed: int = 15) -> list[str]:
    """Plain business values: ids, amounts, timestamps, product codes, UUIDs, addresses."""
    rng = random.Random(seed)
    streets = ["Main Street", "Oak Avenue", "Rue de Rivoli", "Baker St", "Hauptstraße"]
    cities = ["Springfield, IL 62704", "Paris 75001", "London NW1 6XE", "Berlin 10115"]
    gens = [
        lambda: f"ORD-{rng.randrange(10**6):06d}",
        lambda: str(rng.randrange(10**5, 10**12)),
        lambda: f"{rng.uniform(0, 10**7):,.2f}",
        lambda: f"${rng.uniform(0, 10**5):.2f}",
        lambda: f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d} "
                f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}",
        lambda: f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T"
                f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:00.{rng.randrange(10**6):06d}Z",
        lambda: str(rng.randrange(10**12, 2 * 10**12)),
        lambda: f"PRD-{rng.randrange(2000, 2030)}-{rng.choice('ABCXYZ')}{rng.randrange(999)}",
        lambda: f"SKU-{rng.randrange(10**5):05d}-{rng.choice(['S', 'M', 'XL'])}",
        lambda: str(uuid.UUID(int=rng.getrandbits(128))),
        lambda: uuid.UUID(int=rng.getrandbits(128)).hex,
        lambda: f"{rng.randrange(1, 9999)} {rng.choice(streets)}, {rng.choice(cities)}",
        lambda: f"INV/{rng.randrange(2020, 2026)}/{rng.randrange(10**5):05d}",
        lambda: f"{rng.randrange(10**3)}.{rng.randrange(10**3)}.{rng.randrange(10**3)}",
    ]
    return [g() for g in gens for _ in range(n)]


def test_no_detection_in_65000_plain_values() -> None:
    corpus = plain_corpus()
    assert len(corpus) >= 65_000
    hits = [v for v in corpus if find_spans(v, S)]
    assert hits == [], hits[:10]
    for sep in (", ", "\n", " | "):  # and none across neighbours in one long text
        text = sep.join(corpus)
        assert find_spans(text, S) == [], find_spans(text, S)[:5]


UNIFORM_ALPHABET = ["%41", "%25", "%26", "%0a", "&amp;", "&#37;", "&#38;", "&#8203;", "&foo;",
                    "\u200b", "\u200d\ufeff", "a", "4", "1", "%", "&", ";", "#", "-", " ", "@"]


@pytest.mark.parametrize("seed", range(6))
def test_uniform_spelling_decodes_as_token_by_token(seed: int) -> None:
    """Text dense with one escape and one entity (and zero-width characters) is decoded by a
    few str passes: the result, and every span mapped back, equal the token-by-token way."""
    from tests.mask import reference

    rng = random.Random(seed)
    checked = 0
    for _ in range(3000):
        text = "".join(rng.choice(UNIFORM_ALPHABET[:rng.randrange(3, 21)])
                       for _ in range(rng.randrange(1, 40)))
        if rng.random() < 0.5:  # one form per kind: the fast path's case
            text = text.replace("%25", "%41").replace("&#37;", "&amp;")
        got, want = normalize(text), reference.normalize(text)
        assert got.text == want.text, text
        for a in range(0, len(want.text) + 1, 3):
            for b in range(a, len(want.text) + 1, 4):
                assert got.span(a, b) == want.span(a, b), (text, a, b)
        checked += 1
    assert checked == 3000


@pytest.mark.parametrize("text", ["%26amp;" + "&amp;" * 3, "&#37;41" + "%41" * 3,
                                  "&#37;26" + "%26" * 2 + "&#37;" * 2, "%4\u200b1%41",
                                  "&am\u200bp;&amp;", "&#8203;\u200b%41", "%0a&foo;",
                                  # '&' or '%' that starts no token (plain text), beside
                                  # zero-width ones and tokens they could join once dropped
                                  "&\u200b" * 4, "%\u200b" * 4, "&\u200bamp;&\u200b",
                                  "%\u200b41%\u200b", "&\u200b%41&%41", "%\u200b&amp;%",
                                  "&\u200b&amp;", "%\u200b%41", "& %\u200b&#64;"])
def test_uniform_spelling_traps(text: str) -> None:
    """Decoded characters that would form another token, tokens split by zero-width ones,
    tokens that decode to themselves, and leads that start none: the same as token by token."""
    from tests.mask import reference

    got, want = normalize(text), reference.normalize(text)
    assert got.text == want.text
    assert [got.span(a, len(want.text)) for a in range(len(want.text))] == \
        [want.span(a, len(want.text)) for a in range(len(want.text))]


def test_long_texts_fold_as_translate_does() -> None:
    """The table fold of long texts equals ``str.translate``: dashes and full-width forms among
    ASCII, other BMP characters, characters past U+FFFF and lone surrogates (which decoding
    could have paired: those texts go by ``translate``)."""
    from jupyter_guard.mask.normalize import _FOLD, FOLD_BULK, fold

    rng = random.Random(21)
    alphabet = ["a", "1", "-", " ", "\u2011", "\u2013", "\u2212", "\uff10", "\uff20", "\uff5e",
                "\uff5f", "\uff00", "é", "中", "\u200b"]
    rare = ["\U0001F600", "\ud83d", "\ude00", "\ud800"]
    for n in (FOLD_BULK - 1, FOLD_BULK, 3 * FOLD_BULK):
        for extra in ([], rare[:1], rare[1:3], rare[3:]):
            text = "".join(rng.choice(alphabet + extra) for _ in range(n))
            assert fold(text) == text.translate(_FOLD)
    text = "\ud83d" + "1\u2011" * FOLD_BULK + "\ude00"  # two lone surrogates, far apart
    assert fold(text) == text.translate(_FOLD)


@pytest.mark.parametrize("seed", range(4))
def test_long_texts_are_cut_at_their_tokens_as_split_does(seed: int) -> None:
    """``_pieces`` (tokens matched at each lead character only, when leads are few) equals
    ``_SPLIT.split`` on long texts of tokens, broken tokens, zero-width runs, lone surrogates
    and astral characters; and the map built from it equals the reference's."""
    from jupyter_guard.mask.normalize import _SPLIT, FOLD_BULK, _pieces

    from .reference import normalize as ref_normalize

    rng = random.Random(seed)
    tokens = ["&amp;", "%41", "\u200b", "\u200b\u200c", "&#64;", "%4", "&", "%", "&#x2d;",
              "&bogus;", "%00", "\ud800", "&#", "\ufeff", "\U0001f600", "%%41", "&&amp;"]
    for rate in (0.002, 0.01, 0.2):
        text = "".join(rng.choice(tokens) if rng.random() < rate else rng.choice("ab1@. ")
                       for _ in range(FOLD_BULK * 2))
        assert _pieces(text) == _SPLIT.split(text)
        norm, ref = normalize(text), ref_normalize(text)
        assert norm.text == ref.text
        for a in range(0, len(norm.text), 997):
            b = min(len(norm.text), a + rng.randint(1, 40))
            assert norm.span(a, b) == (ref.start(a), ref.end(b))


ENTITY_KINDS = ["&amp;", "&#64;", "&#x40;", "&#X4a;", "&lt;", "&nbsp;", "&bogus;", "&", "&#;",
                "&#x;", "&#xg;", "&A1;", "&1a;", "&a;", "&ab;", "&\u00e9;", "&#\u0663;",
                "&Amp;", "&amp", "&#64", ";", "&#0;", "&#65;", "&#1234567;", "&#x123456;",
                "&#12345678;", "&" + "a" * 40 + ";", "%41", "\u200b", "\u2011", "\u00e9"]


@pytest.mark.parametrize("seed", range(4))
def test_many_entities_of_several_kinds_decode_as_the_reference(seed: int) -> None:
    """A long text with more than one '&' in 16 characters, starting entities of several kinds
    (or none, or broken ones), is read in numpy (``tokens._many_entities``): its text and map
    equal the reference's token-by-token ones; with an entity longer than ``SHORT_ENTITY``
    (``&#1234567;``) it goes by ``_SPLIT`` as before, with the same result."""
    import numpy as np

    from jupyter_guard.mask import tokens
    from jupyter_guard.mask.normalize import FOLD_BULK

    from .reference import normalize as ref_normalize

    rng = random.Random(seed)
    short = [k for k in ENTITY_KINDS if k not in ("&#1234567;", "&#x123456;")]
    for kinds, rate in ((short, 0.6), (short[:8], 0.9), (ENTITY_KINDS, 0.6)):
        text = "".join(rng.choice(kinds) if rng.random() < rate else rng.choice("ab1@;# ")
                       for _ in range(FOLD_BULK))
        if kinds is ENTITY_KINDS:  # one long entity, among few '&'s that may start one
            text = "".join(rng.choice(short) for _ in range(FOLD_BULK)) + "&#x123456;"
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        amp = np.flatnonzero(codes == 38)
        assert len(amp) * tokens.BULK_AMP > len(codes) and tokens._one_token(text, "&") is None
        many = tokens._many_entities(text, codes, amp)
        assert (many is None) == (kinds is ENTITY_KINDS)
        norm, ref = normalize(text), ref_normalize(text)
        assert norm.text == ref.text
        for a in range(0, len(norm.text), 97):
            b = min(len(norm.text), a + rng.randint(1, 40))
            assert norm.span(a, b) == (ref.start(a), ref.end(b))
