"""Known values printed one character a line with other lines between, an e-mail cut over three
or more lines, a frame of one character a row, numbers backwards with a zero at an end, e-mails
without their '@', and two values interleaved (issue 15, lines15): found at the exits and masked
when printed, with 10,000 random SSNs and 10,000 e-mails remembered (as in
``test_mask15_false_positives``); plain text of the same look passes unchanged."""
from __future__ import annotations

import collections
import re
from collections.abc import Iterator

import pytest

from jupyter_guard.hooks import cipher_digits, digit_lines, exits
from jupyter_guard.mask.text import MaskSettings, mask_text
from tests.enforce.known_values import remembering
from tests.enforce.test_mask15_false_positives import _ssns
from tests.enforce.test_red15d_spellings import _prose

SSNS = [s.replace("-", "") for s in _ssns(10_000)]
EMAILS = [f"first.last{i}@corp.example" for i in range(10_000)]
ZERO_END = [s for s in SSNS if s.endswith("0")][:20]


@pytest.fixture(scope="module")
def remembered() -> Iterator[None]:
    with remembering(SSNS + EMAILS):
        yield


def _cut3(e: str) -> str:
    return "\n".join((e[:4], e[4:13], e[13:]))


ATTACKS = [
    str([s[::-1] for s in ZERO_END]),                       # '...0' backwards: '0...'
    " ".join(str(int(s[::-1])) for s in ZERO_END),          # and as ``int`` prints it
    str([e.replace("@", "") for e in EMAILS[5:9]]),
    "".join(a + b for a, b in zip(EMAILS[10], EMAILS[11])),
    "id " + "".join(a + b for a, b in zip(SSNS[12], SSNS[13])),
    _cut3(EMAILS[14]),
    "\n".join((EMAILS[15][:3], EMAILS[15][3:7], EMAILS[15][7:15], EMAILS[15][15:])),
]


@pytest.mark.parametrize("text", ATTACKS, ids=range(len(ATTACKS)))
def test_respelt_values_are_found(remembered: None, text: str) -> None:
    settings = MaskSettings()
    assert exits.scan(text, settings), text[:80]
    assert mask_text(text, settings) != text


PLAIN = [
    str(["010000245", "0123456789", "9876543210"]),
    "".join(a + b for a, b in zip("1234567890", "0987654321")),
    "".join(a + b for a, b in zip("help@python.org", "jane@doe.example")),
    "som\neone@ex\nample.org\nfirst.last@\ncorp.example\n",
    "helppython.org janedoe.com first.lastcorp.example",
]


def test_plain_look_alikes_pass(remembered: None) -> None:
    settings = MaskSettings()
    for text in PLAIN:
        assert exits.scan(text, settings) == "", text[:80]
        assert mask_text(text, settings) == text, text[:80]


def _shown(pieces: list[str]) -> str:
    settings, tail = MaskSettings(), digit_lines.Tail()
    return "".join(tail.take(mask_text(p, settings)) for p in pieces) + tail.take("", end=True)


@pytest.mark.parametrize("between", ["step", "|", "--", "x = 1"])
def test_digits_a_line_with_lines_between(remembered: None, between: str) -> None:
    """``for c in ssn: print(c); print('step')``: the run holds one other line between two
    digits; the digits and the lines between go out as one mask."""
    ssn = SSNS[20]
    shown = _shown([p for c in ssn for p in (c + "\n", between + "\n")])
    assert ssn not in "".join(ln for ln in shown.splitlines() if len(ln) == 1)
    assert "████" in shown


def test_an_email_cut_over_three_writes(remembered: None) -> None:
    e = EMAILS[21]
    shown = _shown([e[:4] + "\n", e[4:13] + "\n", e[13:] + "\n"])
    assert e not in shown.replace("\n", "") and "████" in shown
    shown = _shown([_cut3(e) + "\n"])
    assert e not in shown.replace("\n", "") and "████" in shown


@pytest.mark.parametrize("value", [SSNS[22], EMAILS[22]])
def test_a_frame_of_one_character_a_row(remembered: None, value: str) -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"c": list(value)})
    for shown in (digit_lines.char_rows(frame.to_string()),
                  digit_lines.char_cells(frame.to_html())):
        cells = re.findall(r"<td>(.)</td>", shown) or [ln[-1] for ln in shown.splitlines()[1:]]
        assert value not in "".join(cells)
        assert shown.count("████") >= len(value) - 1


def test_plain_frames_and_lines_pass(remembered: None) -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"c": list("Paris-Lyon 2026")})
    assert digit_lines.char_cells(frame.to_html()) == frame.to_html()
    assert digit_lines.char_rows(frame.to_string()) == frame.to_string()


def test_plain_lines_between_digits_pass_unchanged(remembered: None) -> None:
    """The exits' 65,000+ plain values, each after a line of one digit (a counter): they come
    out as they went in, in order (held runs are released, never masked)."""
    from tests.enforce.test_exit_false_positives import corpus

    values = corpus()
    pieces = [p for i, v in enumerate(values) for p in (f"{i % 10}\n", v[:32] + "\n")]
    tail = digit_lines.Tail()   # (after the stream's masking, as ``kernel.streams`` runs it)
    assert "".join(tail.take(p) for p in pieces) + tail.take("", end=True) == "".join(pieces)


def test_one_enciphered_number_alone_stays_unread(remembered: None) -> None:
    """Why one word is not read alone (``MIN_TOKENS``): with the shape of the 9-letter words of
    the standard library's sources matched to 10,000 random SSNs, a word whose shape is that of
    exactly one known number is no rare thing in prose (39 such words measured in 25 modules);
    keeping only shapes of 4 distinct letters or fewer leaves 363 of 10,000 numbers readable.
    One word alone stays unread, and prose is never taken for one."""
    by: dict[tuple[int, ...], int] = collections.Counter(map(cipher_digits.shape, SSNS))
    words = {w for text in _prose() for w in re.findall(r"\b[A-Za-z]{9}\b", text)}
    alone = [w for w in words if by.get(cipher_digits.shape(w)) == 1]
    assert alone   # a one-word rule would read these as SSNs
    key = str.maketrans("0123456789", "abcdefghij")
    one = SSNS[30].translate(key)
    assert cipher_digits.spans(one, set(SSNS), {9}) == []
    assert cipher_digits.spans(" ".join(alone), set(SSNS), {9}) == []
