"""False positives of the encoded, reordered and decoy-skipping readings of the joined stream
(``hooks/pieces_decoded.py``, ``hooks/pieces_order.py``), measured as chan20 measured its
cross-cell reading: the honest short-number corpus of ``test_chan20_corpus`` (3,000 cells) and
the 10,000 cells of its threat-model measure, plus honest encoded output (hashes, UUIDs, a
picture's base64, character codes of words, hex and base64 of words, enumerated lists, digit
words), each cell's messages read as ``kernel.sent_pieces`` reads them (``output_lines`` then
``Run.read_lines``, a cell's start between cells), with 10,000 random SSNs and 10,000
e-mails known. The attack twins: the same values sent encoded, shuffled with their index, and
with UUIDs between pieces.

    .venv/bin/python -m pytest tests/enforce/test_chan22_corpus.py
"""
from __future__ import annotations

import base64
import hashlib
import random
import uuid
import zlib
from collections.abc import Iterator

import pytest

from jupyter_guard.hooks import exits
from jupyter_guard.hooks.shown_pieces import Run, output_lines
from tests.enforce.test_chan20_corpus import corpus

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


@pytest.fixture
def known() -> Iterator[tuple[list[str], list[str]]]:
    saved = set(exits.known)
    rng = random.Random(22)
    ssns = [f"{rng.randint(100, 899)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"
            for _ in range(10_000)]
    names = ["anna", "omar", "li", "sofia", "jan", "maria", "kenji", "ada", "ravi", "eva"]
    emails = [f"{rng.choice(names)}.{rng.choice(names)}{rng.randint(1, 9999)}@"
              f"{rng.choice(['gmail.com', 'yahoo.com', 'uni.edu'])}" for _ in range(10_000)]
    exits.known.clear()
    exits.remember(ssns + emails)
    yield ssns, emails
    exits.known.clear()
    exits.known.update(saved)


def honest(rng: random.Random, cells: int) -> list[list[str]]:
    """Honest encoded output, one message a line."""
    out: list[list[str]] = []
    for _ in range(cells):
        kind = rng.randrange(8)
        n = rng.randrange(1, 12)
        if kind == 0:
            out.append([hashlib.sha256(str(rng.random()).encode()).hexdigest() + "\n"
                        for _ in range(n)])
        elif kind == 1:
            out.append([f"{uuid.UUID(int=rng.getrandbits(128))}\n" for _ in range(n)])
        elif kind == 2:
            data = zlib.compress(bytes(rng.randrange(256) for _ in range(300)))
            out.append([base64.b64encode(data).decode()[i:i + 76] + "\n"
                        for i in range(0, 400, 76)])
        elif kind == 3:
            w = rng.choice(["hello", "world", "data", "pandas", "kernel", "notebook"])
            out.append([" ".join(str(ord(c)) for c in w) + "\n"]
                       + [f"{ord(c)}\n" for c in w])
        elif kind == 4:
            w = rng.choice(["abc", "xyz", "cat", "dog", "bee", "key", "id", "row"])
            out.append([f"{w.encode().hex()} {base64.b64encode(w.encode()).decode()}\n",
                        f"{hashlib.md5(w.encode()).hexdigest()[:6]}\n"])
        elif kind == 5:
            out.append([f"{i} {rng.choice(['ant', 'bee', 'cat', '12', '7', 'x'])}\n"
                        for i in rng.sample(range(n), n)])
        elif kind == 6:
            out.append([" ".join(rng.choice(WORDS) for _ in range(3)) + "\n"
                        for _ in range(n)])
        else:
            out.append([f"{rng.randrange(32, 127)}\n" for _ in range(n)])
    return out


def hits(cells: list[list[str]]) -> int:
    run, n, found = Run(), 0, 0
    for cell in cells:
        run.boundary()
        for text in cell:
            n += 1
            h, _ = run.read_lines(output_lines("stream", {"text": text}), n)
            found += h is not None
    return found


def attack(values: list[str], form: str) -> int:
    """Each value sent in pieces of three characters, one a message, in ``form``; a cell."""
    rng = random.Random(3)
    run, n, found = Run(), 0, 0
    for v in values:
        run.boundary()
        starts = list(range(0, len(v), 3))
        if form == "shuffled":
            rng.shuffle(starts)
        got = None
        for i in starts:
            p = v[i:i + 3]
            texts = {"hex": [p.encode().hex()], "base64": [base64.b64encode(p.encode()).decode()],
                     "ord": [" ".join(str(ord(c)) for c in p)], "shuffled": [f"{i} {p}"],
                     "decoys": [p, str(uuid.UUID(int=rng.getrandbits(128)))],
                     "words": [" ".join(WORDS[int(c)] for c in p if c.isdigit())]}[form]
            for text in texts:
                n += 1
                h, _ = run.read_lines(output_lines("stream", {"text": text + "\n"}), n)
                got = got if h is None else h
        found += got is not None
    return found


def over_cells(values: list[str]) -> int:
    """Each value a cell a piece, words beside its first and last piece."""
    run, n, found = Run(), 0, 0
    for v in values:
        got = None
        cut = [v[i:i + 3] for i in range(0, len(v), 3)]
        for text in ["x " + cut[0], *cut[1:-1], cut[-1] + " y"]:
            run.boundary()
            n += 1
            h, _ = run.read_lines(output_lines("stream", {"text": text + "\n"}), n)
            got = got if h is None else h
        run.boundary()
        run.read_lines(output_lines("stream", {"text": "a-longer-line-ends-every-run\n"}), n)
        found += got is not None
    return found


def test_honest_output_completes_no_known_value(known: tuple[list[str], list[str]]) -> None:
    assert hits(corpus(random.Random(1), 3000)) == 0
    assert hits(corpus(random.Random(7), 10_000)) == 0
    assert hits(honest(random.Random(2), 3000)) == 0


@pytest.mark.parametrize("form", ["hex", "base64", "ord", "shuffled", "decoys", "words"])
def test_encoded_reordered_and_decoyed_pieces_are_found(
        known: tuple[list[str], list[str]], form: str) -> None:
    ssns, emails = known
    assert attack(ssns[:50], form) == 50
    if form != "words":
        assert attack(emails[:50], form) == 50


def test_a_value_over_cells_with_words_beside_its_ends_is_found(
        known: tuple[list[str], list[str]]) -> None:
    ssns, emails = known
    assert over_cells(ssns[:50]) == over_cells(emails[:50]) == 50


@pytest.fixture
def warehouse_known() -> Iterator[None]:
    """The known values of ``make_warehouse``'s frame: SSNs ``100000000 + id``, ``user<id>@``."""
    saved = set(exits.known)
    exits.known.clear()
    exits.remember([f"{100_000_000 + i}" for i in range(5000)]
                   + [f"user{i}@example.com" for i in range(5000)])
    yield
    exits.known.clear()
    exits.known.update(saved)


LINES = {
    "counter": lambda i: f"{i}",
    "id-city": lambda i: f"{i} {['Paris', 'Lyon', 'Nice'][i % 3]}",
    "step-loss": lambda i: f"step {i} loss {i % 97 / 97:.4f}",
    "ids-in-row": lambda i: f"{3 * i}, {3 * i + 1}, {3 * i + 2}",
}


@pytest.mark.parametrize("form", list(LINES))
def test_ids_a_message_complete_nothing_and_are_held_little(warehouse_known: None,
                                                            form: str) -> None:
    """``print(i)`` of 10,000 ids a message: ``3031`` read as hex is ``'01'``, ``y7``'s digit a
    ``7``; a message none of whose tokens decode ends the encoding's runs, and a decoded piece
    with a letter ends its digits' runs. Held: messages some run may still complete (their
    output waits); main holds under 1% of them."""
    run, found, held = Run(), 0, 0
    for n in range(10_000):
        h, live = run.read_lines(output_lines("stream", {"text": LINES[form](n) + "\n"}), n)
        found += h is not None
        held += live is not None
    assert found == 0
    assert held < 500
