"""Encoded and numeric forms of sensitive values, without a kernel: hex bytes with separators,
compressed or UTF-16 text inside an encoding, and the numbers a user loop cuts from SSNs, phones
and card numbers are found by the exits' scan; plain values in the same shapes (MAC addresses,
timestamps, lists of small numbers, the 65,000-value plain corpus) are not."""
from __future__ import annotations

import base64
import gzip
import json
import random
import zlib

import pytest

from jupyter_guard.hooks import encoded, exits
from jupyter_guard.hooks.known_forms import numeric_forms
from jupyter_guard.kernel.encoded_runs import MARKER, mask_runs
from jupyter_guard.mask.text import MaskSettings
from tests.enforce.test_exit_false_positives import corpus

EMAILS = ",".join(f"user{n}@example.com" for n in range(20))
SETTINGS = MaskSettings()


@pytest.mark.parametrize("text", [
    pytest.param(":".join(f"{b:02x}" for b in EMAILS.encode()), id="colons"),
    pytest.param(EMAILS.encode().hex(" "), id="hex-sep-space"),
    pytest.param(EMAILS.encode().hex("-").upper(), id="hex-sep-dash-upper"),
    pytest.param("".join(f"\\x{b:02x}" for b in EMAILS.encode()), id="backslash-x"),
    pytest.param(str([hex(b) for b in EMAILS.encode()]), id="list-of-hex"),
    pytest.param(str([e.encode().hex(" ") for e in EMAILS.split(",")]), id="list-of-spaced"),
    pytest.param(zlib.compress(EMAILS.encode()).hex(), id="zlib-hex"),
    pytest.param(base64.b64encode(gzip.compress(EMAILS.encode())).decode(), id="gzip-base64"),
    pytest.param(EMAILS.encode("utf-16").hex(), id="utf16-hex"),
    pytest.param(base64.a85encode(EMAILS.encode()).decode(), id="ascii85"),
    pytest.param(base64.a85encode(EMAILS.encode(), wrapcol=60, adobe=True).decode(),
                 id="ascii85-adobe-wrapped"),
    pytest.param(base64.b85encode(EMAILS.encode()).decode(), id="base85"),
    pytest.param(str([base64.b85encode(e.encode()).decode() for e in EMAILS.split(",")]),
                 id="list-of-base85"),
])
def test_encoded_emails_are_found_at_the_exits(text):
    assert exits.scan(text, SETTINGS) in ("", "secret")   # no e-mail in the bytes as written
    assert "user13@example.com" in encoded.decoded(text)
    assert exits.scan(text, SETTINGS, decode=True) != ""


@pytest.mark.parametrize("text", [
    pytest.param(":".join(f"{b:02x}" for b in EMAILS.encode()), id="colons"),
    pytest.param(str([e.encode().hex(" ") for e in EMAILS.split(",")[:3]]), id="list-of-spaced"),
    pytest.param(base64.a85encode(EMAILS.encode()).decode(), id="ascii85"),
    pytest.param(base64.b85encode(EMAILS.encode()).decode(), id="base85"),
    pytest.param(EMAILS.encode("utf-16-le").hex(":"), id="utf16-hex-colons"),
])
def test_encoded_emails_are_masked_when_shown(text):
    shown, runs = mask_runs("rows: " + text, SETTINGS)
    assert runs and MARKER in shown and text[:20] not in shown, shown


PLAIN = [
    "aa:bb:cc:dd:ee:ff", "00:1a:2b:3c:4d:5e:6f:70",   # MAC addresses, EUI-64
    "2026-01-15 10:30:00.123, 2026-01-15 10:31:00.456", "fe80::1ff:fe23:4567:890a",
    " ".join(f"{n:02d}" for n in range(10, 99)), ", ".join(str(n) for n in range(10, 60)),
    b"Paris".hex(":") + " " + ":".join(f"{b:02x}" for b in b"Lyon,Nice,Lille,Rome"),
    json.dumps([[random.Random(n).randint(10, 99) for _ in range(12)] for n in range(30)]),
    base64.a85encode(b"Paris,Lyon,Nice,Lille,Rome,Berlin").decode(),   # encoded, but plain
    base64.b85encode(b"PRD-000001,PRD-000002,PRD-000003").decode(),
    "if (a && b) { x = y; } // 50% of $cost; is it? ok! (really) #tag ^2 `code`",
    "<p>Tom &amp; Jerry&#39;s &quot;caf&eacute;&quot; menu: $5 &ndash; 50% off!</p>",
]


@pytest.mark.parametrize("text", PLAIN)
def test_plain_values_in_the_same_shapes_pass(text):
    assert exits.scan(text, SETTINGS, decode=True) == ""
    assert mask_runs(text, SETTINGS) == (text, frozenset())


def test_the_plain_corpus_passes_decoded_and_shown():
    values = corpus()
    assert len(values) >= 65_000
    assert [v for v in values if exits.scan(v, SETTINGS, decode=True)] == []
    text = "\n".join(",".join(values[i:i + 6]) for i in range(0, len(values), 6))
    assert exits.scan(text, SETTINGS, decode=True) == ""
    joined = " ".join(values[:5000])
    assert mask_runs(joined, SETTINGS) == (joined, frozenset())


def test_numbers_cut_from_known_values_are_known():
    forms = numeric_forms(["123-45-6789", "(415) 555-0100", "4111111111111111", "012-34-5678",
                           "9007199254740993", "user@example.com", "Paris", "12-34"])
    assert {"123456789", "4155550100", "4111111111111111.0", "4.111111111111111000e+15",
            "12345678", "12345678.0", "9007199254740992"} <= forms
    assert not forms & {"user@example.com", "Paris", "1234", "4111111111111111"}


def test_numeric_forms_are_found_at_the_exits_and_plain_numbers_are_not():
    values = ["987-65-4320", "(415) 555-0199", "5105105105105100"]
    exits.remember(values)
    try:
        for text in ("[987654320, 1]", "4155550199", "x=5105105105105100.0",
                     "5.105105105105100000e+15\n"):
            assert exits.scan(text, SETTINGS) != "", text
        for text in ("[987654321, 1]", "4155550198", "5105105105105101.0", "987654320123"):
            assert exits.scan(text, SETTINGS) == "", text
    finally:
        exits.known.difference_update(values + list(numeric_forms(values)))
