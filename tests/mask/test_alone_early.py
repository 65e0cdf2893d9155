"""``alone``'s last check (no other kind's candidate anywhere, its own somewhere) is two RE2
searches that stop at their first match instead of one set pass over the whole text: the
answers equal the set's on texts where another kind shows early, late, never, or split across
where chunks would be cut, in ASCII and non-ASCII text."""
from __future__ import annotations

import random

import pytest

from jupyter_guard.mask import alone, scan
from jupyter_guard.mask.detect import DETECTORS
from jupyter_guard.mask.text import MaskSettings

SETTINGS = [MaskSettings(), MaskSettings(detectors=tuple(DETECTORS))]
N = 1 << 18


def _tokens(seed: int, sep: str = "\n") -> str:
    rng = random.Random(seed)
    chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    out, size = [], 0
    while size < N:
        out.append("".join(rng.choices(chars, k=rng.randint(32, 40))) + sep)
        size += len(out[-1])
    return "".join(out)


def _put(text: str, at: int, value: str) -> str:
    return text[:at] + value + text[at:]


plain = "".join(f"token{i}={'a' * 28}{i:06d}\n" for i in range(N // 41))
TEXTS = {
    "random tokens (other kinds show early)": _tokens(1),
    "key tokens only": plain,
    "key tokens, an SSN at the end": plain + "123-45-6789\n",
    "key tokens, an SSN after the first chunk": _put(plain, scan.CHUNK + 7, " 123-45-6789 "),
    "key tokens, an SSN across a chunk's edge": _put(plain, 4 * scan.CHUNK - 5, " 123-45-6789 "),
    "key tokens, non-ASCII": plain.replace("\n", " é\n"),
    "key tokens, non-ASCII, an e-mail at the end": plain.replace("\n", " é\n") + "a@b.example",
    "IPv6 lines": "2001:db8::8a2e:370:7334\n" * (N // 24),
    "IPv6 lines, a card in the middle": _put("2001:db8::8a2e:370:7334\n" * (N // 24), N // 2,
                                             " 4111 1111 1111 1111 "),
}


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_first_match_searches_answer_as_the_set(name: str) -> None:
    text = TEXTS[name]
    data = text.encode("ascii") if text.isascii() else text
    for s in SETTINGS:
        dets = s.enabled
        which = scan._which_for(dets)
        for k in range(len(dets)):  # (every detector as the one in the head, not only it)
            assert alone._only(data, dets, k) == (sorted(which(data) or []) == [k]), (name, k)


def test_both_answers_occur() -> None:
    """The texts above hold kinds alone and kinds with others (the comparison is not vacuous)."""
    got = set()
    for text in TEXTS.values():
        found = alone.alone(text, SETTINGS[1].enabled)
        got.add(None if found is None else found.name)
    assert None in got and "secret" in got and "ipv6" in got
