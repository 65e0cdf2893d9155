"""``mask.gate``: a long text where one kind alone has candidates, few of its prefilter's and
none a value, is returned as it is without the precise pass over all of it.

Differential: every text masks the same with the gate and without it (``gate.clear`` made to
answer False: the path as it was), and, on the shorter ones, as the reference masker does.
The texts: look-alikes of one kind (cards after commas, glued to digits, failing Luhn) with a
real value put at chunk edges, at the ends, after a long candidate, with ``CAP`` and ``CAP + 1``
candidates; long runs of one class, two classes alternating, the issue's hostile forms, random
and real-looking text with values, non-ASCII text and a lone surrogate.
"""
from __future__ import annotations

import random
import statistics
import time

import pytest

from jupyter_guard.mask import bulk, gate
from jupyter_guard.mask.scan import CHUNK
from jupyter_guard.mask.text import ALONE_MIN, MaskSettings, mask_text

from .differential import DEFAULT, put, same_as_reference, same_without

SIZE = ALONE_MIN + CHUNK + 5000  # (long enough for the gate; several chunks)
CARD = "4111 1111 1111 1111"


def fill(unit: str, n: int = SIZE) -> str:
    return unit * (n // len(unit))


LOOKALIKES = {
    "cards after commas": fill(CARD + ","),
    "cards glued": fill(CARD),
    "bad Luhn glued": fill("4111 1111 1111 1112"),
    "bad Luhn after commas": fill("4111 1111 1111 1112,"),
    "cards after dots": fill(CARD + "."),
}


def _forms() -> dict[str, str]:
    out = dict(LOOKALIKES)
    for name, base in LOOKALIKES.items():
        for at in (0, CHUNK - 12, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK - 20, SIZE // 2,
                   SIZE - 25, SIZE):
            out[f"{name}, a card at {at}"] = put(base, at, CARD)
        out[f"{name}, an e-mail in the middle"] = put(base, SIZE // 2, "jane@example.com")
        out[f"{name}, an SSN at the end"] = put(base, SIZE, "123-45-6789")
    rng = random.Random(19)
    lone = "x " * 20  # candidates of the card prefilter, each alone, none a value
    for k in (gate.CAP - 1, gate.CAP, gate.CAP + 1):
        cands = "".join(f"{lone}4{rng.randrange(10**15):015d}9 " for _ in range(k))
        text = (cands + fill("word ", SIZE))[:SIZE]
        out[f"{k} card-shaped candidates"] = text
        out[f"{k} card-shaped candidates, a card at the end"] = put(text, SIZE, CARD)
    out["cards after commas, non-ASCII"] = fill("é " + CARD + ",")
    out["cards after commas, non-ASCII, a card"] = put(fill("é " + CARD + ","), CHUNK, CARD)
    out["cards after commas, zero-width between"] = fill(CARD + ",\u200b")
    out["cards after commas, a lone surrogate"] = "\ud800" + fill(CARD + ",")
    out["cards after commas after a long run"] = "4" * 5000 + " " + fill(CARD + ",")
    out["a long digit run, a card after it"] = put("5" * SIZE, SIZE - 40, CARD)
    for unit in ("1", "a", "1-", "A-", "1,", "4,", "a/", "%a", "&amp;", "1\u2011", "4 ", "41"):
        out[f"run {unit!r}"] = fill(unit)
    out["hostile '1 ' + 'a/'*n + '-'"] = "1 " + fill("a/") + "-"
    out["hostile '@ ' + '%a'*n"] = "@ " + fill("%a")
    for seed in range(6):
        r = random.Random(seed)
        out[f"random digits, spaces and commas {seed}"] = "".join(
            r.choice("0123456789 ,-.") for _ in range(SIZE))
        out[f"random cards and look-alikes {seed}"] = "".join(
            r.choice([CARD, "4111 1111 1111 1112", "5500 0000 0000 0004", "1234"])
            + r.choice([",", ", ", "", " ", "\n", ";"]) for _ in range(SIZE // 18))
    out["real-looking log with values"] = "".join(
        f"2024-05-{d % 28 + 1:02d} 12:{d % 60:02d}:00 INFO order {d} paid by "
        f"{CARD if d % 97 == 0 else '4111 1111 1111 ' + str(1000 + d % 9000)}, ok\n"
        for d in range(SIZE // 70))
    return out


FORMS = _forms()


@pytest.mark.parametrize("name", list(FORMS))
def test_same_with_and_without_the_gate(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    same_without(monkeypatch, gate, "clear", False, FORMS[name], name)


@pytest.mark.parametrize("name", [n for n in FORMS if "card at" in n or "candidates" in n
                                  or n in LOOKALIKES or "real-looking" in n])
def test_same_as_the_reference(name: str) -> None:
    same_as_reference(FORMS[name], name)


def test_a_card_among_look_alikes_is_masked() -> None:
    """The benign twin: the one real card in a megabyte of look-alikes is still masked,
    wherever it is (chunk edges, the very end)."""
    base = fill(CARD + ",", 1 << 20)
    for at in (0, CHUNK - 1, 5 * CHUNK, len(base)):
        text = put(base, at, CARD)
        masked = mask_text(text, DEFAULT)
        assert " " + CARD + " " in text and " " + CARD + " " not in masked, at
        assert masked.count("████1111") == 1, at


def test_look_alikes_skip_the_precise_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """A megabyte of cards after commas is returned without ``bulk.mask_alone``'s precise
    pass (which read it all in ``re`` to find nothing)."""
    text = fill(CARD + ",", 1 << 20)

    def refuse(*a: object) -> str:
        raise AssertionError("the precise pass ran")

    monkeypatch.setattr(bulk, "mask_alone", refuse)
    assert mask_text(text, DEFAULT) == text
    assert gate.clear(text, DEFAULT.enabled[2])


def _cpu_ms(text: str, s: MaskSettings) -> float:
    runs = []
    for _ in range(5):
        c = time.thread_time()
        mask_text(text, s)
        runs.append(time.thread_time() - c)
    return statistics.median(runs) * 1000


def test_look_alikes_cost_what_prose_costs() -> None:
    """Budget relative to a same-run baseline (CPU of this thread, medians of 5): a megabyte
    of card look-alikes costs at most 4x a megabyte of prose with numbers (about 1.5x here; the
    precise pass made it 10-15x)."""
    words = "the order of 12 May shipped 3 boxes to 221B Baker Street, total 45.90 GBP; "
    prose = fill(words, 1 << 20)
    base = _cpu_ms(prose, DEFAULT)
    for unit in (CARD + ",", CARD, "4111 1111 1111 1112"):
        text = fill(unit, 1 << 20)
        spent = _cpu_ms(text, DEFAULT)
        assert spent <= 4 * max(base, 1.0), f"{unit!r}: {spent:.1f} ms against {base:.1f} ms"
