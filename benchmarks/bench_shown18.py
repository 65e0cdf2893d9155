"""Cost of reading every output message as one joined stream (``sent_pieces``) on plain work,
before and after, in real kernels: a plain kernel, one guarded by this tree and one guarded by
``--before REF`` (default ``main``), cells interleaved under the same load
(``bench_stream.paired``), with 20,000 values known (a fetch of SSNs and e-mails): a
10,000-line ``print``, 1,000 ``display`` calls of numbers (pieces: each may begin a known SSN),
1,000 displays of words, 1,000 ``update_display`` of a progress line.

    .venv/bin/python benchmarks/bench_shown18.py [--repeat 7] [--before main] [--json]
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_stream import KNOWN_SETUP, ab_main, interleaved  # noqa: E402

SETUP = KNOWN_SETUP + """
from IPython.display import update_display
"""
CELLS = {
    "print of 10,000 lines": "for i in range(10_000):\n    print(f'row {i}: amount {i * 1.25:.2f}')",
    "1,000 displays of numbers": "for i in range(1000):\n    display(i)",
    "1,000 displays of words": "for i in range(1000):\n    display(f'item number {i}')",
    "1,000 update_display": "display('0%', display_id='b')\nfor i in range(1000):\n"
                            "    update_display(f'{i // 10}%', display_id='b')",
}


def main() -> None:
    ab_main(__doc__ or "", lambda repeat, before: interleaved(CELLS, repeat, SETUP, before))

if __name__ == "__main__":
    main()
