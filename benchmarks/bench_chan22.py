"""Cost of reading encoded pieces, pieces with their index and decoys in the joined stream
(``hooks/pieces_decoded.py``, ``hooks/pieces_order.py``), before and after, in real kernels: a
plain kernel, one guarded by this tree and one guarded by ``--before REF`` (default ``main``),
cells interleaved under the same load (``bench_stream.paired``), with 20,000 values known: a
1,000-line ``print``, 1,000 ``comm.send`` of a progress dict, 1,000 lines of hex digests,
ten prints of a 5,000-entry dict of ids and cities.

    .venv/bin/python benchmarks/bench_chan22.py [--repeat 5] [--before main] [--json]
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_stream import KNOWN_SETUP, ab_main, interleaved  # noqa: E402

SETUP = KNOWN_SETUP + """
import hashlib
from comm import create_comm
"""
CELLS = {
    "1,000-line print": "for i in range(1000):\n    print('row', i, 'of', 1000, 'ok')",
    "1,000 comm messages": "c = create_comm(target_name='bench')\n"
                           "for i in range(1000):\n    c.send({'done': i, 'of': 1000})",
    "1,000 lines of hex": "for i in range(1000):\n"
                          "    print(i, hashlib.md5(str(i).encode()).hexdigest()[:8])",
    "10 prints of a 5,000-entry dict": "d = dict(zip(range(5000), ['Paris', 'Lyon', 'Nice'] * 1667))"
                                       "\nfor _ in range(10):\n    print(d)",
}


def main() -> None:
    ab_main(__doc__ or "", lambda repeat, before: interleaved(CELLS, repeat, SETUP, before))


if __name__ == "__main__":
    main()
