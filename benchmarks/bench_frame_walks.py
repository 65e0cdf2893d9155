"""Cost of the frame-walk refusals (``hooks/frame_walks.py``): a plain cell and a 10,000-row
DuckDB fetch, in a plain kernel and in guarded kernels of a git revision (``--before``) and of
this checkout, run side by side as ``bench_kernel_ab.py`` does.

    .venv/bin/python benchmarks/bench_frame_walks.py --before main [--rounds 9] [--batch 10]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_kernel_ab import compare, report  # the folder is not a package

SETUP = "import duckdb\ncon = duckdb.connect()"
CELLS = {"plain cell (x = 1)": "x = 1",
         "10,000-row fetch": "rows = con.execute('SELECT range AS i, range * 2 AS j "
                             "FROM range(10000)').fetchall()"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="git revision to compare against")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--batch", type=int, default=10, help="cells per kernel per round")
    args = ap.parse_args()
    res = compare(args.before, "", args.rounds, args.batch, CELLS, SETUP)
    report(res, args.before, "", args.rounds, args.batch)


if __name__ == "__main__":
    main()
