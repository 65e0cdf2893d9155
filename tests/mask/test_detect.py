"""Decision tables for value detectors: real values found, plain data left alone."""
from __future__ import annotations

import random

import pandas as pd
import pytest

from jupyter_guard.mask.detect import DETECTORS, luhn_ok, name_matches
from jupyter_guard.mask.settings import MaskSettings, find_spans, sensitive_columns

POSITIVES = [
    ("email", "jane.doe+tag@mail.example.co.uk"),
    ("email", "a@b.com"),
    ("ssn", "123-45-6789"),
    ("ssn", "123 45 6789"),
    ("card", "4111111111111111"),
    ("card", "4111 1111 1111 1111"),
    ("card", "5555-5555-5555-4444"),
    ("card", "3782 822463 10005"),
    ("phone", "+44 20 7946 0958"),
    ("phone", "+1 (555) 123-4567"),
    ("phone", "(555) 123-4567"),
    ("phone", "555-123-4567"),
    ("phone", "+33 1 23 45 67 89"),
    ("phone", "+14155552671"),
    ("iban", "DE89 3704 0044 0532 0130 00"),
    ("iban", "GB82WEST12345698765432"),
    ("ipv4", "192.168.1.10"),
    ("ipv6", "2001:db8::1"),
    ("secret", "sk-proj-abcdefghijklmnopqrstuvwx"),
    ("secret", "ghp_" + "a1B2" * 9),
    ("secret", "AKIAIOSFODNN7EXAMPLE"),
    ("secret", "xoxb-1234567890-abcdefghij"),
    ("secret", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl"),
    ("secret", "q8Xv2LmN4pRt7YwK1sHd6FgJ3bVc5NzQ"),
]

NEGATIVES = [
    ("order id", "ORD-000123"), ("order id", "1234567"), ("order id", "100000245"),
    ("date", "2024-01-15"), ("date", "15.01.2024"), ("date", "01/15/2024"),
    ("timestamp", "2024-01-15 10:30:00"), ("timestamp", "2024-01-15T10:30:00Z"),
    ("timestamp", "1700000000000"), ("time", "10:30:45"),
    ("amount", "1,234.56"), ("amount", "$1,234,567.89"), ("amount", "-123.45"),
    ("product code", "PRD-2024-ABC123"), ("product code", "SKU-12345-XL"),
    ("uuid", "550e8400-e29b-41d4-a716-446655440000"),
    ("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("luhn-invalid card", "4111111111111112"), ("isbn", "9781234567890"),
    ("identifier", "MyVeryLongClassNameForTesting123Abc"), ("version", "v1.2.3"),
    ("path", "/home/user/projects/report_2024_final_version.csv"),
]


@pytest.mark.parametrize(("name", "value"), POSITIVES, ids=[f"{n}:{v}" for n, v in POSITIVES])
def test_detector_finds_value(name: str, value: str) -> None:
    det = DETECTORS[name]
    assert det.matches(value)
    assert list(det.find(f"see {value} here")) == [(4, 4 + len(value))]


@pytest.mark.parametrize(("kind", "value"), NEGATIVES, ids=[f"{k}:{v}" for k, v in NEGATIVES])
def test_plain_value_not_detected(kind: str, value: str) -> None:
    hits = {n: list(d.find(value)) for n, d in DETECTORS.items() if n not in ("ipv4", "ipv6")}
    assert not any(hits.values()), hits


def test_secret_key_value_masks_only_the_value() -> None:
    text = "password = hunter22 and api_key: 'Zx9abcdef'"
    spans = [(text[a:b], d) for a, b, d in find_spans(text, MaskSettings())]
    assert spans == [("hunter22", "secret"), ("Zx9abcdef", "secret")]


def test_luhn() -> None:
    assert luhn_ok("79927398713") and not luhn_ok("79927398710")


def test_column_matches_is_a_fraction_of_the_sample() -> None:
    s = pd.Series(["a@b.com", "c@d.org", "not an email", None])
    assert DETECTORS["email"].column_matches(s) == pytest.approx(2 / 3)
    assert DETECTORS["email"].column_matches(pd.Series([1.5, 2.5])) == 0.0


@pytest.mark.parametrize(("name", "hit"), [("Email", True), ("customer_SSN", True),
                                           ("CardNumber", True), ("city", False)])
def test_name_globs_case_insensitive(name: str, hit: bool) -> None:
    assert name_matches(name, ("*email*", "*ssn*", "*card*")) is hit


def plain_dataset(n: int = 5000, seed: int = 7) -> pd.DataFrame:
    """Plain business data: none of it is personal or secret."""
    rng = random.Random(seed)
    ts = pd.Timestamp("2023-01-01")
    return pd.DataFrame({
        "order_id": [f"ORD-{rng.randrange(10**6):06d}" for _ in range(n)],
        "order_no": [str(rng.randrange(10**5, 10**9)) for _ in range(n)],
        "amount": [f"{rng.uniform(0, 10**6):,.2f}" for _ in range(n)],
        "price": [f"${rng.uniform(0, 999):.2f}" for _ in range(n)],
        "ts": [str(ts + pd.Timedelta(seconds=rng.randrange(10**8))) for _ in range(n)],
        "iso": [(ts + pd.Timedelta(seconds=rng.randrange(10**8))).isoformat() + "Z"
                for _ in range(n)],
        "date": [(ts + pd.Timedelta(days=rng.randrange(3000))).strftime("%d.%m.%Y")
                 for _ in range(n)],
        "epoch_ms": [str(rng.randrange(10**12, 2 * 10**12)) for _ in range(n)],
        "product": [f"PRD-{rng.randrange(2000, 2030)}-{rng.choice('ABCXYZ')}{rng.randrange(999)}"
                    for _ in range(n)],
        "sku": [f"SKU-{rng.randrange(10**5):05d}-{rng.choice(['S', 'M', 'XL'])}"
                for _ in range(n)],
        "uuid": [str(__import__("uuid").UUID(int=rng.getrandbits(128))) for _ in range(n)],
        "qty": [str(rng.randrange(1, 500)) for _ in range(n)],
        "city": [rng.choice(["Paris", "Oslo", "São Paulo", "New York"]) for _ in range(n)],
    })


def test_false_positive_rate_is_zero_on_plain_data() -> None:
    df = plain_dataset()
    settings = MaskSettings(columns=("*email*",), detectors=tuple(DETECTORS))
    flagged = {c: sum(bool(find_spans(v, settings)) for v in df[c]) for c in df.columns}
    rate = sum(flagged.values()) / df.size
    assert rate == 0.0, {c: k for c, k in flagged.items() if k}
    assert sensitive_columns(df, settings) == set()


def test_a_value_inside_a_rejected_candidate_is_still_found() -> None:
    """Digits that look like a card but fail Luhn must not hide the real card that starts inside
    them (a scan that skipped past the rejected match missed it)."""
    text = "1111 1111 1111 4111 1111 1111 1111 end"   # '1111 1111 1111 4111' is no card
    assert list(DETECTORS["card"].find(text)) == [(15, 34)]
