"""One real ipykernel with the guard loaded, in a work dir outside the temp dir (the system temp
dir is not protected by the default policy), shared by the runtime tests of a module."""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import new_workspace
from tests.kernelutil import Kernel, guarded_kernel


@pytest.fixture(scope="module")
def workdir(work_root: Path) -> Path:
    return new_workspace(work_root, data=False)


@pytest.fixture(scope="module")
def kernel(workdir: Path) -> Iterator[Kernel]:
    with guarded_kernel(workdir, {"JUPYTER_GUARD_USER": "tester"}, stop_behind=True) as k:
        yield k


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
