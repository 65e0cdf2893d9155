"""Uploads to hosts not allowed are refused at the moment of sending; downloads pass."""
from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.kernel

UPLOADS = [
    pytest.param("import urllib.request as u\nu.urlopen(u.Request(URL, data=b'secret'))", id="urllib-data"),
    pytest.param("import urllib.request as u\ngetattr(u, 'url'+'open')(URL, data=b'secret')", id="urllib-getattr"),
    pytest.param("import http.client as h\nc = h.HTTPConnection('127.0.0.1', PORT)\n"
                 "c.request('PO'+'ST', '/', body=b'secret')", id="http-client"),
    pytest.param("import socket\ns = socket.create_connection(('127.0.0.1', PORT))\ns.sendall(b'secret')",
                 id="raw-socket"),
    pytest.param("import threading, urllib.request as u\nt = threading.Thread(target=u.urlopen, "
                 "args=(URL,), kwargs={'data': b'secret'})\nt.start(); t.join()", id="thread"),
    pytest.param("exec(__import__('base64').b64decode('{b}'))", id="exec-base64"),
]


@pytest.mark.parametrize("code", UPLOADS)
def test_upload_never_arrives(kernel, listener, code, request):
    import base64

    kernel.ok(f"PORT = {listener.port}\nURL = 'http://127.0.0.1:{listener.port}/up'")
    inner = base64.b64encode(b"import urllib.request as u\nu.urlopen(URL, data=b'secret')").decode()
    r = kernel.run(code.replace("{b}", inner))
    assert "[exfiltration]" in r.everything(), r.everything()
    if not request.node.callspec.id.startswith("thread"):
        assert r.reply["status"] == "error"
    time.sleep(0.5)
    assert b"secret" not in listener.received and not listener.received


def test_http_get_to_listener_passes(kernel, listener):
    r = kernel.ok(f"import urllib.request as u\nprint(u.urlopen('http://127.0.0.1:{listener.port}/x').read())")
    assert "b'ok'" in r.everything()
