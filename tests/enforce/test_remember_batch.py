"""``exits.remember`` made in batch (each form for all values at once, base85 in numpy) leaves
exactly what the per-value version did (``remember_reference``): the same known values and
forms, spelt set, lengths, digit lengths, e-mail domains, packed and encoded forms, flags and
count, after each of several batches of every kind of value a sensitive column holds."""
from __future__ import annotations

import math
import random
from types import SimpleNamespace
from typing import Any

import pytest

from jupyter_guard.hooks import exits, known_forms
from jupyter_guard.hooks.known_match import Packed, Values
from jupyter_guard.mask.text import MaskSettings
from tests.enforce import remember_reference

_STATE = ("spelt", "lengths", "digit_lengths", "email_domains", "encoded_alone")
_FLAGS = ("emails", "numbers", "counted")
_SETTINGS = MaskSettings()


@pytest.fixture()
def fresh_exits() -> Any:
    """``exits``' remembered values emptied for the test, put back after it."""
    saved = {n: set(getattr(exits, n)) for n in _STATE}
    flags = {n: list(getattr(exits, n)) for n in _FLAGS}
    known, forms, held = set(exits.known), set(exits.packed.forms), exits.held[0]
    exits.known.clear()
    exits._forms_follow()
    for n in _STATE:
        getattr(exits, n).clear()
    exits.counted[0] = exits.held[0] = 0
    yield exits
    exits.held[0] = held
    exits.known.clear()
    exits.known.update(known)
    exits._forms_follow()
    for n in _STATE:
        getattr(exits, n).clear()
        getattr(exits, n).update(saved[n])
    for n in _FLAGS:
        getattr(exits, n)[:] = flags[n]
    exits.packed.update(forms)


def _value(r: random.Random) -> Any:
    kind = r.randrange(16)
    n = r.randrange(10 ** 9)
    if kind == 0:
        return f"{n:09d}"                                    # SSN, maybe leading zeros
    if kind == 1:
        s = f"{n:09d}"
        return f"{s[:3]}-{s[3:5]}-{s[5:]}"                     # SSN with dashes
    if kind == 2:
        return f"user{r.randrange(10 ** 6)}@example{r.randrange(3)}.com"
    if kind == 3:
        return f"({r.randrange(100, 999)}) 555-{r.randrange(10 ** 4):04d}"
    if kind == 4:
        return "".join(r.choice("0123456789") for _ in range(16))   # a card
    if kind == 5:
        return f"{r.randrange(10 ** 4)} {r.choice(['Elm St', 'Oslo'])}, {n % 100000:05d}"
    if kind == 6:
        return f"ref {n} lyon;x{r.randrange(99)}|{r.randrange(10 ** 6)}"
    if kind == 7:
        return f"{n:09d}".encode()                              # bytes (a BLOB)
    if kind == 8:
        return [f"{n:09d}", [f"jane.doe{n % 97}@x.io", (n, float(n))]]   # nested
    if kind == 9:
        return r.choice([None, math.nan, "None", "nan", "abc", 12])
    if kind == 10:
        return n * 10 ** r.randrange(12)                        # an int, past 2**53 too
    if kind == 11:
        return r.choice(["@x.io", "a b@x.io", "x@.io", "user@exa mple.com", "0x75bcd15",
                         "é" * 6, "\udcff1234567890", "٣٤٥٦٧٨٩٠١٢", "00000000000"])
    if kind == 12:
        return {"email": f"u_{n}@d{n % 5}.org", "ssn": f"{n % 1000:03d}-12-3456"}
    if kind == 13:
        return f"{n:,}.{n % 100:02d}"
    if kind == 14:
        return bytes([0, 0, 0, 0]) + f"x{n}@y.z".encode()
    return f"{float(n) * 1e7!r}"


def _reference() -> SimpleNamespace:
    return SimpleNamespace(known=Values(), spelt=set(), lengths=set(), digit_lengths=set(),
                           email_domains=set(), encoded_alone=set(), packed=Packed(),
                           emails=[False], numbers=[False], counted=[0])


def _same(st: SimpleNamespace) -> None:
    assert set(exits.known) == set(st.known)
    for n in _STATE:
        assert getattr(exits, n) == getattr(st, n), n
    assert exits.packed.forms == st.packed.forms
    for n in _FLAGS:
        assert getattr(exits, n) == getattr(st, n), n


@pytest.mark.parametrize("seed", range(6))
def test_batches_of_every_kind(fresh_exits: Any, seed: int) -> None:
    r = random.Random(seed)
    st = _reference()
    for size in (1, 300, 2000, 40, 3000):
        batch = [_value(r) for _ in range(size)]
        if r.random() < 0.5:   # the same values again, in part (already known)
            batch += batch[: size // 3]
        values: Any = tuple(batch) if seed % 2 else batch
        remember_reference.remember(st, values)
        exits.remember(values)
        _same(st)
    assert st.numbers[0] and st.emails[0]   # (the batches did reach every form)


@pytest.mark.parametrize(("values", "once"), [
    pytest.param([f"{100000000 + g * 7}" for g in range(5000)], False, id="ssns"),
    pytest.param([f"user{i}@example.com" for i in range(5000)], False, id="emails"),
    pytest.param([f"(415) 555-{i:04d}" for i in range(5000)], False, id="phones"),
    pytest.param(["123-45-6789", b"4111111111111111", ("a@b.co", None)], True, id="generator"),
    pytest.param({"123-45-6789": 1, "4111111111111111": 2}, False, id="dict-keys"),
])
def test_one_kind(fresh_exits: Any, values: Any, once: bool) -> None:
    st = _reference()
    remember_reference.remember(st, iter(values) if once else values)
    exits.remember(iter(values) if once else values)
    _same(st)
    assert "123456789" in exits.known or "100000007" in exits.known or "user1" in exits.known \
        or "4155550001" in exits.known


def test_pieces_and_forms_as_before() -> None:
    """The forms alone, on values of every kind and the pieces' own cases."""
    r = random.Random(7)
    values = {v for v in (_value(r) for _ in range(20000)) if isinstance(v, str)} | {
        "12345,67890", "AB12;34567", "ref 100000003 lyon", "1 Elm St, Oslo 12345",
        "Saint-Denis,Paris", "1,234.50", "user1#example,com", "a 12345 b", "12345 - Paris",
        "x;12345", "(415) 555-0100", "4111 1111 1111 1111", "-12345-;x", "a@b;12345"}
    assert known_forms.pieces(values) == remember_reference.pieces(values)
    assert known_forms.local_parts(values) == remember_reference.local_parts(values)
    assert known_forms.encoded_forms(values) == remember_reference.encoded_forms(values)
    assert known_forms.packed_forms(values) == remember_reference.packed_forms(values)
    spelt: set[str] = set()
    ref_spelt: set[str] = set()
    assert known_forms.numeric_forms(values, spelt) == remember_reference.numeric_forms(
        values, ref_spelt)
    assert spelt == ref_spelt and spelt


def test_radix_forms_of_remembered_numbers(fresh_exits: Any) -> None:
    """What the batch leaves (``digit_lengths``, ``numbers``) lets the exits read a known SSN or
    card number in hex, octal or binary; a UUID, a hash and an unknown number stay plain."""
    exits.remember([f"{100000000 + g * 7}" for g in range(2000)] + ["4111-1111-1111-1111"])
    ssn, card = 100000000 + 5 * 7, 4111111111111111
    for form in (hex(ssn), oct(ssn), bin(ssn), hex(card).upper().replace("X", "x"), bin(card)):
        text = f"id={form};"
        assert exits.respelt_spans(text) == [(3, 3 + len(form), "known-spelt")], form
        assert exits.scan(text, _SETTINGS)
    for plain in ("0x5f5e0ff", hex(123456789), "0x" + "ab12" * 8,
                  "sha 0x3b4f1c9e2d7a8b6c5e4f3a2b1c0d9e8f7a6b5c4d",
                  "uuid 550e8400-e29b-41d4-a716-446655440000"):
        assert exits.respelt_spans(plain) == [], plain
