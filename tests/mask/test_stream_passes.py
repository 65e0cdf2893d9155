"""The shortcuts of the stream masker's encoded-run passes find what the full passes find.

* ``run_shapes`` (one RE2 pass telling which passes a text needs): on generated hex bytes
  joined by separators, every text in which ``separated`` finds a run may hold one; on random
  text of base64, Ascii85 and non-Latin-1 characters, every text with a base64 run or two rare
  Ascii85 characters is said to hold them; and the masked output is the same with and without
  the shortcut.
* A long hex run's dash-separated parts (numpy instead of one regex) and the length of the run
  that ends a piece (read from its last characters first) equal the regex forms.
"""
from __future__ import annotations

import base64
import random
import re

import pytest

from jupyter_guard.hooks import encoded, encoded85
from jupyter_guard.kernel import encoded_runs, run_shapes
from jupyter_guard.kernel.encoded_runs import KEEP, MARKER, SHORTEST, mask_runs
from jupyter_guard.kernel.run_shapes import EVERY, may_hold_separated, shapes
from jupyter_guard.mask.text import MaskSettings, mask_text

SEPS = [" ", ":", ",", ".", ";", "'", '"', "|", "-", "\\x", ", 0x", "0x", "', '", ":-", "  "]
NOISE = ["a", "F", "0", "9", " ", "x", "g", "é", "\n", "zz", "0x", ":"]


def _texts(seed: int, n: int) -> list[str]:
    """Hex bytes joined by a separator (6 to 12 of them, ``0x`` before each or not), in noise,
    with a character dropped, doubled or changed here and there."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        sep, lead = rng.choice(SEPS), rng.choice(["", "0x", "\\x"])
        body = list(sep.join(lead + f"{rng.randrange(256):02x}" for _ in range(rng.randint(6, 12))))
        for _ in range(rng.randint(0, 3)):
            i = rng.randrange(len(body))
            body[i] = rng.choice(["", body[i] * 2, rng.choice(NOISE)])
        noise = ["".join(rng.choice(NOISE) for _ in range(rng.randint(0, 6))) for _ in "ab"]
        out.append(noise[0] + "".join(body) + noise[1])
    return out


def test_every_text_separated_finds_a_run_in_passes_the_gate() -> None:
    found = 0
    for text in _texts(21, 6000) + [
            ":".join(f"{b:02x}" for b in b"user@example.com"), b"ann@example.com".hex(" "),
            str([hex(b) for b in b"user@example.com"]), "".join(f"\\x{b:02x}" for b in b"a@b.co.uk"),
            str(list(b"x@example.org".hex(",").split(",")))]:
        if encoded.separated(text):
            found += 1
            assert may_hold_separated(text) and shapes(text, SHORTEST).separated, text
    assert found > 100   # the random texts do hold runs


def test_the_gate_leaves_the_masked_text_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = MaskSettings()
    emails = "user1@example.com, ann@example.org"
    texts = [f"id {emails.encode().hex(sep)} end" for sep in (":", " ", "-", ",", "|")]
    texts += [str([hex(b) for b in emails.encode()]), "plain text, 12 34 56 78 90 ab cd ef 01"]
    texts += _texts(5, 300)
    gated = [mask_runs(t, settings) for t in texts]
    monkeypatch.setattr(encoded_runs, "shapes", lambda text, shortest: EVERY)
    assert [mask_runs(t, settings) for t in texts] == gated
    assert sum(MARKER in out for out, _ in gated) >= 6   # the encoded e-mails are masked


def test_the_other_shapes_are_seen_wherever_their_passes_find_something() -> None:
    rng = random.Random(85)
    alphabet = "ab+/_-=09 ,.\n!#$%&*;?^`()é€😀\ud800~<>"
    texts = ["".join(rng.choice(alphabet) if rng.random() < 0.3 else rng.choice("Ab9")
                     for _ in range(rng.randint(64, 400))) for _ in range(3000)]
    texts += [base64.a85encode(b"ann@example.com, bob@example.org").decode() + " " * 50,
              "x" * 80 + "€ and €", "y" * 80 + "\ud800\ud800"]
    seen = [0, 0]
    for text in texts:
        found = shapes(text, SHORTEST)
        if encoded.runs(text, SHORTEST):
            seen[0] += 1
            assert found.base64, text
        raw = text.encode("latin-1", "replace")
        if sum(raw.count(bytes([c])) for c in encoded85.RARE) >= encoded85.MIN_RARE:
            seen[1] += 1
            assert found.ascii85, text
    assert min(seen) > 100 and seen[0] < len(texts)
    assert run_shapes.PAIRS == encoded.PAIRS


@pytest.mark.parametrize("text", [
    "1-" * 50_000, ("1-" * 500 + "abcdef0123456789abcdef-") * 40,
    "12345678901-" * 300 + "123456789012" + "-1" * 3000, "0123456789ab" * 400 + "-",
    "-" + "f" * 5000, "ab-" * 2000 + "c" * 12])
def test_long_hex_runs_split_at_dashes_as_by_the_regex(text: str) -> None:
    assert encoded_runs._hex_parts(text, text.encode()) == re.findall(r"[^-]{12,}", text)


@pytest.mark.parametrize("size", [0, 5, KEEP - 1, KEEP, KEEP + 1, KEEP + 2, 3 * KEEP])
def test_the_run_ending_a_piece_is_measured_whole(size: int) -> None:
    for head in ("", "x y ", "█"):
        piece = head + base64.b64encode(b"q" * size).decode()[:size]
        assert encoded_runs._tail(piece) == len(re.search(r"[A-Za-z0-9+/_=-]*\Z", piece)[0])


@pytest.mark.parametrize("sep", ["\n", " ", ""])
def test_one_big_write_masks_values_across_its_block_edges(sep: str) -> None:
    """A write longer than ``BLOCK`` is masked block by block, as if written in pieces: values
    that straddle the edges between blocks (in lines, in one long line, glued to the text) are
    masked as in the whole text, and the rest comes out as it went in."""
    from jupyter_guard.kernel.streams import BLOCK, Held

    settings = MaskSettings()
    filler = "the order was shipped on time and paid " * (BLOCK // 20)
    values = [f"user{i}.name@example.com" for i in range(4)] + ["123-45-6789", "+44 20 7946 0958"]
    text, edge = "", BLOCK
    for k, value in enumerate(values):   # each value starts a few characters before an edge
        text += filler[:edge - len(text) - 3 - k] + sep + value + sep
        edge += BLOCK
    text += filler[:1000]
    held = Held()
    out = "".join(held.write(text, settings)) + held.drain(settings)
    assert out == mask_text(text, settings)
    assert sep == "" or not any(v in out for v in values)   # (glued to words: as the whole)


def test_the_end_of_a_cell_ends_an_open_run() -> None:
    """A piece emitted with its last run open (a flush that emitted everything), then the end of
    the cell: a run the next cell writes is judged on its own and shown as the marker (it was
    taken for the rest of the open run, already masked, and shown as nothing at all)."""
    from jupyter_guard.kernel.streams import Held

    settings = MaskSettings()
    emails = ", ".join(f"user{i}@example.com" for i in range(400)).encode()
    held = Held()
    held.runs.mask("id " + base64.b64encode(emails).decode(), settings, True)
    assert held.runs.open is not None and held.runs.masked   # a masked run left open
    assert held.drain(settings) == ""                          # nothing held: the cell ends
    out = "".join(held.write(base64.b64encode(emails[:3300]).decode() + "\n", settings))
    assert out == MARKER + "\n"
