"""Audit events of the network -> Intents (``events.handlers``' part for them): ``urllib``
requests, ``http.client`` sends (uploads, and values in a GET's request line and headers), and
raw sockets' ``connect``/``sendto``/``sendmsg`` from user code itself.
"""
from __future__ import annotations

import os
import socket
from collections.abc import Callable
from types import FrameType
from typing import Any

from jupyter_guard.analyze.pysinks import host_of
from jupyter_guard.hooks import exit_net, exit_socket
from jupyter_guard.model import UNKNOWN, Intent

Handler = Callable[[tuple[Any, ...], FrameType], None]
_STDLIB = os.path.dirname(os.__file__) + os.sep
NET_SKIP = (os.path.join(_STDLIB, "socket.py"), os.path.join(_STDLIB, "asyncio") + os.sep,
            os.path.join(_STDLIB, "selectors.py"), os.path.join(_STDLIB, "ssl.py"))
_UPLOAD_METHODS = (b"POST ", b"PUT ", b"PATCH ")


def net_handlers(rt: Any) -> dict[str, Handler]:
    """The handlers of network events (``events.handlers`` adds them to its table)."""
    g = rt.guard
    _NET_SKIP = NET_SKIP

    def upload(host: str, url: str, how: str) -> None:
        rt.decide(
            [Intent("net.upload", "host", host or UNKNOWN, remote=True, detail=url, source=how)],
            how,
        )

    def on_request(
        args: tuple[Any, ...], f: FrameType
    ) -> None:  # urllib.Request(url, data, headers, method)
        url, data, headers, method = (args + (None,) * 4)[:4]
        if (
            data is not None or (method or "").upper() in ("POST", "PUT", "PATCH")
        ) and rt.user_stack(f):
            upload(host_of(str(url)), str(url), f"urllib {(method or 'POST').upper()} {url}")
        elif rt.user_stack(f):   # a GET: its URL and headers may carry the data
            exit_net.check_out(rt, host_of(str(url)), f"{url}\n{headers or ''}", str(url)[:200],
                               f"urllib {(method or 'GET').upper()}")

    def on_http_send(args: tuple[Any, ...], f: FrameType) -> None:  # http.client.send(conn, data)
        conn, data = args[0], args[1]
        sock = getattr(conn, "sock", None)
        if sock is not None and exit_net.allowed(rt, str(getattr(conn, "host", "") or "")):
            exit_socket.allow(sock, str(conn.host))   # its address alone would not say so
        if isinstance(data, str):
            data = data.encode("latin-1", "replace")
        if not isinstance(data, (bytes, bytearray)):
            if getattr(conn, "_jg_upload", False) or not rt.user_stack(f):
                return
            data = b"POST "   # a body streamed from a file object: decided as an upload
        head = bytes(data[:8]).upper()
        if head.startswith((b"GET ", b"HEAD ", b"OPTIONS ")) and b"\r\n\r\n" in data[:65536]:
            clen = _content_length(bytes(data[:65536]))
            if not clen:
                if rt.user_stack(f):   # request line and headers: values in a query string
                    host = str(getattr(conn, "host", "") or "").lower()
                    exit_net.check_out(rt, host, bytes(data[:65536]), f"http://{host}",
                                       "HTTP request")
                    if len(data) <= 65536 and sock is not None:
                        exit_socket.judged(sock, len(data))   # scanned here: not again
                return
        elif not head.startswith(_UPLOAD_METHODS) and not getattr(conn, "_jg_upload", False):
            return   # body bytes of a request already decided
        if not rt.user_stack(f):
            return
        host = str(getattr(conn, "host", "") or "")
        try:
            conn._jg_upload = True
        except Exception:  # noqa: BLE001 - a connection that takes no attributes: each send is judged on its own
            pass
        upload(host.lower(), f"http://{host}", f"HTTP upload to {host}")

    def on_connect(args: tuple[Any, ...], f: FrameType) -> None:  # socket.connect(sock, address)
        sock, addr = args[0], args[1]
        if getattr(sock, "family", None) not in (socket.AF_INET, socket.AF_INET6) or not isinstance(
            addr, tuple
        ):
            return
        if rt.user_caller(f, _NET_SKIP):
            host = str(addr[0]).lower()
            if host not in g.policy.allow_hosts:
                rt.decide(
                    [
                        Intent(
                            "net.upload",
                            "host",
                            host,
                            remote=True,
                            detail=f"raw socket {addr!r}",
                            source=f"socket.connect({addr!r})",
                        )
                    ],
                    f"socket.connect({addr!r})",
                )

    def on_sendto(args: tuple[Any, ...], f: FrameType) -> None:
        addr = args[1] if len(args) > 1 else None
        if isinstance(addr, tuple) and rt.user_caller(f, _NET_SKIP):
            rt.decide([Intent("net.upload", "host", str(addr[0]).lower(), remote=True,
                              detail="raw datagram")], f"socket.sendto({addr!r})")

    return {"urllib.Request": on_request, "http.client.send": on_http_send,
            "socket.connect": on_connect, "socket.sendto": on_sendto,
            "socket.sendmsg": on_sendto}


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"transfer-encoding":
            return 1
        if k.strip().lower() == b"content-length":
            try:
                return int(v.strip())
            except ValueError:
                return 1
    return 0
