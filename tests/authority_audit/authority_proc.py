"""The authority as a separate process (``python -m jupyter_guard.authority_audit.app``), with a
tokens file naming kernels and their users, that a test can SIGKILL and start again."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AuthorityProc:
    def __init__(self, folder: Path, tokens: dict[str, dict[str, object]], *, dsn: str = "",
                 copy: Path | None = None, port: int = 0) -> None:
        self.folder, self.dsn, self.copy = folder, dsn, copy
        self.port = port or free_port()
        self.tokens = folder.parent / f"{folder.name}-tokens.json"
        self.tokens.write_text(json.dumps(tokens))
        self.proc: subprocess.Popen[str] | None = None
        self.url = f"http://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 120) -> None:
        cmd = [sys.executable, "-m", "jupyter_guard.authority_audit.app", "--folder",
               str(self.folder), "--port", str(self.port), "--tokens", str(self.tokens),
               "--interval", "0.5"]
        if self.dsn:
            cmd += ["--dsn", self.dsn]
        if self.copy is not None:
            cmd += ["--copy", str(self.copy)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env={**os.environ})
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()   # "listening <port>", or EOF when it failed
        if not line.startswith("listening"):
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(f"the authority did not start: {line!r} {err[-2000:]}")
        assert time.monotonic() < deadline

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=60)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()


def write_batches(dsn: str, folder: str, who: int, batches: int) -> None:
    """One authority process writing ``batches`` batches of 20 events (spawned by tests)."""
    from jupyter_guard.authority_audit.service import AuditAuthority
    from tests.authority_audit.conftest import ALICE, BOB, event

    auth = AuditAuthority.open(folder, dsn=dsn)
    principal = ALICE if who % 2 else BOB
    for b in range(batches):
        auth.receive(principal, [event(f"s-{who}", principal.default_user, n=b * 20 + i)
                                 for i in range(20)])


def writer_dsn(db: object, role: str = "guard_writer") -> str:
    """An INSERT-only role on the ledger of the test database ``db`` (tests/pg's ``Db``)."""
    from jupyter_guard.authority_audit import pg as pgledger

    server = db.server   # type: ignore[attr-defined]
    server.query(f"DO $$ BEGIN CREATE ROLE {role} LOGIN; EXCEPTION WHEN duplicate_object "
                 "THEN NULL; END $$", db="postgres")
    pgledger.setup(db.dsn, role)   # type: ignore[attr-defined]
    return str(server.dsn(db.name, role))   # type: ignore[attr-defined]
