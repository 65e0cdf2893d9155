"""Small writes without a newline are held by the stream masker without asking for the masking
settings each time (``streams.masked_write``), in a window of ``streams.WINDOW`` characters; what
they add up to reaches the notebook masked, whole, and in order. A user whose role may unmask and
who turned unmasking on still gets every write as it was written, at once. Real kernels; every
message up to idle is read."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_guard.kernel.streams import WINDOW
from tests.kernelutil import Kernel, Reply, guarded_kernel

pytestmark = pytest.mark.kernel

SETUP = (
    "import sys\n"
    "rows = ''.join(f'order {i} paid by user{i}@example.com ssn 123-45-{1000 + i} ' "
    "for i in range(3000))\n"   # ~150 KB on one line: more than two windows, values throughout
    "prose = ' '.join(['the order was shipped on time'] * 6000)")
POLICY = """\
version: 1
extends: default
roles:
  governance: {users: [gina], may_unmask: true}
"""


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "stream_held_writes"
    d.mkdir()
    with guarded_kernel(d) as kernel:
        kernel.ok(SETUP)
        yield kernel


RAW = re.compile(r"user\d+@|123-45-")
"""A value as it was (the default strategy keeps an e-mail's domain and an SSN's last four)."""


def _sent(r: Reply) -> str:
    return json.dumps([m["content"] for m in r.messages if m["msg_type"] != "execute_input"])


@pytest.mark.parametrize("size", [1, 7, 1024, 5000])
def test_values_written_in_pieces_are_masked_whole(k: Kernel, size: int) -> None:
    assert len(k.ok("print(len(rows))").stream.strip()) and WINDOW < 150_000
    code = f"for i in range(0, len(rows), {size}):\n    sys.stdout.write(rows[i:i + {size}])"
    r = k.ok(code)
    sent = _sent(r)
    assert not RAW.search(sent), sent[:300]
    out = r.stream
    assert out.count("order ") == 3000 and out.startswith("order 0 paid by ")
    assert out.count("ssn ") == 3000   # every value masked where it was, nothing dropped


def test_benign_pieces_come_through_unchanged(k: Kernel) -> None:
    r = k.ok("for i in range(0, len(prose), 1024):\n    sys.stdout.write(prose[i:i + 1024])")
    assert r.stream == k.ok("print(prose, end='')").stream
    assert r.stream == " ".join(["the order was shipped on time"] * 6000)


def test_an_unmasked_user_gets_each_write_at_once(work_root: Path) -> None:
    d = work_root / "stream_held_writes_unmasked"
    d.mkdir()
    with guarded_kernel(d, {"JUPYTER_GUARD_USER": "gina"}, policy=POLICY) as kernel:
        kernel.ok(SETUP)
        masked = kernel.ok("sys.stdout.write(rows[:300]); sys.stdout.flush()")
        assert not RAW.search(_sent(masked))
        assert "unmasking on" in kernel.ok("%guard unmask on").text
        # a partial line flushed: an unmasked user sees it now, not HOLD characters later
        r = kernel.ok("sys.stdout.write('user7@example.com'); sys.stdout.flush()\n"
                      "sys.stdout.write(' and user8@example.com')")
        assert r.stream == "user7@example.com and user8@example.com"
        pieces = [m["content"]["text"] for m in r.messages if m["msg_type"] == "stream"]
        assert pieces[0] == "user7@example.com", pieces   # sent at the flush, not at the end
        off = kernel.ok("%guard unmask off\nsys.stdout.write(rows[:300])")
        assert not RAW.search(_sent(off))
