"""Cost of reading every message the kernel sends as one joined stream (``sent_pieces``: comm
and widget messages too, not only output), before and after, in real kernels: a plain kernel,
one guarded by this tree and one guarded by ``--before REF`` (default ``main``), cells
interleaved under the same load (``bench_stream.paired``), with 20,000 values known (a fetch of
SSNs and e-mails): 1,000 ``comm.send`` of a progress dict of numbers, 1,000 ``IntSlider``
moves (widget state updates), 1,000 ``display`` calls of numbers.

    .venv/bin/python benchmarks/bench_chan19.py [--repeat 5] [--before main] [--json]
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_stream import KNOWN_SETUP, ab_main, interleaved  # noqa: E402

SETUP = KNOWN_SETUP + """
import ipywidgets
from comm import create_comm
"""
CELLS = {
    "1,000 comm messages": "c = create_comm(target_name='bench')\n"
                           "for i in range(1000):\n    c.send({'done': i, 'of': 1000})",
    "1,000 IntSlider moves": "s = ipywidgets.IntSlider(max=1000)\n"
                             "for i in range(1, 1001):\n    s.value = i",
    "1,000 displays of numbers": "for i in range(1000):\n    display(i)",
}


def main() -> None:
    ab_main(__doc__ or "", lambda repeat, before: interleaved(CELLS, repeat, SETUP, before))


if __name__ == "__main__":
    main()
