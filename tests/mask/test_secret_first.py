"""The secret detector's bulk split asks for what one of the pattern's alternatives starts with
(``patterns.SECRET_FIRST``: a key word's or a prefix's first character, or a bare token's run)
before it tries them: every alternative starts so (read from the pattern's parse tree), the guarded split finds exactly what the
unguarded one finds on generated texts (key words in any case, Unicode look-alikes of their
letters, non-ASCII neighbours, line breaks), and ``mask_text`` of long texts dense with quoted
and JSON pairs (values across chunk edges, non-ASCII text and line breaks between them) is the
reference masker's."""
from __future__ import annotations

import random
import re
from re import _constants as c  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any

import pytest

from jupyter_guard.mask import splits
from jupyter_guard.mask.patterns import (
    PRECISE,
    SECRET_FIRST,
    SECRET_LEAD,
    SECRET_RUN,
    compile_precise,
)
from jupyter_guard.mask.scan import CHUNK
from jupyter_guard.mask.text import MaskSettings, mask_text

from . import reference

_WORD = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"


def _set(items: list[tuple[Any, Any]]) -> set[str]:
    out: set[str] = set()
    for op, av in items:
        if op is c.LITERAL:
            out.add(chr(av))
        elif op is c.RANGE:
            out |= {chr(x) for x in range(av[0], av[1] + 1)}
        elif op is c.CATEGORY and av is c.CATEGORY_WORD:
            out |= set(_WORD)
        else:
            raise AssertionError(f"unexpected set item {op} {av}")
    return out


def _heads(items: Any, fold: bool = False) -> list[tuple[set[str], int]]:
    """How each alternative of the parsed ``items`` starts: the characters its first one can
    be, and how many of them at least (a leading repeat of one class); look-arounds skipped
    (they read nothing); anything that may match empty at the start fails the test."""
    for op, av in items:
        if op in (c.ASSERT, c.ASSERT_NOT, c.AT):
            continue
        if op is c.LITERAL:
            return [({chr(av).lower(), chr(av).upper()} if fold else {chr(av)}, 1)]
        if op is c.IN:
            got = _set(av)
            return [({x for ch in got for x in (ch.lower(), ch.upper())} if fold else got, 1)]
        if op is c.SUBPATTERN:
            return _heads(av[-1], fold or bool(av[1] & re.IGNORECASE))
        if op is c.BRANCH:
            return [h for alt in av[1] for h in _heads(alt, fold)]
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            assert av[0] > 0, "an alternative may start empty"
            return [(chars, av[0] if len(av[2]) == 1 else 1) for chars, _ in _heads(av[2], fold)]
        raise AssertionError(f"unexpected op {op}")
    raise AssertionError("an alternative matches empty")


def _chars(cls: str) -> set[str]:
    return {chr(x) for x in range(128) if re.fullmatch(cls, chr(x))}


def test_every_alternative_of_the_secret_pattern_starts_as_secret_first_says() -> None:
    heads = _heads(_parser.parse(PRECISE["secret"]))
    lead, (run, least) = set(SECRET_LEAD), SECRET_RUN
    for chars, size in heads:
        assert chars <= lead or (chars <= _chars(run) and size >= least), (sorted(chars), size)
    assert sum(chars <= lead for chars, _ in heads) >= 10  # (key words and prefixes)
    assert sum(size >= least for _, size in heads) == 2  # (the two bare tokens)
    assert f"[{SECRET_LEAD}]|{run}{{{least}}}" == SECRET_FIRST


NEAR = ["", " ", "\n", "\r\n", '"', "'", ": ", "=", ",", ";", "&", "é", "\u212a", "\u017f",
        "\u0130", "\u00a0", "日本", "\u2028", "(", "{", "[", "/", "+", "-", "_", "x", "9"]
"""Around each piece: the Kelvin sign, the long s and the dotted I fold to ASCII key-word
letters in Unicode case-insensitive matching (not under ``FLAGS``: both splits must agree)."""
PIECES = ['password="hunter22"', '"password": "hunter22"', "'token': 'abcd1234'",
          "API-KEY = x1y2z3w4", "Auth:abc", "pAsSwD='a b'", "\u212aey=abcdefgh",
          "\u017fecret=abcdefgh", "sk-" + "a1B2" * 6, "AKIA" + "A1" * 8,
          "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF", "A1b2/C3d4+E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9==",
          "-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY-----",
          "eyJhbGci.eyJzdWIi.s1gN_", "ghp_" + "a1" * 15, "pwd", "token", "=", '""',
          "rk_live_" + "q" * 16, "xoxb-" + "1a-" * 4, "glpat-" + "a-" * 10, "ASIA" + "B2" * 8,
          "AIza" + "b-" * 17 + "c", "github_pat_" + "x_" * 20, "9aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0e",
          "0" * 31, "0" * 32, "+/" * 20, "_-" * 16, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
          "550e8400-e29b-41d4-a716-446655440000", "2001:db8::8a2e:370:7334"]


def _text(rng: random.Random, size: int) -> str:
    out, n = [], 0
    while n < size:
        piece = rng.choice(NEAR) + rng.choice(PIECES) + rng.choice(NEAR)
        out.append(piece)
        n += len(piece)
    return "".join(out)


def test_the_guarded_split_is_the_unguarded_one_on_generated_texts() -> None:
    plain = compile_precise(r"(\W(?:" + PRECISE["secret"] + "))")
    guarded = splits._bounded(PRECISE["secret"])
    rng = random.Random(21)
    matched = 0
    for _ in range(2000):
        text = " " + _text(rng, rng.randint(1, 300))
        got = guarded.split(text)
        assert got == plain.split(text), text
        matched += len(got) > 1
    assert matched > 1500  # (secrets were found, not only text without any)


def _pairs(rng: random.Random, size: int) -> str:
    """Quoted and JSON pairs side by side, now and then non-ASCII text, a line break or a
    value cut by a chunk's edge (the scan reads ``CHUNK`` characters at a time)."""
    units = ['password="{v}" ', '"password": "{v}", ', "'token': '{v}'\n", 'pwd="{v}",',
             '{{"auth": "{v}"}}\r\n', 'Secret = "{v}" é ', '"api_key":"{v}" 日本 ']
    out, n = [], 0
    while n < size:
        value = "".join(rng.choices("abcXYZ019/+=-_.é", k=rng.choice([3, 4, 8, 20, 45])))
        unit = rng.choice(units).format(v=value)
        edge = (n // CHUNK + 1) * CHUNK - n
        if edge < len(unit) and rng.random() < 0.5:  # the value across the chunk's edge
            out.append(" " * max(edge - len(unit) + 3, 0))
        out.append(unit)
        n += len(out[-1]) + (len(out[-2]) if edge < len(unit) else 0)
    return "".join(out)


@pytest.mark.parametrize("strategy", ["partial", "hash"])
@pytest.mark.parametrize("seed", range(3))
def test_mask_text_of_long_pair_texts_is_the_reference(strategy: str, seed: int) -> None:
    text = _pairs(random.Random(seed), 150_000)
    settings = MaskSettings(strategy=strategy)
    masked = mask_text(text, settings)
    assert masked == reference.mask_text(text, settings)
    shown = masked.count("\u2588") + masked.count("h:")  # (a block or a digest each)
    assert shown > len(text) // 200  # (values were masked)


@pytest.mark.parametrize("unit", ['password="hunter22" ', '"password": "hunter22", '])
def test_ascii_pair_texts_are_masked_as_the_reference(unit: str) -> None:
    text = unit * (200_000 // len(unit))
    masked = mask_text(text, MaskSettings())
    assert masked == reference.mask_text(text, MaskSettings())
    assert "hunter22" not in masked
