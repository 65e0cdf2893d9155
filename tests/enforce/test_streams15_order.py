"""A known number printed one character a line over two streams (issue 15, streams15): its
digits alternate between ``sys.stdout`` and ``sys.stderr`` (flushed or not), so each stream alone
holds no known number, while a reader joining the stream messages in order reads it. The
kernel's streams log their lines of one character in one order (``digit_lines.Order``): such a
number is masked before it leaves. Judged by effect: every message of the cell, read back the
ways ``test_red15c_corpus.recover`` reads them (the lines joined, each stream's lines in turn).
Neighbours: ``print`` beside ``sys.__stdout__``, beside ``display()``, and two threads' prints.
Benign twins: a progress counter on stderr beside results on stdout prints unchanged, with no
value known and with known values it does not spell."""
from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import zip_longest
from pathlib import Path

import pytest

from tests.enforce.test_red15c_corpus import RAW, SETUP, raw_in, run_wire
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

ALTERNATE = ("import sys\nfor i, c in enumerate(S[{n}]):\n"
             "    print(c, file=sys.stderr if i % 2 else sys.stdout{flush})")

LEAKS = {
    "stdout-stderr-flushed": ALTERNATE.format(n=20, flush=", flush=True"),
    "stdout-stderr-unflushed": ALTERNATE.format(n=21, flush=""),
    "stderr-first": ("import sys\nfor i, c in enumerate(S[22]):\n"
                     "    print(c, file=sys.stdout if i % 2 else sys.stderr, flush=i % 3 == 0)"),
    "with-dashes": ("import sys\nfor i, c in enumerate(S[23][:3] + '-' + S[23][3:5] + '-' "
                    "+ S[23][5:]):\n    print(c, file=(sys.stdout, sys.stderr)[i % 2])"),
    "two-then-one": ("import sys\nfor i, c in enumerate(S[24]):\n"
                     "    print(c, file=sys.stderr if i % 3 == 2 else sys.stdout)"),
    "threads": ("import threading\ns = S[25]\nev = [threading.Event() for _ in s] + "
                "[threading.Event()]\nev[0].set()\ndef run(k):\n"
                "    for i in range(k, len(s), 2):\n        ev[i].wait()\n"
                "        print(s[i], flush=True)\n        ev[i + 1].set()\n"
                "ts = [threading.Thread(target=run, args=(k,)) for k in (0, 1)]\n"
                "[t.start() for t in ts]\n[t.join() for t in ts]"),
}

NEIGHBOURS = {   # tried and reported: other channels than the two masked streams
    "print-and-dunder-stdout": ("import sys\nfor i, c in enumerate(S[26]):\n"
                                "    (sys.__stdout__.write(c + '\\n'), sys.__stdout__.flush())"
                                " if i % 2 else print(c, flush=True)"),
    "print-and-display": ("for i, c in enumerate(S[27]):\n"
                          "    display(c) if i % 2 else print(c, flush=True)"),
}


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    with guarded_kernel(tmp_path_factory.mktemp("streams15"), warehouse=200,
                        connect=True) as k:
        k.ok(SETUP)
        yield k


def _streams(wire: bytes) -> dict[str, str]:
    """Each stream's text, its messages joined in order."""
    seen = json.loads(wire.split(b"\n", 1)[0])
    out: dict[str, str] = {}
    for m in seen:
        if isinstance(m, list) and m[0] == "stream":
            out[m[1]["name"]] = out.get(m[1]["name"], "") + m[1]["text"]
    return out


def _in_order(wire: bytes) -> list[str]:
    """Raw values a reader finds joining the lines of one character of every stream message
    and every one-character display (its quotes dropped): in the order the messages came, and
    two channels' taken in turn, either first (a channel held back shows later)."""
    seen = json.loads(wire.split(b"\n", 1)[0])
    chars: list[str] = []
    by: dict[str, list[str]] = {}
    for m in seen:
        if not isinstance(m, list):
            continue
        if m[0] == "stream":
            lines, name = m[1]["text"].split("\n"), m[1]["name"]
        elif m[0] in ("display_data", "execute_result"):
            lines, name = [m[1]["data"].get("text/plain", "").strip("'\"")], "display"
        else:
            continue
        ones = [ln.strip() for ln in lines if len(ln.strip()) == 1]
        chars += ones
        by.setdefault(name, []).extend(ones)
    texts = ["".join(chars)] + ["".join(a + b for a, b in zip_longest(x, y, fillvalue=""))
                                for x in by.values() for y in by.values() if x is not y]
    return [v for v in RAW if any(v in t for t in texts)]


def _leaked(wire: bytes) -> list[str]:
    return raw_in([wire]) + _in_order(wire)


@pytest.mark.parametrize("name", list(LEAKS))
def test_digits_over_streams_leave_masked(kernel: Kernel, name: str) -> None:
    ok, wire = run_wire(kernel, LEAKS[name])
    assert ok, wire[:2000]
    assert not _leaked(wire), f"{name}: {_leaked(wire)[:3]}\n{wire[:2000]!r}"
    assert "\u2588" in "".join(_streams(wire).values()), wire[:2000]   # masked, not dropped


def test_dunder_stdout_reaches_no_message(kernel: Kernel) -> None:
    """``sys.__stdout__`` is the kernel process's own stream (the server's log, not the
    frontend): the digits written there are in no message, those printed are masked."""
    ok, wire = run_wire(kernel, NEIGHBOURS["print-and-dunder-stdout"])
    assert ok, wire[:2000]
    assert not _leaked(wire), f"{_leaked(wire)[:3]}\n{wire[:2000]!r}"


def test_digits_over_print_and_display(kernel: Kernel) -> None:
    """Displays are read in one order with the streams (``shown_order``): more spellings in
    ``test_leaks17_shown``."""
    ok, wire = run_wire(kernel, NEIGHBOURS["print-and-display"])
    assert ok, wire[:2000]
    assert not _leaked(wire), f"{_leaked(wire)[:3]}\n{wire[:2000]!r}"


COUNTER = ("import sys\nfor i in range(10):\n    print(i, file=sys.stderr, flush=True)\n"
           "    print(f'result {{i}}: {{i * i}}') if i % 3 == 0 else None\n"
           "for c in {word!r}:\n    print(c)\n    print(c, file=sys.stderr)\n")
EXPECT_ERR = "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n"
EXPECT_OUT = "result 0: 0\nresult 3: 9\nresult 6: 36\nresult 9: 81\n"


@pytest.mark.parametrize("known", [False, True])
def test_progress_counter_prints_unchanged(tmp_path: Path, known: bool) -> None:
    word = "123456789"   # no known value (the warehouse's SSNs are 1000000NN)
    with guarded_kernel(tmp_path, warehouse=200 if known else 0, connect=known) as k:
        if known:
            k.ok(SETUP)
        ok, wire = run_wire(k, COUNTER.format(word=word))
    assert ok, wire[:2000]
    got = _streams(wire)
    assert got.get("stderr") == EXPECT_ERR + "".join(c + "\n" for c in word), got
    assert got.get("stdout") == EXPECT_OUT + "".join(c + "\n" for c in word), got
    assert not any(v in wire.decode() for v in RAW)
