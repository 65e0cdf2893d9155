"""The secret detector's bulk split consumes the one character before each match (``bulk._split``:
``re`` then skips to non-word characters instead of trying every position). Its values are
``Detector.spans_in``'s on generated texts holding key words in every spelling the pattern
accepts (case, quotes, ':' or '=', spaces, non-ASCII neighbours, a value at the start or end of
the range, one cut at ``MAX_VALUE`` with a key right after it) and prefixed and bare tokens;
``mask_text`` of such megabyte texts masks what the reference masker masks (values inside
runs longer than a value too), but key words there, where the reference is wrong."""
from __future__ import annotations

import random

import pytest

from jupyter_guard.mask import bulk, scan
from jupyter_guard.mask import text as text_module
from jupyter_guard.mask.detect import get_detectors
from jupyter_guard.mask.normalize import Normalized
from jupyter_guard.mask.pairs import KEYED
from jupyter_guard.mask.patterns import MAX_VALUE
from jupyter_guard.mask.scan import CHUNK
from jupyter_guard.mask.strategy import mask_value
from jupyter_guard.mask.text import MaskSettings, mask_text

from . import reference

SECRET = get_detectors(["secret"])[0]
KEYS = ["password", "passwd", "pwd", "secret", "token", "api_key", "api-key", "apikey",
        "access_key", "access-key", "accesskey", "auth"]
JOINS = ["=", ":", " = ", ": ", "\t:\t", " :", "\n=\n"]
QUOTES = ["", '"', "'"]
AROUND = ["", " ", "\n", "x", "_", "-", "/", "+", "=", ".", ",", ";", '"', "'", "é", "\u00a0",
          "\u2011", "日本", "&", "(", "{", ":"]
TOKENS = ["sk-" + "a1B2" * 6, "sk-proj-" + "Zz9_" * 6, "sk_live_" + "q" * 16, "ghp_" + "a1" * 15,
          "github_pat_" + "x_" * 20, "glpat-" + "a-" * 10, "xoxb-" + "1a-" * 4, "AKIA" + "A1" * 8,
          "AIza" + "b-" * 17 + "c", "eyJ" + "hbGci" + ".eyJ" + "zdWIi" + ".s1gN_",
          "-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY-----",
          "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF", "A1b2/C3d4+E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9==",
          "q8Xv2LmN4pRt7YwK1sHd6FgJ3bVc5NzQ", "abcd", "550e8400-e29b-41d4-a716-446655440000"]


def _case(word: str, rng: random.Random) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c for c in word)


def _value(rng: random.Random) -> str:
    chars = rng.choice(["abcXYZ019", "hunter22", "a/b+c=d.e-f", "ÿé€a1", "x"])
    size = rng.choice([1, 3, 4, 5, 12, 40, MAX_VALUE - 1, MAX_VALUE, MAX_VALUE + 3])
    return "".join(rng.choices(chars, k=size))


def _piece(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.55:
        q1, q2 = rng.choice(QUOTES), rng.choice(QUOTES)
        key = rng.choice(["", q1]) + _case(rng.choice(KEYS), rng) + q1
        return key + rng.choice(JOINS) + q2 + _value(rng) + rng.choice(["", q2])
    if roll < 0.85:
        return rng.choice(TOKENS)
    return "".join(rng.choices("ab c1-_/+=.,;:'\"\né", k=rng.randint(0, 12)))


def _text(rng: random.Random) -> str:
    parts = [rng.choice(AROUND)]
    for _ in range(rng.randint(1, 8)):
        parts += [_piece(rng), rng.choice(AROUND)]
    return "".join(parts)


def _bulk_spans(text: str, pos: int, endpos: int) -> list[tuple[int, int]] | None:
    got = bulk.pieces(SECRET, text, pos, endpos)
    return None if got is None else bulk._offsets(got)


def test_bulk_secret_spans_are_spans_in_on_generated_texts() -> None:
    rng = random.Random(22)
    compared = 0
    for _ in range(3000):
        text = _text(rng)
        pos = rng.choice([0, 0, 1, rng.randint(0, len(text))])
        endpos = rng.choice([len(text), len(text), rng.randint(pos, len(text))])
        got = _bulk_spans(text, pos, endpos)
        if got is not None:
            assert got == SECRET.spans_in(text, pos, endpos), (text, pos, endpos)
            compared += 1
    assert compared > 2000  # the bulk path answered, not spans_in behind it


@pytest.mark.parametrize("stop", ["", "x", "/", ".", "=", "-"])
def test_a_key_right_after_a_value_cut_at_max_value(stop: str) -> None:
    """A key-word value is cut at ``MAX_VALUE``; a key right after the cut starts a secret where
    the previous one ends: the split must not step over it."""
    for key in ["password=hunter2222", "token: abcd1234", "sk-" + "a1B2" * 6]:
        text = "pwd=" + "v" * (MAX_VALUE - len(stop)) + stop + key + " tail"
        assert _bulk_spans(text, 0, len(text)) == SECRET.spans_in(text, 0, len(text))
        if stop and stop in ".=":  # (a boundary for both alternatives: the second secret is found)
            assert len(SECRET.spans_in(text, 0, len(text))) == 2


def test_values_at_the_start_of_the_range_and_of_the_text() -> None:
    for text in ["password=hunter22 x", "sk-" + "a1B2" * 6, "a password=hunter22", " auth:abcd"]:
        for pos in range(3):
            got = _bulk_spans(text, pos, len(text))
            assert got is None or got == SECRET.spans_in(text, pos, len(text)), (text, pos)
        assert _bulk_spans(text, 0, len(text)) == SECRET.spans_in(text, 0, len(text))


@pytest.mark.parametrize("unit", ['password="hunter22" ', '"password": "hunter22", ',
                                  "  password: hunter22\n", "auth=abcd1234 token=" + "q1" * 20
                                  + " x\n", "sk-" + "a1B2" * 6 + " é AKIA" + "A1" * 8 + "\n"])
def test_mask_text_of_a_megabyte_of_secrets_is_the_reference(unit: str) -> None:
    text = unit * ((1 << 20) // len(unit))
    for settings in (MaskSettings(), MaskSettings(strategy="hash")):
        assert mask_text(text, settings) == reference.mask_text(text, settings)


def _masked_by(norm: Normalized, spans: list[tuple[int, int, str]], text: str) -> str:
    """``text`` masked at ``spans`` of ``norm.text`` as the reference masks its own spans."""
    out, pos = [], 0
    for a, b, kind in spans:   # (by the span's kind: a detector's match keeps its tail as found)
        x, y = norm.span(a, b)
        if x < pos:
            continue
        out += [text[pos:x], mask_value(norm.text[a:b], "partial", kind=kind)]
        pos = y
    out.append(text[pos:])
    return "".join(out)


def test_mask_text_of_generated_long_texts_masks_what_the_reference_masks() -> None:
    """``mask_text`` of megabyte texts masks the spans the scan finds, and they cover every
    character the reference masks but key words: in a run longer than a value, each key word
    starts a value of its own (``keyed_in_run``), where the reference's value cut at
    ``MAX_VALUE`` swallows the next key word and shows the rest of that key's value (see the
    next test). Values the reference masks after such a cut (a token after
    ``pwd=<4,100 characters>&``) are masked."""
    rng = random.Random(23)
    settings = MaskSettings()
    for _ in range(6):
        text = "".join(_text(rng) for _ in range(900))
        assert len(text) > 1 << 16  # (the bulk paths' size)
        norm, spans = text_module._norm_spans(text, settings)
        assert mask_text(text, settings) == _masked_by(norm, spans, text)
        ref_norm, ref_spans = reference.norm_spans(text, settings)
        assert ref_norm.text == norm.text
        covered = bytearray(len(norm.text))
        for a, b, _ in spans:
            covered[a:b] = b"\1" * (b - a)
        for key in KEYED.finditer(norm.text):  # a key word, or a value under 4 cut by it
            a = max(key.start() - 3, 0)
            covered[a:key.end()] = b"\1" * (key.end() - a)
        shown = [(a, b) for a, b, _ in ref_spans if covered.find(0, a, b) >= 0]
        assert not shown, [norm.text[a:b][:40] for a, b in shown[:5]]


def test_the_reference_shows_a_value_whose_key_its_cut_at_max_value_swallowed() -> None:
    """Why ``mask_text`` is not the reference in runs longer than a value: the reference cuts
    ``pwd``'s value at ``MAX_VALUE`` inside ``token``, so ``token``'s value shows."""
    text = "pwd=" + "a" * (MAX_VALUE - 2) + "&token=abcdefgh x"
    assert "abcdefgh" in reference.mask_text(text, MaskSettings())
    assert "abcdefgh" not in mask_text(text, MaskSettings())


_PLAIN = "lorem ipsum " * 200


@pytest.mark.parametrize("text", [
    "pwd=" + "a" * 4100 + "&ghp_" + "a1" * 15 + " x",  # a token after a cut value
    "'" + "x" * 40 + '-Pwd": ' + "x" * 4099 + " tail",  # the key in a token's candidate
    "x glpat-" + "a-" * 10 + "apI-key = \"e2hr&api_KEy': '" + "b" * 4099 + "' tail",
    _PLAIN + "xpassword=abc&" + "b" * 300 + "&ghp_" + "a1" * 15 + " x",  # a key that fails
], ids=["after-cut", "key-in-token-candidate", "match-past-its-candidate", "failed-key-run"])
def test_secrets_inside_long_runs_are_the_reference(text: str) -> None:
    """Texts the chunked scan reads (2 KB to 64 KB), and the same three times in a longer
    text (the bulk paths): the scan once showed each of these values (a 4,000-character
    value, or a whole token)."""
    long = (text + " ") * 3 + "token=abcd1234 " * 5000
    for t in (text, long):
        for settings in (MaskSettings(), MaskSettings(strategy="hash")):
            assert mask_text(t, settings) == reference.mask_text(t, settings)


def test_a_value_right_after_a_dense_chunk_whose_key_is_in_it() -> None:
    """``scan._dense`` drops values that start past its chunks (the next chunk finds them)
    but keeps one whose key word is in them: no other chunk sees that key."""
    head = ("token=abcd1234 " * (CHUNK // 15 + 1))[:CHUNK - 7]
    text = head + " pwd:\t'" + "a9109' " + "token=abcd1234 " * 300
    assert text[CHUNK:CHUNK + 5] == "a9109"
    assert (CHUNK, CHUNK + 5, "secret") in scan._dense(text, SECRET, [(0, CHUNK)])
    assert (CHUNK, CHUNK + 5) in SECRET.spans_in(text, 0, len(text))


def test_a_token_after_a_value_longer_than_max_value_in_one_run_is_masked_by_the_split() -> None:
    """The bulk split finds the token after a key-word value cut at ``MAX_VALUE`` (``spans_in``
    does; so does ``mask_text``, above)."""
    text = "pwd=" + "a" * 4100 + "&ghp_" + "a1" * 15 + " x"
    assert _bulk_spans(text, 0, len(text)) == SECRET.spans_in(text, 0, len(text)) == [
        (4, 4 + MAX_VALUE), (4105, 4139)]
