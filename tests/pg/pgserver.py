"""A throwaway PostgreSQL cluster for tests: Debian's binaries, run as the ``postgres`` OS user,
on 127.0.0.1 and a free port, with a ``shop`` template database (10,000 customers, 50,000 orders).

Nothing here skips: a cluster that cannot start raises, and the tests that need it fail."""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

CUSTOMERS, ORDERS = 10_000, 50_000


def _bindir() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: apt-get install -y postgresql "
                           "(make test does it)")
    return os.path.dirname(found[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb refuses to run as root: run the server as the ``postgres`` OS user."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class PgServer:
    datadir: str
    port: int
    bindir: str

    def dsn(self, db: str = "shop", user: str = "postgres") -> str:
        """``user``: ``postgres`` (superuser) or ``analyst`` (owns nothing, may change the data)."""
        return f"host=127.0.0.1 port={self.port} user={user} dbname={db}"

    def url(self, db: str = "shop", driver: str = "psycopg") -> str:
        return f"postgresql+{driver}://postgres@127.0.0.1:{self.port}/{db}"

    def connect(self, db: str = "shop") -> object:
        """A raw psycopg connection the guard never sees (the tests' own look at the data)."""
        import psycopg

        from jupyter_guard.connections import unwrap

        return unwrap(psycopg.connect(self.dsn(db), autocommit=True))

    def query(self, sql: str, db: str = "shop") -> list[tuple[object, ...]]:
        """The tests' own statement, never judged: psycopg's cursor classes judge every
        connection once a guard is loaded in this process (``ip``), raw ones included, and the
        guard's marks (``Busy``, ``judged_on``) hold only for the guard's own frames. So it runs
        in a helper process of the tests' without the guard (``_Worker``: one per cluster,
        rows sent back pickled, their types kept)."""
        return _worker(self).run(self.dsn(db), sql)

    def fresh(self) -> str:
        """A new database copied from ``shop``; its name. The copy is made ahead, while the
        test before runs (``_Spare``), and is untouched until it is handed out."""
        return _spare(self).take()

    def drop(self, name: str) -> None:
        """Drop ``name`` (connections to it ended), in the spare maker's helper: queued before
        the next copy, so the test goes on while it is dropped."""
        _spare(self).drop(name)

    def stop(self) -> None:
        spare = _SPARES.pop(self.port, None)
        if spare is not None:
            spare.close()
        w = _WORKERS.pop(self.port, None)
        if w is not None and w.proc.stdin is not None:
            w.proc.stdin.close()   # the helper ends at the end of its input
            w.proc.wait(timeout=60)
        subprocess.run(_as_postgres([f"{self.bindir}/pg_ctl", "-D", self.datadir, "-m", "immediate",
                                     "stop"]), capture_output=True, timeout=120)
        shutil.rmtree(os.path.dirname(self.datadir), ignore_errors=True)


def start() -> PgServer:
    bindir = _bindir()
    root = tempfile.mkdtemp(prefix="jg-pg-", dir="/tmp")
    os.chmod(root, 0o755)
    datadir = os.path.join(root, "data")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")

    def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(_as_postgres(cmd), capture_output=True, text=True, timeout=180)

    r = run([f"{bindir}/initdb", "-D", datadir, "-U", "postgres", "--auth=trust", "-E", "UTF8",
             "--no-sync"])
    if r.returncode:
        raise RuntimeError(f"initdb failed: {r.stderr.strip()[-500:]}")
    for _ in range(5):  # another process may take the free port first: try again
        port = _free_port()
        opts = f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c full_page_writes=off"
        r = run([f"{bindir}/pg_ctl", "-D", datadir, "-o", opts, "-l", f"{root}/log", "-w", "-t",
                 "120", "start"])
        if r.returncode == 0:
            break
    else:
        raise RuntimeError(f"pg_ctl start failed: {r.stderr.strip()[-500:]}")
    server = PgServer(datadir, port, bindir)
    _wait(server)
    server.query("CREATE DATABASE shop", db="postgres")
    server.query(f"""
        CREATE TABLE customers (id int PRIMARY KEY, name text, email text, ssn text, city text);
        INSERT INTO customers SELECT g, 'name ' || g, 'user' || g || '@example.com',
            lpad((100000000 + g)::text, 9, '0'), (ARRAY['Paris','Lyon','Nice'])[1 + g % 3]
        FROM generate_series(1, {CUSTOMERS}) g;
        CREATE TABLE orders (id int PRIMARY KEY, customer_id int REFERENCES customers(id),
                             amount numeric);
        INSERT INTO orders SELECT g, 1 + g % {CUSTOMERS}, g * 1.5
        FROM generate_series(1, {ORDERS}) g;
        CREATE TABLE big AS SELECT g AS id, g * 2 AS v FROM generate_series(1, 100000) g;
        CREATE ROLE analyst LOGIN;
        GRANT ALL ON ALL TABLES IN SCHEMA public TO analyst;
        GRANT CREATE ON SCHEMA public TO analyst;
        ANALYZE;""")
    return server


def _wait(server: PgServer, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            server.query("SELECT 1", db="postgres")
            return
        except Exception:  # not accepting connections yet: wait for the condition, then fail
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# the helper process: reads (dsn, sql) pickled in hex, one a line; answers the same way
_WORKER = r"""
import pickle, sys
import psycopg
for line in sys.stdin.buffer:
    dsn, sql = pickle.loads(bytes.fromhex(line.decode().strip()))
    try:
        with psycopg.connect(dsn, autocommit=True) as con:
            cur = con.execute(sql)
            res = ("ok", [tuple(r) for r in cur.fetchall()] if cur.description is not None
                   else [])
    except Exception as e:
        res = ("err", f"{type(e).__name__}: {e}")
    sys.stdout.buffer.write(pickle.dumps(res).hex().encode() + b"\n")
    sys.stdout.buffer.flush()
"""
_WORKERS: dict[int, _Worker] = {}


class _Worker:
    def __init__(self) -> None:
        import sys

        env = {k: v for k, v in os.environ.items()   # no guard: not its child folder either
               if not k.startswith("JUPYTER_GUARD") and k != "PYTHONPATH"}
        self.proc = subprocess.Popen([sys.executable, "-c", _WORKER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env)

    def run(self, dsn: str, sql: str) -> list[tuple[object, ...]]:
        import pickle

        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(pickle.dumps((dsn, sql)).hex().encode() + b"\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the tests' query helper process ended")
        kind, value = pickle.loads(bytes.fromhex(line.decode().strip()))
        if kind != "ok":
            raise RuntimeError(f"{value} (in {sql[:200]!r})")
        return list(value)


def _worker(server: PgServer) -> _Worker:
    w = _WORKERS.get(server.port)
    if w is None or w.proc.poll() is not None:
        w = _WORKERS[server.port] = _Worker()
    return w


class _Spare:
    """The next fresh database, copied from ``shop`` in a helper process of its own while the
    test before it runs, and the used ones dropped there too (one thread: drops and copies
    in order). A copy that failed is made again at once, in the tests' own helper."""

    def __init__(self, server: PgServer) -> None:
        self.server = server
        self._helper = _Worker()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="pg-spare")
        self._next: Future[str] | None = None
        self.dropped: list[str] = []   # drops that failed (kept for a look; the cluster goes)

    def _copy(self, worker: _Worker) -> str:
        name = "t_" + uuid.uuid4().hex[:10]
        worker.run(self.server.dsn("postgres"), f"CREATE DATABASE {name} TEMPLATE shop")
        return name

    def _drop(self, name: str) -> None:
        try:
            self._helper.run(self.server.dsn("postgres"),
                             f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        except RuntimeError:
            self.dropped.append(name)

    def take(self) -> str:
        name = None
        if self._next is not None:
            try:
                name = self._next.result()
            except RuntimeError:   # e.g. shop busy a moment, or the helper ended: copy here
                name = None
        if name is None:
            name = self._copy(_worker(self.server))
        self._next = self._pool.submit(self._copy, self._helper)
        return name

    def drop(self, name: str) -> None:
        self._pool.submit(self._drop, name)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        if self._helper.proc.stdin is not None:
            self._helper.proc.stdin.close()
            self._helper.proc.wait(timeout=60)


_SPARES: dict[int, _Spare] = {}


def _spare(server: PgServer) -> _Spare:
    s = _SPARES.get(server.port)
    if s is None or s._helper.proc.poll() is not None:
        s = _SPARES[server.port] = _Spare(server)
    return s
