"""Cost of red15f's readings, in CPU time of this thread (best of 7), in process, with 10,000
SSNs known:

- ``digit_lines.Tail`` (now with ``cipher_digits.Lines``: lines of one word of a known number's
  shape held and read joined) on 1 MB of CSV lines and on 1 MB of words of 7-19 letters one a
  line (Python's own sources), in 4 KB pieces;
- ``exit_budget.known_sent`` (what a send to an allowed host counts: now also URL-decoded,
  base64/hex runs decoded) on 1 MB of plain CSV in 64 KB sends;
- what a socket's send to an allowed host costs looking for a compressed stream
  (``exit_follow.inflated`` with no stream under way: since red15h ``Inflating.found`` and
  ``Inflating.joined``, with the zip headers and raw deflate guesses; before it
  ``Inflating.start``, then ``Inflating.across`` where it exists) on 1 MB of random binary in
  64 KB sends (random bytes hold a zlib header every 16 KB or so, each tried on 64 bytes);
- the whole budget check of a socket's send to an allowed host (``exit_socket._spend``: the
  known values it completes and the compressed streams it starts or goes on, with red15h's
  raw-deflate guesses, zip members and several streams per socket) on the same 1 MB of random
  binary in 64 KB sends, and on a gzip upload of plain CSV (a stream under way: each send
  is also looked at for new streams) in 64 KB sends.

To compare with the code before a change, run it with ``PYTHONPATH`` naming the older checkout
(``git archive <commit> | tar -x -C /tmp/base``).

    .venv/bin/python benchmarks/bench_red15f.py
"""
from __future__ import annotations

import inspect
import random
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))   # after PYTHONPATH: it may name another

from jupyter_guard.hooks import exit_budget, exit_bytes, exits

try:
    from jupyter_guard.hooks import exit_inflate
except ImportError:   # before red15h the stream readers lived in ``exit_bytes``
    exit_inflate = exit_bytes  # type: ignore[misc]
from thread_cpu import cpu, through  # the folder is not a package

from jupyter_guard.hooks.digit_lines import Tail


def _through(data: str, piece: int = 4096) -> None:
    through(Tail(), data, piece)


def _sends(data: bytes, piece: int = 1 << 16) -> None:
    before = b""
    for i in range(0, len(data), piece):
        chunk = data[i:i + piece]
        exit_budget.known_sent(before + chunk)
        before = (before + chunk)[-256:]


def _looked_for(data: bytes, piece: int = 1 << 16) -> None:
    found = getattr(exit_inflate.Inflating, "found", None)   # red15h: every start, guesses too
    across = getattr(exit_inflate.Inflating, "across", None)   # absent before red15g
    prev = b""
    for i in range(0, len(data), piece):
        chunk = data[i:i + piece]
        if found is not None:
            started = found(chunk) + exit_inflate.Inflating.joined(prev, chunk)
            assert not any(out for _, out in started), "random bytes inflated"
        else:
            one = exit_inflate.Inflating.start(chunk) or (across and across(prev[-9:], chunk))
            assert not one or not one[1], "random bytes inflated"
        prev = chunk[-256:]


def _spent(sends: list[bytes]) -> None:
    """``exit_socket._spend`` over ``sends`` on one socket to an allowed host, a budget set."""
    from types import SimpleNamespace

    from jupyter_guard.hooks import exit_socket

    policy = SimpleNamespace(max_values_per_cell=1, max_values_per_session=1)
    rt = SimpleNamespace(guard=SimpleNamespace(policy=policy))

    class Sock:
        pass
    sock, entry = Sock(), ["127.0.0.1", b"", 0]
    for chunk in sends:
        exit_socket._spend(rt, sock, entry, chunk, "bench")


def main() -> None:
    import argparse
    import logging

    exits.remember([f"{100000000 + 7919 * n:09d}" for n in range(10000)])
    rng = random.Random(3)
    lines = "".join(f"{i},{rng.uniform(0, 1e5):.2f},PRD-{i:06d},Paris\n" for i in range(28_000))
    words = [w for m in (argparse, logging) for w in inspect.getsource(m).split()
             if w.isalpha() and 7 <= len(w) <= 19]
    one = ("\n".join(words * 40) + "\n")[:1 << 20]
    one = one[:one.rfind("\n") + 1]
    print(f"digit_lines.Tail, 4 KB pieces: {len(lines) / 1e6:.2f} MB CSV lines "
          f"{cpu(lambda: _through(lines)):.1f} ms CPU; {len(one) / 1e6:.2f} MB of one word a "
          f"line {cpu(lambda: _through(one)):.1f} ms")
    data = lines.encode()
    print(f"exit_budget.known_sent, 64 KB sends: {len(data) / 1e6:.2f} MB CSV "
          f"{cpu(lambda: _sends(data)):.1f} ms CPU")
    noise = random.Random(15).randbytes(1 << 20)
    print(f"stream search, 64 KB sends: 1.05 MB random binary "
          f"{cpu(lambda: _looked_for(noise)):.2f} ms CPU")
    sends = [noise[i:i + (1 << 16)] for i in range(0, len(noise), 1 << 16)]
    print(f"socket send to an allowed host (exit_socket._spend), 64 KB sends: 1.05 MB random "
          f"binary {cpu(lambda: _spent(sends)):.1f} ms CPU")
    import gzip

    packed = gzip.compress(data)
    parts = [packed[i:i + (1 << 16)] for i in range(0, len(packed), 1 << 16)]
    print(f"socket send to an allowed host, 64 KB sends: gzip of {len(data) / 1e6:.2f} MB CSV "
          f"({len(packed) / 1e6:.2f} MB) {cpu(lambda: _spent(parts)):.1f} ms CPU")


if __name__ == "__main__":
    main()
