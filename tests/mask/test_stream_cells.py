"""What the stream masker holds back reaches the notebook with its own cell, before the cell's
reply and idle status, masked as a whole run, whatever the cell before it left behind.

A cell that ends with a flush right after an encoded run of values (the run's end emitted, the
run still "open" for a continuation) used to leave that state to the next cell: a run the next
cell wrote was taken for the continuation of one already masked, and shown as nothing at all
(not even the marker), benign base64 included. Real kernel; every message up to idle is read."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel, Reply, guarded_kernel

pytestmark = pytest.mark.kernel

MARKER = "[encoded sensitive values masked]"
SETUP = (
    "import base64, sys\n"
    "emails = ', '.join(f'user{i}@example.com' for i in range(400))\n"
    "b64 = base64.b64encode(emails.encode()).decode()\n"   # ~10.7 KB: one run, one line
    "plain = base64.b64encode(', '.join(['Paris', 'Lyon', 'Nice'] * 300).encode()).decode()\n"
    "short = base64.b64encode(b'jane.doe@example.com').decode()")
FLUSHED = "sys.{0}.write(b64[:600]); sys.{0}.flush()"
"""The cell before: a run of values, flushed (the flush emits it all, masked, the run open)."""


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "stream_cells"
    d.mkdir()
    with guarded_kernel(d) as kernel:
        kernel.ok(SETUP)
        yield kernel


def streamed(r: Reply, name: str = "stdout") -> str:
    """The text of the cell's stream messages, in order (those that came before idle)."""
    return "".join(m["content"]["text"] for m in r.messages
                   if m["msg_type"] == "stream" and m["content"]["name"] == name)


def _no_raw(r: Reply) -> None:
    sent = json.dumps([m["content"] for m in r.messages if m["msg_type"] != "execute_input"])
    assert "dXNlcj" not in sent and "@example.com" not in sent, sent[:300]


SENSITIVE = [
    pytest.param("sys.{0}.write(b64)", id="one-write"),
    pytest.param("print(b64, file=sys.{0})", id="print"),
    pytest.param("for i in range(0, len(b64), 5):\n    sys.{0}.write(b64[i:i + 5])",
                 id="5-character-pieces"),
    pytest.param("for i in range(0, len(b64), 1024):\n    sys.{0}.write(b64[i:i + 1024])",
                 id="1-KB-pieces"),
    pytest.param("sys.{0}.write(short)", id="short-run-held"),
]


@pytest.mark.parametrize("name", ["stdout", "stderr"])
@pytest.mark.parametrize("code", SENSITIVE)
def test_a_run_of_values_after_a_flushed_run_shows_the_marker(k: Kernel, code: str,
                                                               name: str) -> None:
    _no_raw(k.ok(FLUSHED.format(name)))
    r = k.ok(code.format(name))
    _no_raw(r)
    assert MARKER in streamed(r, name), r.messages   # masked, before idle: not dropped


BENIGN = [
    pytest.param("_ = sys.stdout.write(plain)", "{plain}", id="one-write"),
    pytest.param("print(plain)", "{plain}\n", id="print"),
    pytest.param("for i in range(0, len(plain), 5):\n    sys.stdout.write(plain[i:i + 5])",
                 "{plain}", id="5-character-pieces"),
    pytest.param("sys.stdout.write('a partial line, no newline')", "a partial line, no newline",
                 id="partial-line"),
    pytest.param("sys.stdout.write('x' * 10_000)", "x" * 10_000, id="10-KB-line"),
]


@pytest.mark.parametrize(("code", "expected"), BENIGN)
def test_plain_output_after_a_flushed_run_arrives_whole_before_idle(k: Kernel, code: str,
                                                                    expected: str) -> None:
    k.ok(FLUSHED.format("stdout"))
    plain = k.ok("print(plain)").stream.rstrip("\n")
    r = k.ok(code)
    assert streamed(r) == expected.format(plain=plain)


def test_held_output_comes_before_the_reply_after_an_error(k: Kernel) -> None:
    """A cell that fails after writing a partial line: the line still comes with the cell."""
    r = k.run("sys.stdout.write('before the error ' + 'y' * 6000)\nraise ValueError('boom')")
    assert r.status == "error"
    assert streamed(r) == "before the error " + "y" * 6000


def test_held_output_of_a_stream_put_aside_comes_before_the_reply(k: Kernel) -> None:
    """A cell that puts ``sys.stdout`` aside after writing a partial line to it: the kernel does
    not flush that stream after the cell, the masker does (the line comes with its cell)."""
    r = k.ok("import io\n_out, sys.stdout = sys.stdout, io.StringIO()\n"
             "_ = _out.write('put aside, no newline')")
    k.ok("sys.stdout = _out")
    assert streamed(r) == "put aside, no newline"
