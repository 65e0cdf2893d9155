"""In a guarded Python child, "the child's own code" is told by code identity, not by file name
(``ChildRuntime.childs``): code a script compiles under a guard file's name that connects a raw
socket to a host not in ``network.allow_hosts`` is judged like the script's own (refused), where
before the name made it look like the guard's and the connection was made. A real kernel, a
real listening socket: it accepts nothing from the refused child; an honest child's HTTP
request through the standard library still gets its answer."""
from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import new_workspace
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

HEAD = ("import codecs, os, socket, sys\nR = lambda s: codecs.decode(s, 'rot13')\n"
        "m = sys.modules[R('whclgre_thneq.ubbxf.puvyq')]\n"
        "name = os.path.join(os.path.dirname(m.__file__), 'own_code.py')\n"
        "PORT = int(sys.argv[1])\n"
        "CONNECT = 's = socket.socket()\\ns.connect((\"127.0.0.1\", PORT))\\nprint(\"connected\")\\n'\n"
        "open('touch.txt', 'w').write('x')\n"   # the kernel's exits are in place in the child
        "socket.getaddrinfo('127.0.0.1', PORT)\n")   # and its network handlers, for what follows
SCRIPTS = [
    pytest.param(HEAD + "exec(CONNECT, {'socket': socket, 'PORT': PORT})\n", id="own-text"),
    pytest.param(HEAD + "exec(compile(CONNECT, name, 'exec'), {'socket': socket, 'PORT': PORT})\n",
                 id="named-as-guard-code"),
    pytest.param(HEAD + "exec(compile('def go():\\n' + ''.join('    ' + l + '\\n' for l in "
                 "CONNECT.splitlines()), name, 'exec'), g := {'socket': socket, 'PORT': PORT})\n"
                 "g['go']()\n", id="named-function"),
]


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = new_workspace(work_root)
    with guarded_kernel(d) as kernel:
        kernel.ok("import subprocess, sys")
        yield kernel


@pytest.fixture()
def listener() -> Iterator[tuple[int, list[object]]]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(0.2)
    accepted: list[object] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield srv.getsockname()[1], accepted
    stop.set()
    t.join()
    srv.close()


@pytest.mark.parametrize("script", SCRIPTS)
def test_code_named_like_the_guards_is_the_childs(k: Kernel, script: str,
                                                 listener: tuple[int, list[object]]) -> None:
    port, accepted = listener
    (k.workdir / "conn.py").write_text(script)
    r = k.run(f"p = subprocess.run([sys.executable, 'conn.py', '{port}'], capture_output=True, "
              "text=True)\nprint(p.returncode, p.stdout, p.stderr[-400:])")
    text = r.everything()
    assert "connected" not in text and "Blocked by jupyter_guard [exfiltration]" in text, text
    assert not accepted, text


def test_an_honest_child_request_gets_its_answer(k: Kernel) -> None:
    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"hello")

        def log_message(self, *a: object) -> None:
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), Hello)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        (k.workdir / "get.py").write_text(
            "import sys, urllib.request\n"
            "print(urllib.request.urlopen(f'http://127.0.0.1:{sys.argv[1]}/').read().decode())\n")
        r = k.ok(f"p = subprocess.run([sys.executable, 'get.py', '{srv.server_port}'], "
                 "capture_output=True, text=True)\nprint(p.returncode, p.stdout, p.stderr[-300:])")
        assert "0 hello" in r.stream, r.everything()
    finally:
        srv.shutdown()
        t.join()
        srv.server_close()
