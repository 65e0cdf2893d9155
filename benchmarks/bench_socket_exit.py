"""Cost of the socket exits (``hooks/exit_socket.py``) on ordinary network code: a ``urllib``
GET, a ``requests`` GET (one session) and ``http.client`` requests to a local HTTP server in
another process, and 1 MB of plain text sent through a socket a library connected (every byte
checked against 10,000 values known to come from a sensitive column), each run as cell code in an IPython shell with the guard loaded, against the same code
without it.

Each round starts two fresh processes, one with and one without the guard, alternating; the
figures are medians over the rounds. To compare with the code before a change, run it once with
``PYTHONPATH`` naming the older checkout.

    .venv/bin/python benchmarks/bench_socket_exit.py [--json] [--repeat 7]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.request

from alternate import medians

SETUP = """
import http.client, time, urllib.request, requests
session = requests.Session()
URL = f'http://127.0.0.1:{PORT}/'
text = ('PRD-000123,Paris,12.50,2026-01-01 10:00:00\\n' * 24_000).encode()[:1 << 20]
"""

WORKLOADS = {
    "urllib_get": "urllib.request.urlopen(URL).read()",
    "requests_get": "session.get(URL).content",
    "http_client_get": ("c = http.client.HTTPConnection('127.0.0.1', PORT)\n"
                        "c.request('GET', '/')\nc.getresponse().read()\nc.close()"),
    "library_socket_1mb": ("c = http.client.HTTPConnection('127.0.0.1', PORT)\nc.connect()\n"
                           "c.sock.sendall(b'DATA\\n' + text)\nc.close()"),
}
LOOPS = 20


def child(guarded: bool) -> None:
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    d = tempfile.mkdtemp()
    os.environ["JUPYTER_GUARD_AUDIT"] = os.path.join(d, "audit.duckdb")
    cfg = Config()
    cfg.HistoryManager.enabled = False
    ip = InteractiveShell.instance(config=cfg)
    if guarded:
        assert ip.run_cell("%load_ext jupyter_guard").success
    if guarded:   # as after reading 10,000 values of a sensitive column: sends are checked
        from jupyter_guard.hooks import exits

        exits.remember(f"user{i}@example.com" for i in range(10_000))
    ip.user_ns["PORT"] = int(os.environ["BENCH_PORT"])
    assert ip.run_cell(SETUP).success
    out = {}
    for name, code in WORKLOADS.items():
        timed = (f"_b = []\nfor _ in range({LOOPS}):\n    _t = time.perf_counter()\n"
                 + "\n".join("    " + line for line in code.splitlines())
                 + "\n    _b.append(time.perf_counter() - _t)\nBEST = sorted(_b[2:])[len(_b[2:]) // 2]")
        res = ip.run_cell(timed)
        assert res.success, res.error_in_exec
        out[name] = ip.user_ns["BEST"]
    print(json.dumps(out))


SERVER = r"""
import socketserver, sys
class H(socketserver.StreamRequestHandler):
    def handle(self):
        first = self.rfile.readline()
        if not first.startswith(b"GET "):
            while self.rfile.read(65536):   # a stream of data: read to the end, answer nothing
                pass
            return
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        body = b"ok\n" * 100
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                         b"Connection: close\r\n\r\n" % len(body) + body)
socketserver.ThreadingTCPServer.daemon_threads = True
srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""


def _server() -> tuple[subprocess.Popen[str], int]:
    """A small HTTP server in its own process on a free port (GETs answered, data streams
    read to their end)."""
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30).read()
    return proc, port


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--repeat", type=int, default=7, help="rounds (two processes each)")
    ap.add_argument("--child", choices=["with", "without"], help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.child == "with")
        return
    proc, port = _server()
    try:
        env = dict(os.environ)
        env.pop("JUPYTER_GUARD_POLICY", None)
        env["BENCH_PORT"] = str(port)
        med = medians(__file__, WORKLOADS, a.repeat, env)
    finally:
        proc.terminate()
        proc.wait()
    rows = {k: {"plain_ms": med[False][k] * 1e3, "guarded_ms": med[True][k] * 1e3,
                "ratio": med[True][k] / med[False][k]} for k in WORKLOADS}
    if a.json:
        print(json.dumps(rows, indent=2))
    else:
        print("| workload | plain (ms) | guarded (ms) | ratio |\n|---|---:|---:|---:|")
        for k, r in rows.items():
            print(f"| {k} | {r['plain_ms']:.3f} | {r['guarded_ms']:.3f} | x{r['ratio']:.2f} |")


if __name__ == "__main__":
    main()
