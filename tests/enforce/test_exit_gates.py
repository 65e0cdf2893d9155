"""The cheap tests that let a plain write skip the exits' costly passes decide exactly as the
passes would: a text the known-value gate stops holds no known value (the automaton, run anyway,
agrees on every text of a corpus: plain CSV, values standing alone, glued, in other shapes); a
text the encoded-run gate stops has no base64 run and no separated hex bytes; a write of text
only is no copy of a database file's pages, while a slice of its bytes still is. Each attack
spelling is found with the gates in place."""
from __future__ import annotations

import random
import sqlite3
from base64 import a85encode
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_guard.hooks import encoded, encoded85, exit_dbcopy, exits, known_match
from jupyter_guard.hooks.known_gate import Gate
from jupyter_guard.mask.text import MaskSettings

S = MaskSettings()
SSNS = [f"{100000000 + i * 7919}" for i in range(300)]
EMAILS = [f"user{i}@example.com" for i in range(300)]


@pytest.fixture()
def known() -> Iterator[None]:
    saved = set(exits.known)
    exits.known.clear()
    exits.remember(SSNS + EMAILS + ["123-45-6789", "555-867-5309"])
    yield
    exits.known.clear()
    exits.known.update(saved)


def _csv(rows: int, seed: int) -> str:
    rnd = random.Random(seed)
    return "".join(f"{i},{rnd.randint(0, 999)},{i * 1.25},PRD-{i:06d},2026-01-01 00:{i % 60:02d}:00\n"
                   for i in range(rows))


def _corpus() -> list[str]:
    base = _csv(3000, 1)
    out = [base, base.replace(",", ", "), base.replace(",", ";")]
    for value in (SSNS[7], EMAILS[9], "123-45-6789", f"{int(SSNS[3]):,}", SSNS[5][::-1]):
        for where in (0, len(base) // 2, len(base) - 1):
            out.append(base[:where] + value + base[where:])              # glued to the rows
            out.append(base[:where] + f",{value}," + base[where:])       # standing alone
    out.append(base + "".join(SSNS[:4]))                                 # written end to end
    out.append(base + "x" + EMAILS[3][::-1] + "y")
    return out


def test_the_known_gate_stops_only_texts_the_automaton_finds_nothing_in(known: None) -> None:
    m = exits._MATCH
    m._sync()
    assert not m.gate.off and m.gate.shapes   # the gate is on for these values
    stopped = 0
    for text in _corpus():
        with_gate = (m.find(text), m.glued(text), m.anywhere(text))
        gate, m.gate = m.gate, Gate(known_match._rank)
        m.gate.off = True   # the automaton alone
        try:
            without = (m.find(text), m.glued(text), m.anywhere(text))
        finally:
            m.gate = gate
        assert with_gate == without
        stopped += not gate.may_hit(text)
    assert stopped >= 1   # the plain texts were stopped by the gate (it saves a pass)


@pytest.mark.parametrize("spelling", [SSNS[11], EMAILS[12], "123-45-6789", f"{int(SSNS[2]):,}",
                                      EMAILS[4][::-1], SSNS[20] + SSNS[21]])
def test_known_values_in_a_long_plain_text_are_found_through_the_gate(known: None,
                                                                       spelling: str) -> None:
    text = _csv(2000, 2)
    assert exits.scan(text, S, decode=True) == ""   # the plain twin passes
    assert exits.scan(text[:30_000] + f" {spelling}\n" + text[30_000:], S, decode=True)


def _ungated(text: str) -> list[object]:
    """What ``separated`` and ``runs`` find with the gates open (their own numpy and RE2
    searches alone)."""
    saved = dict(encoded._gates)
    encoded._gates.update({True: None, False: None})
    try:
        return [*encoded.separated(text), *encoded.runs(text)]
    finally:
        encoded._gates.clear()
        encoded._gates.update(saved)


def test_the_encoded_gates_stop_no_text_with_a_run() -> None:
    rnd = random.Random(3)
    seps = [":", " ", ", ", "0x", ", 0x", "\\x", "-", "' '", "|", ".", "x", "\n", ";", "::"]
    found = 0
    for _ in range(3000):
        sep = rnd.choice(seps)
        parts = []
        for _ in range(rnd.randint(5, 14)):
            parts.append("".join(rnd.choice("0123456789abcdefAF")
                                 for _ in range(rnd.choice([1, 2, 2, 2, 2, 3]))))
            parts.append(sep if rnd.random() < 0.9 else rnd.choice(seps))
        text = "z " * 600 + rnd.choice(["", "0", "q", "0x"]) + "".join(parts)
        runs = _ungated(text)
        found += bool(runs)
        assert encoded.may_hold(text) or not runs
        assert [*encoded.separated(text), *encoded.runs(text)] == runs
    assert found > 50   # the corpus holds runs for the gate to let through


def test_the_encoded_gate_lets_through_every_text_the_ascii85_filter_reads() -> None:
    rnd = random.Random(5)
    pool = list("abc ;,.()!?#$%&*^`\u00e9\u0101\ud800xyz019\n")
    read = 0
    for _ in range(5000):
        text = "q " * rnd.randint(0, 600) + "".join(rnd.choice(pool)
                                                     for _ in range(rnd.randint(0, 40)))
        raw = text.encode("latin-1", "replace")   # what encoded85 counts its rare characters in
        rare = len(raw) - len(raw.translate(None, encoded85.RARE))
        read += rare >= encoded85.MIN_RARE
        assert encoded.may_hold(text) or rare < encoded85.MIN_RARE
    assert read > 1000


@pytest.mark.parametrize("hidden", [b"user1@example.com,user2@example.com".hex(":"),
                                    a85encode(b"user1@example.com,user2@example.com").decode(),
                                    ", ".join(hex(b) for b in b"user1@example.com"),
                                    "dXNlcjFAZXhhbXBsZS5jb20sdXNlcjJAZXhhbXBsZS5jb20="])
def test_encoded_values_in_a_long_plain_text_are_found_through_the_gate(hidden: str) -> None:
    text = _csv(2000, 4)
    assert exits.scan(text, S, decode=True) == ""
    cut = text.index("\n", 20_000) + 1   # a line of its own (an Ascii85 run is cut by a space)
    assert exits.scan(text[:cut] + f"{hidden}\n" + text[cut:], S, decode=True)


@pytest.fixture()
def database(tmp_path: Path) -> Iterator[Path]:
    p = tmp_path / "src.sqlite"
    con = sqlite3.connect(p)
    con.execute("CREATE TABLE t (code TEXT, amount REAL, n INTEGER)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?)",
                    [(f"PRD-{i:06d}", i * 1.25, i * 7919) for i in range(20_000)])
    con.commit()
    con.close()
    saved = dict(exit_dbcopy.SOURCES)
    exit_dbcopy.SOURCES.clear()
    exit_dbcopy.SOURCES[str(p)] = None
    yield p
    exit_dbcopy.SOURCES.clear()
    exit_dbcopy.SOURCES.update(saved)


def test_text_writes_are_no_database_copy_and_its_pages_still_are(database: Path) -> None:
    data = database.read_bytes()
    assert exit_dbcopy.copied(_csv(500, 5), "out.csv") is None   # text: the one C pass decides
    assert exit_dbcopy.copied(data[4096:4096 + 8192], "out.bin") == str(database)
    pieces = [data[8192 + i * 100:8192 + (i + 1) * 100] for i in range(40)]   # small writes
    assert any(exit_dbcopy.copied(p, "pieces.bin") for p in pieces)
