"""Masking time is linear in the text: adversarial and random strings up to 1 MB, each call
within a budget far below the quadratic times of backtracking patterns (hours at 1 MB)."""
from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_guard.mask import scan
from jupyter_guard.mask.detect import DETECTORS
from jupyter_guard.mask.text import MaskSettings, mask_text

MB = 1 << 20
ALL = MaskSettings(detectors=tuple(DETECTORS))
SECONDS_PER_MB = 1.0
"""Budget of CPU per MB. The slowest forms here (1 MB dense with valid IBANs, cards or
key=value secrets hidden by zero-width characters: every value validated and masked) took
0.25-0.5 s with the machine's load average at 13-14 on 2 cores; ordinary and adversarial text
without values takes about 0.01 s. Backtracking took hours."""


def budget(n: int) -> float:
    return max(0.25, SECONDS_PER_MB * n / MB)


def timed(text: str) -> float:
    """CPU seconds of this thread (wall time on a shared machine measures the neighbours)."""
    t = time.thread_time()
    mask_text(text, ALL)
    return time.thread_time() - t


def fill(unit: str, n: int = MB, head: str = "", tail: str = "") -> str:
    return head + unit * (max(n - len(head) - len(tail), 0) // max(len(unit), 1)) + tail


ADVERSARIAL = {
    "secret-slashes": fill("a/", head="1 ", tail="-"),  # 2.9 s at 16 KB before
    "email-percent": fill("%a", head="@ "),  # 0.3 s at 16 KB before
    "letters": fill("a"), "digits": fill("1"), "base64": fill("Ab9+", tail="="),
    "digit-space": fill("1 "), "digit-dash": fill("1-"), "digit-dot": fill("1."),
    "dots-domain": fill("a.", head="x@", tail="1"), "at-signs": fill("a@"),
    "hex-colons": fill("a:"), "plus-phones": fill("+1 "), "iban-ish": fill("AB12 "),
    "password-run": fill("a", head="password=", tail='"'), "dash-words": fill("A-"),
    "underscores": fill("_a"), "parens": fill("(1) "), "jwt-ish": fill("a", head="eyJ", tail="."),
    "pem-begin": fill("-----BEGIN RSA PRIVATE KEY-----"), "sk-prefix": fill("sk-"),
    "entities": fill("&#64;a"), "url-escapes": fill("%40a"), "zero-width": fill("a\u200b1"),
    "unicode-dash": fill("1\u2011"), "ssn-words": fill("ssn: "),
    "emails": fill("jane.doe@example.com "), "ssns": fill("123-45-6789 "),
    "cards": fill("4111 1111 1111 1111 "), "us-phones": fill("(555) 123-4567 "),
    "pii-rows": fill("jane.doe@example.com,123-45-6789,+44 20 7946 0958\n"),
    "amp-entities": fill("&amp;"), "url-letters": fill("%41"), "zero-width-digits": fill("1\u200b"),
    "ibans": fill("DE89 3704 0044 0532 0130 00 "),
    # IBAN look-alikes of a real country (each start once went through re, 0.3-0.6 s per MB)
    "iban-codes": fill("DE89 "), "iban-words": fill("GB82 WEST "), "iban-pairs": fill("DE89 3704 "),
    # key-like tokens side by side (each once validated in Python: 1.2-1.5 s per MB)
    "b64-tokens": fill("q8Xv2LmN4pRt7YwK1sHd6FgJ3bVc5NzQ+a/B9 "),
    "tokens-repeated": fill("q8Xv2LmN4pRt7YwK1sHd6FgJ3bVc5NzQ "),
    "token-lines": fill("Ab3dEf5hIj7lMn9pQr1tUv3xYz5bCd7f\n"),
    "tokens-entities": fill("q8Xv2LmN4pRt7YwK1sHd6FgJ3bVc5NzQ&amp;"),
    # hidden spellings of dense values (the map back onto the text: ~70-160 ms per MB)
    "pii-zero-width-at": fill("jane.doe\u200b@example.com,123-45-6789,+44 20 7946 0958\n"),
    "pii-entity-at": fill("jane.doe&#64;example.com,123-45-6789\n"),
    "pii-escape-at": fill("jane.doe%40example.com,123-45-6789\n"),
    "zero-width-amp": fill("&\u200b"), "ssn-words-amp": fill("ssn: 123456789&amp;"),
    "ipv6s": fill("2001:db8::8a2e:370:7334 "), "card-glued": fill("4111111111111111"),
    "digit-groups": fill("1234 5678-"),
    # key=value pairs repeated (each named value once went through Python: 100-150 ms per MB)
    "password-pairs": fill("password=hunter22 "), "password-quoted": fill('"password=hunter22" '),
    # cards glued by a comma: no match anywhere (the range was searched, then split: 60 ms)
    "card-commas": fill("4111 1111 1111 1111,"),
    # IPv6 addresses side by side (ipaddress per match: 200 ms per MB)
    "ipv6-quoted": fill('"2001:db8::8a2e:370:7334" '),
    # '%' starting no escape between zero-width ones (token by token: 150 ms per MB)
    "zero-width-percent": fill("%\u200b"),
    # digit groups joined by dashes into key-like runs (each split for secrets: 85 ms per MB)
    "digit-group-runs": fill("5801-6700-6762-9005-9757-3679-8561 "),
    # values joined by '&amp;' or non-breaking hyphens (the map token by token, and values of
    # kinds without a numpy finder put back span by span: 80-190 ms per MB)
    "ssn-amp": fill("123-45-6789&amp;"), "phone-short-amp": fill("+1 2&amp;"),
    "keys-amp": fill("AKIAIOSFODNN7EXAMPLE&amp;"), "sk-amp": fill("sk-abcdefghijklmnopqrstuvwx&amp;"),
    "ipv4-amp": fill("192.168.10.20&amp;"), "ipv6-amp": fill("2001:db8::8a2e:370:7334&amp;"),
    "ipv4-nbhyph": fill("192.168.10.20\u2011"), "ipv6-nbhyph": fill("2001:db8::8a2e:370:7334\u2011"),
    # SSNs after key words (one re step per word: 70-90 ms per MB)
    "ssn-word-values": fill("ssn: 123456789 "), "ssn-word-nbhyph": fill("SSN is 123456789\u2011"),
    "ssn-word-zero-width": fill("ssn: 123456789\u200b"), "ssn-word-glued": fill("ssn: 123456789"),
    # look-alikes among zero-width characters (the map built for no value: 60 ms per MB)
    "colon-zero-width": fill(":\u200b"),
    # '+1 2' look-alikes (every '+' place read by every gather of the '+' phone finder)
    "plus-short": fill("+1 2 "),
}


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_adversarial_megabyte_within_budget(name: str) -> None:
    text = ADVERSARIAL[name]
    elapsed = timed(text)
    assert elapsed < budget(len(text)), f"{name}: {elapsed:.2f} s for {len(text):,} chars"


@pytest.mark.parametrize("name", ["secret-slashes", "email-percent", "digit-dash", "dash-words"])
def test_time_grows_linearly(name: str) -> None:
    unit = ADVERSARIAL[name][2:6]
    small, big = fill(unit, MB // 8), fill(unit, MB)
    t_small = min(timed(small) for _ in range(2))
    t_big = timed(big)
    assert t_big < 24 * max(t_small, 0.01), (t_small, t_big)  # quadratic would be ~64x


CLASSES = ["a", "Z", "1", "/", "%", "@", ".", "-", "+", "=", ":", " ", "_", "(", ")", "\n",
           "&#64;", "\u200b", "\u2011", "%40", "password=", "sk-", "eyJ"]


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(unit=st.lists(st.sampled_from(CLASSES), min_size=1, max_size=6).map("".join),
       size=st.sampled_from([1 << 12, 1 << 16, MB]))
def test_random_alternations_within_budget(unit: str, size: int) -> None:
    text = fill(unit, size)
    elapsed = timed(text)
    assert elapsed < budget(len(text)), f"{unit!r}: {elapsed:.2f} s for {len(text):,} chars"


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=3000))
def test_random_text_within_budget(text: str) -> None:
    assert timed(text) < budget(len(text))


PIECES = ["jane.doe@example.com", "123-45-6789", "4111 1111 1111 1111", "+44 20 7946 0958",
          "DE89 3704 0044 0532 0130 00", "password=hunter22", "order 100000245",
          "2024-01-15 10:30:00", "550e8400-e29b-41d4-a716-446655440000", "ssn: 123456789",
          "AKIAIOSFODNN7EXAMPLE", "q8Xv2LmN4pRt7YwK1sHd6FgJ3bVc5NzQ", " ", "\n", ", ", "a/", "%a"]


@pytest.mark.skipif(scan.engine() != "re2", reason="google-re2 is not installed")
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=4000))
def test_both_engines_find_the_same_values(pieces: list[str]) -> None:
    text = "".join(pieces)
    dets = ALL.enabled
    assert sorted(scan.scan_re2(text, dets)) == sorted(scan.scan_precise(text, dets))


NEW_FORMS = ["b64-tokens", "tokens-repeated", "token-lines", "tokens-entities",
             "pii-zero-width-at", "pii-entity-at", "pii-escape-at", "zero-width-amp",
             "ssn-words-amp", "ipv6s", "card-glued", "digit-groups", "digit-dash",
             "password-pairs", "password-quoted", "card-commas",
             "ipv6-quoted", "zero-width-percent",
             "digit-group-runs", "ssn-amp", "phone-short-amp", "keys-amp", "sk-amp", "ipv4-amp",
             "ipv6-amp", "ipv4-nbhyph", "ipv6-nbhyph", "ssn-word-values", "ssn-word-nbhyph",
             "ssn-word-zero-width", "ssn-word-glued", "plus-short",
             "colon-zero-width"]


@pytest.mark.parametrize("name", NEW_FORMS)
def test_fast_forms_mask_as_the_reference(name: str) -> None:
    """The forms sped up for the budget above mask as the reference masker does (70 KB of
    each: long enough for the dense paths)."""
    from . import reference

    text = ADVERSARIAL[name][:70_000]
    assert mask_text(text, ALL) == reference.mask_text(text, ALL)
