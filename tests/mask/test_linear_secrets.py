"""Secret and key forms sped up for issue 21's 50 ms a MB: key=value pairs joined into one run
longer than a value (a long query string; ``pairs``), random key-like tokens side by side (RE2's
candidate budget, ``keys.secrets_ok``), quoted, JSON and YAML pairs. Each megabyte is masked
within the budget of ``test_linear`` (far above the target: timing belongs to
``benchmarks/bench_text_ab.py``), and each fast path gives the output of the slower form it
replaced: the reference masker's, or for runs of pairs (which the reference masks with a
4,096-character cut that shows values) the ``re`` form of ``pairs``, with no value shown."""
from __future__ import annotations

import random

import pytest

from jupyter_guard.mask import keys, pairs, scan
from jupyter_guard.mask.detect import DETECTORS, _secret_ok
from jupyter_guard.mask.text import MaskSettings, mask_text

from . import reference
from .test_linear import ALL, MB, budget, fill, timed

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def tokens(sep: str, lo: int, hi: int, alphabet: str, size: int = MB, seed: int = 21) -> str:
    rng, out, n = random.Random(seed), [], 0
    while n < size:
        out.append("".join(rng.choices(alphabet, k=rng.randint(lo, hi))) + sep)
        n += len(out[-1])
    return "".join(out)[:size]


PAIRS = {  # one run of key=value pairs, longer than a value
    "amp": fill("password=hunter22&"),
    "amp-tokens": fill("token=abcd1234&"),
    "amp-api-keys": fill("api_key=hunter22xy&AUTH=hunter22qq&"),
    "amp-mixed": fill("x=1&access-key=hunter22zz&page=2&"),
    "colon-pairs": fill("secret:hunter22&pwd:abcd1234&"),
    "short-values": fill("password=ab&token=abcdef&"),
    "key-after-key": fill("password=token=abcd1234&"),
    "quote-after-key": fill("password\"=hunter22&passwd=x'&"),
}
FORMS = {
    **PAIRS,
    "b64-tokens": tokens(" ", 40, 80, B64),
    "alnum-lines": tokens("\n", 32, 40, B64[:62]),
    "quoted": fill('password="hunter22" '),
    "single-quoted": fill("password='hunter22' "),
    "json": fill('"password": "hunter22", '),
    "yaml": fill("  password: hunter22\n"),
    "header": fill("Authorization: Bearer q8Xv2LmN4pRt7YwK1sHd6FgJ3bVc5NzQ\n"),
}


@pytest.mark.parametrize("name", FORMS)
def test_secret_megabyte_within_budget(name: str) -> None:
    text = FORMS[name]
    elapsed = timed(text)
    assert elapsed < budget(len(text)), f"{name}: {elapsed:.2f} s for {len(text):,} chars"


def _by_re(text: str, settings: MaskSettings, monkeypatch: pytest.MonkeyPatch) -> str:
    """``mask_text`` with the keys and values of runs found by ``re`` (``pairs.keyed_by_re``)."""
    with monkeypatch.context() as m:
        m.setattr(pairs, "_region", lambda *args: None)
        return mask_text(text, settings)


@pytest.mark.parametrize("strategy", ["partial", "hash"])
@pytest.mark.parametrize("name", PAIRS)
def test_runs_of_pairs_mask_as_the_re_form_and_show_no_value(
        name: str, strategy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text = PAIRS[name][:300_000]
    settings = MaskSettings(strategy=strategy, detectors=ALL.detectors)
    out = mask_text(text, settings)
    assert out == _by_re(text, settings, monkeypatch)
    for value in ("hunter22", "abcd1234"):
        assert value not in out
    assert out != text


def test_pairs_in_numpy_are_the_re_pairs_for_random_runs() -> None:
    """``keyed_in_run`` (numpy) equals ``keyed_by_re`` on random runs of keys, separators,
    quotes, white space and values, each asked for several ranges of one text in turn (as the
    scan asks a run chunk by chunk) and out of order."""
    det = DETECTORS["secret"]
    pieces = ["password", "PassWord", "pwd", "passwd", "secret", "token", "api_key", "API-KEY",
              "apikey", "access_key", "accessKey", "access-key", "auth", "xtoken", "tokens",
              "=", ":", "&", " ", "\t", '"', "'", ",", ";", "hunter22", "ab", "abcd", "_", "-",
              "/", "?", "\n", "1", "=:"]
    rng = random.Random(21)
    for _ in range(600):
        text = "".join(rng.choice(pieces) for _ in range(rng.choice([5, 40, 400, 2500])))
        if rng.random() < 0.3:
            text = "password=hunter22&" * rng.randint(100, 400) + text
        pairs.forget()
        places = sorted(rng.randint(0, len(text)) for _ in range(5))
        if rng.random() < 0.5:
            rng.shuffle(places)
        for a in places:
            b = rng.randint(a, len(text))
            assert pairs.keyed_in_run(text, det, a, b) == pairs.keyed_by_re(text, det, a, b)
    pairs.forget()


def test_pairs_outside_ascii_are_found_by_re() -> None:
    det = DETECTORS["secret"]
    text = "é " + "password=hunter22&" * 400
    assert pairs.keyed_in_run(text, det, 2, len(text)) == pairs.keyed_by_re(
        text, det, 2, len(text))
    assert "hunter22" not in mask_text(text, ALL)


def test_the_key_words_are_the_patterns() -> None:
    import re

    from jupyter_guard.mask.patterns import SECRET_KEYS

    words = {w.decode() for w in pairs.WORDS}
    spelt = {f"{a}{s}{b}" for a, b in [("api", "key"), ("access", "key")] for s in ("", "_", "-")}
    assert words == spelt | {"password", "passwd", "pwd", "secret", "token", "auth"}
    assert all(re.fullmatch(SECRET_KEYS, w) for w in words)
    assert not re.fullmatch(SECRET_KEYS, "api key") and not re.fullmatch(SECRET_KEYS, "apikeys")


@pytest.mark.parametrize("name", ["b64-tokens", "alnum-lines", "quoted", "single-quoted", "json",
                                  "yaml", "header"])
def test_secret_forms_mask_as_the_reference(name: str) -> None:
    text = FORMS[name][:150_000]
    assert mask_text(text, ALL) == reference.mask_text(text, ALL)
    assert mask_text(text, MaskSettings()) == reference.mask_text(text, MaskSettings())


def test_secrets_ok_with_odd_tokens_among_many() -> None:
    """Empty and over-long tokens among many counted ones are judged by ``_secret_ok`` alone;
    the others still in numpy: every answer is ``_secret_ok``'s."""
    rng = random.Random(7)
    values = ["".join(rng.choices(B64, k=rng.randint(20, 90))) for _ in range(3000)]
    values[5:5] = ["", "Zz9" * 2000, "sk-" + "a" * 5000]
    assert keys.secrets_ok(values) == list(map(_secret_ok, values))
    assert sum(keys.secrets_ok(values)) > 500


def test_candidate_patterns_keep_their_states() -> None:
    """RE2 compiles each candidate pattern with the larger memory budget (the secret one's
    DFA was rebuilt for every chunk of key-like tokens under the default)."""
    if scan.engine() != "re2":
        pytest.skip("google-re2 is not installed")
    regex = scan._compiled(DETECTORS["secret"].candidate)
    assert regex.options.max_mem == scan.MAX_MEM
