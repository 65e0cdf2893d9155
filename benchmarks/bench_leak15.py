"""Cost of leak15's readings, in CPU time of this thread (best of 7), in process:

- ``encoded85.loose`` (base85/Ascii85 runs with too few rare characters, read where an e-mail
  is known) on 1.5 MB of the exits' plain corpus as CSV and on 1.2 MB of Python source (dense
  with runs that hold ``(``, ``=``, ``;``);
- ``digit_lines.Tail`` (a stream's one-character lines held and read joined) on 1 MB of CSV
  lines and on 1 MB of one digit a line, in 4 KB pieces, with 10,000 SSNs known; and on 1 MB
  of one digit a line with a word line between each two (lines15: the run holds one other line),
  and 20,000 prints alternating a digit line and a short line (SSNs and e-mails known); and
  20,000 digit lines alternating over two streams' tails of one order (streams15: the lines of
  both are read together), none a known value, beside the same two tails read apart;
- ``respelt.respelt`` (the spellings read where an e-mail is known; lines15 added e-mails cut
  over lines, interleaved, UTF-16 reprs) on the CSV lines, on 1 MB of one word a line and on
  1.2 MB of Python source, with 10,000 e-mails known; ``mask_text`` of a column of 10,000
  e-mails one a line (lines15 reads the lines around an '@' line beside one without).

To compare with the code before a change, run it with ``PYTHONPATH`` naming the older checkout.

    .venv/bin/python benchmarks/bench_leak15.py
"""
from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))   # after PYTHONPATH: it may name another

from thread_cpu import cpu, through  # the folder is not a package

from jupyter_guard.hooks import encoded85, exits, respelt
from jupyter_guard.hooks.digit_lines import Order, Tail
from jupyter_guard.mask import text as mask_text_module
from jupyter_guard.mask.text import MaskSettings, mask_text
from tests.enforce.test_exit_false_positives import corpus


def _through(data: str, piece: int = 4096) -> None:
    through(Tail(), data, piece)


def _each(pieces: list[str]) -> None:
    tail = Tail()
    for p in pieces:
        tail.take(p)
    tail.take("", end=True)


def _two(pieces: list[str], apart: bool = False) -> None:
    order = Order()
    tails = (Tail(), Tail()) if apart else (Tail(order), Tail(order))
    for i, p in enumerate(pieces):
        tails[i % 2].take(p)
    for t in tails:
        t.take("", end=True)


def main() -> None:
    values = corpus()
    csv = "\n".join(",".join(values[i:i + 6]) for i in range(0, len(values), 6))
    code = (Path(exits.__file__).read_text() * 60)
    print(f"encoded85.loose: {len(csv) / 1e6:.2f} MB corpus CSV {cpu(lambda: encoded85.loose(csv)):.1f}"
          f" ms CPU; {len(code) / 1e6:.2f} MB Python source "
          f"{cpu(lambda: encoded85.loose(code)):.1f} ms")
    exits.remember([f"{100000000 + n:09d}" for n in range(10000)])
    rng = random.Random(3)
    lines = "".join(f"{i},{rng.uniform(0, 1e5):.2f},user{i}@example.com,Paris\n"
                    for i in range(25_000))
    digits = "".join(f"{rng.randint(0, 9)}\n" for _ in range(500_000))
    print(f"digit_lines.Tail, 4 KB pieces, 10,000 SSNs known: {len(lines) / 1e6:.2f} MB CSV lines "
          f"{cpu(lambda: _through(lines)):.1f} ms CPU; {len(digits) / 1e6:.2f} MB of one digit a "
          f"line {cpu(lambda: _through(digits), 3):.0f} ms")
    between = "".join(f"{rng.randint(0, 9)}\nstep {i}\n" for i in range(125_000))
    print(f"digit_lines.Tail, a word line between digit lines: {len(between) / 1e6:.2f} MB "
          f"{cpu(lambda: _through(between), 3):.0f} ms CPU")
    exits.remember([f"first.last{i}@corp.example" for i in range(10_000)])
    prints = [p for i in range(10_000) for p in (f"{i % 10}\n", f"step {i} of 10000\n")]
    print(f"digit_lines.Tail, 20,000 prints alternating a digit line and a short line, SSNs and "
          f"e-mails known: {cpu(lambda: _each(prints), 3):.0f} ms CPU")
    two = [f"{rng.randint(0, 9)}\n" for _ in range(20_000)]
    print(f"digit_lines.Tail, 20,000 digit lines alternating over two streams, SSNs and e-mails "
          f"known: {cpu(lambda: _two(two), 3):.0f} ms CPU; each stream read apart (as before "
          f"streams15) {cpu(lambda: _two(two, apart=True), 3):.0f} ms")
    mask_text_module.KNOWN.extend([exits.known_spans, exits.grouped_spans])   # (as the kernel)
    words = "".join(f"{w}\n" for w in code.split())[:1_000_000]
    domains = exits.email_domains
    print(f"respelt.respelt, 10,000 e-mails known: {len(lines) / 1e6:.2f} MB CSV lines "
          f"{cpu(lambda: respelt.respelt(lines, domains)):.1f} ms CPU; {len(words) / 1e6:.2f} MB "
          f"one word a line {cpu(lambda: respelt.respelt(words, domains)):.1f} ms; "
          f"{len(code) / 1e6:.2f} MB Python source {cpu(lambda: respelt.respelt(code, domains)):.1f}"
          " ms")
    column = "email\n" + "\n".join(f"first.last{i}@corp.example" for i in range(10_000)) + "\n"
    other = column.replace("first.last", "someone").replace("corp.", "other.")
    settings = MaskSettings()
    print(f"mask_text of a column of e-mails one a line, 10,000 known: {len(column) / 1e6:.2f} MB "
          f"{cpu(lambda: mask_text(column, settings)):.1f} ms CPU; of 10,000 others "
          f"{cpu(lambda: mask_text(other, settings)):.1f} ms")


if __name__ == "__main__":
    main()
