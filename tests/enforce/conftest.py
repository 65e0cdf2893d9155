"""One real ipykernel with the guard loaded, in a work dir outside the temp dir (the system temp
dir is not protected by the default policy), shared by the runtime tests of a module."""
from __future__ import annotations

import os
import queue
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    reply: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.reply["status"] == "ok"

    def text(self) -> str:
        out = []
        for m in self.messages:
            c = m["content"]
            out += [c.get("text", ""), c.get("evalue", ""), "\n".join(c.get("traceback", []))]
            out += [str(v) for v in c.get("data", {}).values()]
        return "\n".join(out)


class Kernel:
    def __init__(self, client: Any, workdir: Path) -> None:
        self.client, self.workdir = client, workdir

    def run(self, code: str, timeout: float = 60) -> Result:
        msg_id = self.client.execute(code)
        reply = self.client.get_shell_msg(timeout=timeout)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.client.get_shell_msg(timeout=timeout)
        res = Result(reply["content"])
        while True:
            try:
                msg = self.client.get_iopub_msg(timeout=timeout)
            except queue.Empty:  # pragma: no cover
                raise AssertionError(f"kernel went silent on {code!r}") from None
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            res.messages.append(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return res

    def ok(self, code: str) -> Result:
        r = self.run(code)
        assert r.ok, r.text()
        return r

    def blocked(self, code: str, rule: str) -> Result:
        r = self.run(code)
        assert r.reply["status"] == "error", f"not refused: {code!r}\n{r.text()}"
        assert f"[{rule}]" in r.text(), r.text()
        return r


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    base = Path.home() / ".cache" / "jupyter_guard_tests"
    base.mkdir(parents=True, exist_ok=True)
    d = Path(tempfile.mkdtemp(dir=base))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def kernel(workdir: Path) -> Iterator[Kernel]:
    from jupyter_client.manager import start_new_kernel

    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
               JUPYTER_GUARD_AUDIT=str(workdir / "audit.duckdb"), JUPYTER_GUARD_USER="tester")
    env.pop("JUPYTER_GUARD_POLICY", None)
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(workdir), env=env, startup_timeout=90)
    try:
        k = Kernel(kc, workdir)
        k.ok("%load_ext jupyter_guard")
        yield k
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


class Listener:
    """A TCP listener on 127.0.0.1 that records every byte it receives."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.received = bytearray()
        self.connections = 0
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.settimeout(1.0)
            data = b""
            try:
                while chunk := conn.recv(65536):
                    data += chunk
                    if data.startswith(b"GET ") and b"\r\n\r\n" in data:
                        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                        break
            except OSError:
                pass
            finally:
                conn.close()
            if not data.startswith(b"GET "):
                self.received += data

    def close(self) -> None:
        self._stop = True
        self.thread.join(2)
        self.sock.close()


@pytest.fixture()
def listener() -> Iterator[Listener]:
    lst = Listener()
    yield lst
    lst.close()
