"""``make demo`` with PostgreSQL: run a command (JupyterLab) with a throwaway PostgreSQL server.

    python notebooks/pg_demo.py jupyter lab ...

Starts the same throwaway cluster the tests use (``tests/pg/pgserver.py``: 127.0.0.1, a free
port, a temporary data directory), copies its ``shop`` database for the demo, passes the DSN
to the command as ``JUPYTER_GUARD_DEMO_PG`` (``postgres.ipynb`` reads it), and stops the server
when the command exits.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    from tests.pg.pgserver import start

    try:
        server = start()
    except Exception as e:  # no server: the DuckDB demo still runs; postgres.ipynb says why
        print(f"PostgreSQL demo server did not start ({e}); postgres.ipynb will say so",
              file=sys.stderr)
        return subprocess.call(argv)
    try:
        env = {**os.environ, "JUPYTER_GUARD_DEMO_PG": server.dsn(server.fresh())}
        return subprocess.call(argv, env=env)
    finally:
        server.stop()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
