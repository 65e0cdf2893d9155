"""``digit_lines.Order`` without a kernel (issue 15, streams15): two streams' tails sharing one
order read their lines of one character together, in the order taken. A known number whose
digits alternate over them is masked on both; what one stream already emitted stays out (its
run ended), the rest is masked. Plain twins: digits of no known value pass unchanged, and a
lone stream reads only its own lines (a tail of its own order)."""
from __future__ import annotations

from collections.abc import Iterator
from itertools import zip_longest

import pytest

from jupyter_guard.hooks.digit_lines import Order, Tail
from tests.enforce.known_values import remembering

SSN = "100000036"
EMAIL = "someone.known@corp.example"


@pytest.fixture()
def known() -> Iterator[None]:
    with remembering([SSN, "100000037", EMAIL]):
        yield


def _alternate(text: str, ends: bool = True, pick: int = 2) -> tuple[str, str]:
    """``text`` one character a line, every ``pick``-th on the second stream: what each shows."""
    order = Order()
    a, b = Tail(order), Tail(order)
    out = {a: [], b: []}   # type: dict[Tail, list[str]]
    for i, c in enumerate(text):
        t = b if i % pick == pick - 1 else a
        out[t].append(t.take(c + "\n"))
    if ends:
        out[a].append(a.take("", end=True))
        out[b].append(b.take("", end=True))
    return "".join(out[a]), "".join(out[b])


def test_number_over_two_streams_masked(known: None) -> None:
    for pick in (2, 3):
        one, two = _alternate(SSN, pick=pick)
        assert set(one + two) <= {"\u2588", "\n"}, (one, two)
        assert one.count("\n") + two.count("\n") == len(SSN)   # one mask a line


def test_email_over_two_streams_masked(known: None) -> None:
    """Masked once its local part is read (a known e-mail's local part is found on its own):
    the domain that follows is no value."""
    one, two = _alternate(EMAIL)
    woven = "".join(x + y for x, y in zip_longest(one.split(), two.split(), fillvalue=""))
    assert woven == "\u2588" * 13 + "@corp.example", (one, two)


def test_emitted_part_stays_rest_masked(known: None) -> None:
    """The first stream's run ends early (a long line after its first digit): that digit is
    out; the rest, still held on both streams, is masked."""
    order = Order()
    a, b = Tail(order), Tail(order)
    shown = a.take(SSN[0] + "\n" + "x" * 40 + "\n")
    for i, c in enumerate(SSN[1:]):
        t = b if i % 2 else a
        shown += t.take(c + "\n")
    shown += a.take("", end=True) + b.take("", end=True)
    assert shown.startswith(SSN[0] + "\n" + "x" * 40 + "\n")
    assert not any(c.isdigit() for c in shown[2:]), shown


def test_plain_digits_pass(known: None) -> None:
    for text in ("123456789", "0123456789" * 3, "100000035"):
        one, two = _alternate(text)
        assert one == "".join(c + "\n" for c in text[0::2]), one
        assert two == "".join(c + "\n" for c in text[1::2]), two


def test_streams_of_two_orders_read_apart(known: None) -> None:
    a, b = Tail(), Tail()
    shown = [(b if i % 2 else a).take(c + "\n") for i, c in enumerate(SSN)]
    shown += [a.take("", end=True), b.take("", end=True)]
    assert "".join(shown).replace("\n", "") == SSN[0::2] + SSN[1::2]


def test_next_cell_starts_fresh(known: None) -> None:
    """Lines of a cell that ended leave the order: the next cell's digits are read on their
    own (the first half of a number in one cell, the rest in the next, pass)."""
    order = Order()
    a, b = Tail(order), Tail(order)
    first = a.take(SSN[0] + "\n" + SSN[2] + "\n") + a.take("", end=True)
    second = "".join(b.take(c + "\n") for c in SSN[1::2]) + b.take("", end=True)
    assert first == SSN[0] + "\n" + SSN[2] + "\n"
    assert second == "".join(c + "\n" for c in SSN[1::2])
