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
        connection once a guard is loaded in this process (``ip``), raw ones included. The
        guard's "own work" token no longer lends itself to test code, so the statement runs as
        one the guard already judged for this connection (``judged_on``), as the guard's own
        catalog queries do."""
        from jupyter_guard.connections.dbapi import judged_on

        con = self.connect(db)
        try:
            with judged_on(con):
                cur = con.execute(sql)  # type: ignore[attr-defined]
                return list(cur.fetchall()) if cur.description is not None else []
        finally:
            con.close()  # type: ignore[attr-defined]

    def fresh(self) -> str:
        """A new database copied from ``shop``; its name."""
        name = "t_" + uuid.uuid4().hex[:10]
        self.query(f"CREATE DATABASE {name} TEMPLATE shop", db="postgres")
        return name

    def drop(self, name: str) -> None:
        self.query(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", db="postgres")

    def stop(self) -> None:
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
