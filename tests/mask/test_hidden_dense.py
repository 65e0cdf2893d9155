"""Long text dense with values hidden by spelling (a zero-width character before each '@' or
inside a value, an entity or an escape for it, Unicode dashes) is masked from arrays mapped
back onto the text (``decoded.mapped``, ``Normalized``'s map of zero-width runs in numpy): the
result is the reference masker's, byte for byte, under every strategy."""
from __future__ import annotations

import dataclasses

import pytest

from jupyter_guard.mask.normalize import _SPLIT, _decode, _dropped_map, normalize
from jupyter_guard.mask.text import MaskSettings, mask_text

from . import reference

ZW = "\u200b"
ROW = "user{n}@example.com,123-45-{m},+44 20 7946 {m}\n"
FORMS = {
    "zero-width before @": lambda r: r.replace("@", ZW + "@"),
    "zero-width in the domain": lambda r: r.replace("example", "exa" + ZW + "mple"),
    "zero-width after the value": lambda r: r.replace(",", ZW + ","),
    "two zero-width runs": lambda r: r.replace("@", ZW * 2 + "@").replace("7946", "79" + ZW + "46"),
    "entity for @": lambda r: r.replace("@", "&#64;"),
    "escape for @": lambda r: r.replace("@", "%40"),
    "en dashes": lambda r: r.replace("-", "\u2013"),
    "zero-width and en dashes": lambda r: r.replace("@", ZW + "@").replace("-", "\u2013"),
    "entity for @, zero-width in the domain": lambda r: r.replace("@", "&#64;").replace(
        "example", "exa" + ZW + "mple"),
    "escape for @, escape for '.'": lambda r: r.replace("@", "%40").replace(".com", "%2Ecom"),
    "escape for @, en dashes": lambda r: r.replace("@", "%40").replace("-", "\u2013"),
    "entity for the first letter": lambda r: r.replace("user", "&#117;ser"),
    "entity for @ in some rows": lambda r: r.replace("@", "&#64;") if "1" in r[:12] else r,
}


def rows(form: str, size: int = 70_000) -> str:
    out, n, i = [], 0, 0
    while n < size:
        r = FORMS[form](ROW.format(n=100000 + i * 7 % 900000, m=1000 + i * 13 % 9000))
        out.append(r)
        n, i = n + len(r), i + 1
    return "".join(out)


@pytest.mark.parametrize("strategy", ["partial", "hash", "redact"])
@pytest.mark.parametrize("form", FORMS)
def test_dense_hidden_values_are_masked_as_the_reference_masks_them(form: str, strategy: str
                                                                     ) -> None:
    text = rows(form)
    settings = MaskSettings(strategy=strategy)
    masked = mask_text(text, settings)
    assert masked == reference.mask_text(text, settings)
    assert "user100000" not in masked


@pytest.mark.parametrize("text", [
    ZW + "a" * 20_000 + ZW, "a" * 20_000 + ZW * 3 + "b" + ZW, ("x" + ZW + "\u00ad") * 8000,
    ("é" + ZW) * 9000 + "\ufeff",
])
def test_the_zero_width_map_is_the_token_map(text: str) -> None:
    from itertools import accumulate

    pieces = _SPLIT.split(text)
    decoded = [p if i % 2 == 0 else _decode(p) for i, p in enumerate(pieces)]
    orig = list(accumulate(map(len, pieces), initial=0))[:-1]
    norm = list(accumulate(map(len, decoded), initial=0))[:-1]
    assert _dropped_map(text) == (norm, orig)
    assert normalize(text).pieces == (norm, orig)


@pytest.mark.parametrize("text", [
    "123-45-6789&amp;" * 2000, ("user1&#64;example.com," + ZW) * 1000, "a%40b.com " * 3000,
    ("x&amp;y%41" + ZW * 2 + "z") * 2000, ("& %" + ZW + "q") * 5000, "&#37;41 %41" * 3000,
    ("&amp;" + ZW + "&amp;&amp;" + ZW) * 2000 + "&amp;", ("%zz" + ZW) * 5000 + "&amp;",
])
def test_the_map_of_one_token_spelling_is_the_token_map(text: str) -> None:
    """Text where every '&' (or '%') that starts a token starts the same one: its map is read
    from where those characters are (``_token_arrays``), and equals the map of the text cut
    at its tokens."""
    from itertools import accumulate

    norm = normalize(text)
    assert norm.uniform is not None and len(text) >= 16384
    pieces = _SPLIT.split(text)
    decoded = [p if i % 2 == 0 else _decode(p) for i, p in enumerate(pieces)]
    orig = list(accumulate(map(len, pieces), initial=0))[:-1]
    assert norm.pieces == (list(accumulate(map(len, decoded), initial=0))[:-1], orig)
    assert norm.text == "".join(decoded)


ALL = MaskSettings(detectors=("email", "ssn", "card", "phone", "iban", "secret", "ipv4", "ipv6"))
JOINED = {  # values of kinds no numpy finder reads, dense and joined by hiding spellings
    "keys joined by &amp;": "AKIAIOSFODNN7EXAMPLE&amp;",
    "sk- keys joined by &amp;": "sk-abcdefghijklmnopqrstuvwx&amp;",
    "tokens joined by &amp;": "q8Xv2LmN4pRt7YwK1sHd6FgJ3bVc5NzQ&amp;",
    "IPv4 joined by &amp;": "192.168.10.20&amp;",
    "IPv6 joined by &amp;": "2001:db8::8a2e:370:7334&amp;",
    "IPv4 joined by non-breaking hyphens": "192.168.10.20\u2011",
    "IPv6 joined by non-breaking hyphens": "2001:db8::8a2e:370:7334\u2011",
    "keys and IPv4 (two kinds)": "AKIAIOSFODNN7EXAMPLE&amp;10.0.0.1&#64;",
    "keys with an entity inside": "AKIAIOSFODNN7EX&#65;MPLE&amp;",
    "key=value pairs joined by &amp;": "password=hunter22 &amp;",
    "tokens and look-alikes": "q8Xv2LmN4pRt7YwK1sHd6FgJ3bVc5NzQ&amp;aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                              "&amp;10.0.0.999&amp;",
}


@pytest.mark.parametrize("strategy", ["partial", "hash", "redact"])
@pytest.mark.parametrize("form", JOINED)
def test_dense_values_of_span_kinds_are_masked_as_the_reference_masks_them(form: str,
                                                                         strategy: str) -> None:
    """Values the span scanner (or one detector alone) finds in decoded text are put back
    as arrays (``decoded.from_spans``, ``bulk.arrays``): the reference masker's result."""
    unit = JOINED[form]
    text = unit * (70_000 // len(unit))
    settings = dataclasses.replace(ALL, strategy=strategy)
    masked = mask_text(text, settings)
    assert masked == reference.mask_text(text, settings)
    assert masked != text
