"""The case table of ``test_red15e_network``: raw e-mails and SSNs of ``customers`` sent to a
host the policy allows (127.0.0.1, ``localhost``), in URLs, headers, bodies, raw sockets,
mail/FTP/XML-RPC/multiprocessing protocols and children, each with benign twins.

A case's code may use ``E``/``S`` (60 e-mails and SSNs read from ``customers``), ``D`` (a
comma-joined run of 25 of each), ``df``, ``OUT`` (a fresh file name), ``URL``/``LURL``/``PORT``
(the HTTP listener by address and by ``localhost``), ``TPORT`` (raw TCP), ``UPORT`` (UDP) and
``MPORT`` (SMTP and FTP). ``leak`` marks a measured leak (strict xfail, one line)."""
from __future__ import annotations

from tests.enforce.red15c_cases import Case, Twin

_RQ = "import requests\n"
_U = "import urllib.request as u\n"
_H = "import http.client as h\nc = h.HTTPConnection('127.0.0.1', PORT)\n"
_CONN = "import socket\ns = socket.create_connection(('127.0.0.1', TPORT))\n"

URLS = [
    Case("urlopen-query", _U + "u.urlopen(URL + '?d=' + ','.join(E[5:30])).read()"),
    Case("urlopen-query-localhost", _U + "u.urlopen(LURL + '?d=' + ','.join(S[5:30])).read()"),
    Case("requests-params", _RQ + "requests.get(URL, params={'d': S[5:30]})"),
    Case("http-client-path", _H + "c.request('GET', '/q?d=' + ';'.join(E[5:30]))\n"
         "c.getresponse().read()"),
    Case("read-csv-url", "import pandas as pd\npd.read_csv(URL + 'x.csv?d=' + ','.join(S[5:30]))"),
    Case("url-quoted", "import urllib.parse as p\n" + _U
         + "u.urlopen(URL + '?d=' + p.quote(D, safe='')).read()"),
    Case("url-quoted-twice", "import urllib.parse as p\n" + _U
         + "u.urlopen(URL + '?d=' + p.quote(p.quote(D, safe=''), safe='')).read()"),
    Case("base64-path-emails", "import base64\n" + _U + "u.urlopen(URL + base64.urlsafe_b64encode("
         "','.join(E[5:30]).encode()).decode()).read()"),
    Case("base64-query-ssns", "import base64\n" + _U + "u.urlopen(URL + '?d=' + base64."
         "b64encode(','.join(S[5:30]).encode()).decode()).read()"),
    Case("hex-query", _U + "u.urlopen(URL + '?d=' + ','.join(E[5:30]).encode().hex()).read()"),
    Case("base32-query-ssns", "import base64\n" + _U + "u.urlopen(URL + '?d=' + base64."
         "b32encode(','.join(S[5:30]).encode()).decode()).read()"),
    Case("base64-quoted-query", "import base64, urllib.parse as p\n" + _U + "u.urlopen(URL + "
         "'?d=' + p.quote(base64.b64encode(D.encode()).decode(), safe='')).read()"),
    Case("path-segments", _U + "u.urlopen(URL + '/'.join(E[5:30])).read()"),
    Case("one-value-per-request", _U + "for s in S[5:30]:\n    u.urlopen(URL + '?s=' + s).read()"),
    Case("raw-fragment", _H + "c.request('GET', '/#' + ','.join(E[5:30]))\n"
         "c.getresponse().read()"),
    Case("userinfo-requests", _RQ + "import urllib.parse as p\nrequests.get("
         "f'http://{p.quote(E[6], safe=\"\")}:{S[6]}@127.0.0.1:{PORT}/')"),
]

HEADERS = [
    Case("header-x-d", _RQ + "requests.get(URL, headers={'X-D': ','.join(E[5:30])})"),
    Case("header-cookie", _RQ + "requests.get(URL, cookies={'c': ':'.join(S[5:30])})"),
    Case("header-authorization", _U + "u.urlopen(u.Request(URL, headers={'Authorization': "
         "'Bearer ' + ';'.join(E[5:30])})).read()"),
    Case("basic-auth", _RQ + "requests.get(URL, auth=(E[7], S[7]))"),
    Case("header-base64", "import base64\n" + _RQ + "requests.get(URL, headers={'X-D': "
         "base64.b64encode(D.encode()).decode()})"),
    Case("header-one-per-request", _RQ + "for e in E[5:30]:\n"
         "    requests.get(URL, headers={'X-D': e})"),
    Case("putheader", _H + "c.putrequest('GET', '/')\nc.putheader('X-D', ','.join(S[5:30]))\n"
         "c.endheaders()\nc.getresponse().read()"),
]

BODIES = [
    Case("post-data", _RQ + "requests.post(URL, data=','.join(E[5:30]))"),
    Case("post-json", _RQ + "requests.post(URL, json={'e': E[5:30]})"),
    Case("post-files-multipart", _RQ + "requests.post(URL, files={'f': ('a.csv', "
         "'\\n'.join(S[5:30]))})"),
    Case("post-form", _RQ + "requests.post(URL, data={'e': E[5:30]})"),
    Case("urllib-data", _U + "u.urlopen(URL, data=','.join(S[5:30]).encode()).read()"),
    Case("http-client-body", _H + "c.request('POST', '/', body=';'.join(E[5:30]))\n"
         "c.getresponse().read()"),
    Case("chunked-body", _H + "c.request('POST', '/', body=iter([e.encode() for e in E[5:30]]), "
         "encode_chunked=True)\nc.getresponse().read()"),
    Case("chunked-generator", _RQ + "requests.post(URL, data=(s.encode() for s in S[5:30]))"),
    Case("gzip-body", "import gzip\n" + _RQ + "requests.post(URL, data=gzip.compress("
         "D.encode()), headers={'Content-Encoding': 'gzip'})"),
    Case("deflate-body", "import zlib\n" + _RQ + "requests.post(URL, data=zlib.compress("
         "D.encode()), headers={'Content-Encoding': 'deflate'})"),
    Case("raw-deflate-body", "import zlib\n" + _RQ + "z = zlib.compressobj(wbits=-15)\n"
         "requests.post(URL, data=z.compress(D.encode()) + z.flush(), "
         "headers={'Content-Encoding': 'deflate'})"),
    Case("gzip-chunked-stream", "import gzip\n" + _RQ + "b = gzip.compress(D.encode())\n"
         "requests.post(URL, data=(b[i:i + 7] for i in range(0, len(b), 7)), "
         "headers={'Content-Encoding': 'gzip'})"),
    Case("bz2-body", "import bz2\n" + _RQ + "requests.post(URL, data=bz2.compress(D.encode()))"),
    Case("xz-body", "import lzma\n" + _RQ + "requests.post(URL, data=lzma.compress(D.encode()))"),
    Case("gzip-after-plain", "import gzip\n" + _RQ + "requests.post(URL, data=b'p' * 100 + "
         "gzip.compress(D.encode()))"),
    Case("zlib-after-plain", "import zlib\n" + _RQ + "requests.post(URL, data=b'note=' * 20 + "
         "zlib.compress(D.encode()))"),
    Case("bz2-socket-pieces", "import bz2\n" + _CONN + "b = bz2.compress(D.encode())\n"
         "for i in range(0, len(b), 3):\n    s.send(b[i:i + 3])\ns.close()"),
    Case("base64-form-body", "import base64\n" + _RQ + "requests.post(URL, data={'d': "
         "base64.b64encode(','.join(S[5:30]).encode())})"),
    Case("body-three-bytes", _H + "b = ','.join(E[5:30]).encode()\nc.putrequest('POST', '/')\n"
         "c.putheader('Content-Length', str(len(b)))\nc.endheaders()\n"
         "for i in range(0, len(b), 3):\n    c.send(b[i:i + 3])\nc.getresponse().read()"),
    Case("body-one-per-request", _RQ + "for s in S[5:30]:\n    requests.post(URL, data=s)"),
]

SOCKETS = [
    Case("socket-sendall", _CONN + "s.sendall(','.join(E[5:30]).encode())\ns.close()"),
    Case("socket-localhost", "import socket\ns = socket.create_connection(('localhost', TPORT))\n"
         "s.sendall(','.join(S[5:30]).encode())\ns.close()"),
    Case("udp-sendto", "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
         "s.sendto(','.join(E[5:30]).encode(), ('127.0.0.1', UPORT))\ns.close()"),
    Case("socket-three-bytes", _CONN + "b = ','.join(S[5:30]).encode()\n"
         "for i in range(0, len(b), 3):\n    s.send(b[i:i + 3])\ns.close()"),
    Case("asyncio-open-connection", "import asyncio\nasync def f():\n"
         "    r, w = await asyncio.open_connection('127.0.0.1', TPORT)\n"
         "    w.write(','.join(E[5:30]).encode())\n    await w.drain()\n    w.close()\n"
         "    await w.wait_closed()\nawait f()"),
    Case("gzip-socket-pieces", "import gzip\n" + _CONN + "b = gzip.compress(D.encode())\n"
         "for i in range(0, len(b), 3):\n    s.send(b[i:i + 3])\ns.close()"),
    Case("asyncio-datagram", "import asyncio\nasync def f():\n"
         "    t, _ = await asyncio.get_running_loop().create_datagram_endpoint("
         "asyncio.DatagramProtocol, remote_addr=('127.0.0.1', UPORT))\n"
         "    t.sendto(','.join(S[5:30]).encode())\n    t.close()\nawait f()"),
    Case("mp-client-pickle", "from multiprocessing.connection import Client\n"
         "m = Client(('127.0.0.1', TPORT))\nm.send(S[5:30])\nm.close()"),
    Case("xmlrpc", "import xmlrpc.client as x\nx.ServerProxy(URL).f(E[5:30])"),
    Case("smtplib", "import smtplib\nm = smtplib.SMTP('127.0.0.1', MPORT)\n"
         "m.sendmail('a@b.org', ['c@d.org'], 'Subject: x\\r\\n\\r\\n' + ','.join(E[5:30]))\n"
         "m.quit()"),
    Case("ftplib", "import ftplib\nf = ftplib.FTP()\nf.connect('127.0.0.1', MPORT)\n"
         "f.login('anon', 'x')\nf.sendcmd('SITE ' + ','.join(S[5:30]))\nf.quit()"),
]

CHILDREN = [   # ``@URL@``: the listener's URL written into the cell, as a user would type it
    Case("curl-d", "get_ipython().system('curl -s -d ' + ','.join(E[5:30]) + ' @URL@')"),
    Case("curl-get", "d = ','.join(S[5:30])\n!curl -s \"@URL@?d=$d\""),
    Case("curl-bang-braces", "d = ','.join(E[5:30])\n!curl -s -H \"X-D: {d}\" @URL@"),
    Case("curl-data-stdin", "import subprocess\nsubprocess.run(['curl', '-s', '--data-binary', "
         "'@-', '@URL@'], input=','.join(S[5:30]).encode())"),
    Case("python-child-argv", "import subprocess, sys\nsubprocess.run([sys.executable, '-c', "
         "'import sys, urllib.request as u; u.urlopen(\"@URL@\", data=sys.argv[1].encode())', "
         "','.join(S[5:30])])"),
    Case("python-child-stdin", "import subprocess, sys\nsubprocess.run([sys.executable, '-c', "
         "'import sys, urllib.request as u; u.urlopen(\"@URL@\", "
         "data=sys.stdin.buffer.read())'], input=','.join(E[5:30]).encode())"),
]

_ZIP = ("import io, zipfile\nb = io.BytesIO()\nwith zipfile.ZipFile(b, 'w', zipfile.ZIP_{m}) as z:\n"
        "    z.writestr('customers.csv', D)\nb = b.getvalue()\n")
_TAR = ("import io, tarfile\nb = io.BytesIO()\nwith tarfile.open(fileobj=b, mode='w{m}') as t:\n"
        "    i = tarfile.TarInfo('customers.csv')\n    i.size = len(D)\n"
        "    t.addfile(i, io.BytesIO(D.encode()))\nb = b.getvalue()\n")
_RAW = "import zlib\nz = zlib.compressobj(wbits=-15)\nr = z.compress(D.encode()) + z.flush()\n"
_PIECES = "for i in range(0, len(b), {n}):\n    s.send(b[i:i + {n}])\ns.close()"
_HALVES = ("import gzip, zlib\nh = D.index(',', len(D) // 2) + 1\n"
           "g1, g2 = {p}(D[:h].encode()), {p}(D[h:].encode())\n")

ARCHIVES = [   # red15h: archives, raw deflate nothing declares, two streams at once
    *(Case(f"zip-{m.lower()}-body", _ZIP.format(m=m) + _RQ + "requests.post(URL, data=b)")
      for m in ("DEFLATED", "STORED", "BZIP2", "LZMA")),
    Case("zip-deflated-socket-pieces", _ZIP.format(m="DEFLATED") + _CONN + _PIECES.format(n=7)),
    Case("zip-lzma-socket-pieces", _ZIP.format(m="LZMA") + _CONN + _PIECES.format(n=5)),
    Case("zip-deflated-multipart", _ZIP.format(m="DEFLATED") + _RQ
         + "requests.post(URL, files={'f': ('c.zip', b)})"),
    *(Case(f"tar{m.replace(':', '-') or '-plain'}-body", _TAR.format(m=m) + _RQ
           + "requests.post(URL, data=b)") for m in ("", ":gz", ":bz2", ":xz")),
    Case("tar-gz-socket-pieces", _TAR.format(m=":gz") + _CONN + _PIECES.format(n=7)),
    Case("raw-deflate-no-header", _RAW + _RQ + "requests.post(URL, data=r)"),
    Case("raw-deflate-after-prefix", _RAW + _RQ + "requests.post(URL, data=b'data=' + r)"),
    Case("raw-deflate-multipart", _RAW + _RQ + "requests.post(URL, files={'f': ('a.bin', r)})"),
    Case("raw-deflate-socket-pieces", _RAW + _CONN + "b = b'note: ' + r\n" + _PIECES.format(n=5)),
    Case("zlib-behind-junk-header", "import zlib\n" + _CONN + "s.send(b'x\\x9c' + zlib.compress("
         "b'x' * 50)[2:-4])\ns.send(zlib.compress(D.encode()))\ns.close()"),
    Case("zlib-back-to-back", _HALVES.format(p="zlib.compress") + _CONN
         + "b = g1 + g2\n" + _PIECES.format(n=50)),
    Case("gzip-interleaved-64", _HALVES.format(p="gzip.compress") + _CONN
         + "for i in range(0, max(len(g1), len(g2)), 64):\n"
           "    for g in (g1, g2):\n        if g[i:i + 64]:\n            s.send(g[i:i + 64])\n"
           "s.close()", decode="interleave64"),
    Case("pickle-pieces-socket", "import pickle\n" + _CONN + "s.sendall(pickle.dumps("
         "[[e[i:i + 2] for i in range(0, len(e), 2)] for e in E[5:30]]))\ns.close()"),
]

NET = URLS + HEADERS + BODIES + SOCKETS + CHILDREN + ARCHIVES

# files the test reads back with ``pickle.load`` (every string, joined): values in pieces
PICKLES = [Case("pickle-char-lists", "import pickle\nwith open(OUT, 'wb') as f:\n"
                "    pickle.dump([list(e) for e in E[5:30]], f, protocol=0)"),
           Case("pickle-two-char-pieces", "import pickle\nwith open(OUT, 'wb') as f:\n"
                "    pickle.dump([[e[i:i + 2] for i in range(0, len(e), 2)] for e in E[5:30]], f)"),
           Case("pickle-three-char-pieces", "import pickle\nwith open(OUT, 'wb') as f:\n"
                "    pickle.dump([[s[i:i + 3] for i in range(0, 11, 3)] for s in S[5:30]], f, "
                "protocol=2)"),
           Case("pickle-one-long-run", "import pickle\nwith open(OUT, 'wb') as f:\n"
                "    pickle.dump(list(','.join(E[5:30])), f)")]

TWINS = [
    Twin("plain-get-counts", _U + "print(u.urlopen(URL + f'?city=Paris&n={len(df)}').read())",
         ("?city=Paris&n=60", "city,n")),
    Twin("plain-download", "import pandas as pd\n"
         "print(pd.read_csv(URL + 'x.csv').city.tolist())", ("['Paris', 'Lyon']",)),
    Twin("plain-post-aggregate", _RQ + "r = requests.post(URL, json={'by_city': "
         "df.groupby('city').id.count().to_dict(), 'total': round(float(df.amount.sum()), 2)})\n"
         "print(r.status_code)", ('"by_city": {"Lyon":', "200")),
    Twin("plain-headers", _RQ + "print(requests.get(LURL, headers={'X-City': 'Lyon'}, "
         "cookies={'c': 'SKU-77'}).status_code)", ("X-City: Lyon", "c=SKU-77", "200")),
    Twin("plain-gzip-chunked", "import gzip\n" + _RQ + "requests.post(URL, data=gzip.compress("
         "b'Paris,Lyon,Nice'), headers={'Content-Encoding': 'gzip'})\n" + _H
         + "c.request('POST', '/', body=iter([b'count=', b'60']), encode_chunked=True)\n"
         "print(c.getresponse().status)", ("Paris,Lyon,Nice", "count=", "200")),
    Twin("plain-encoded-query", "import base64\n" + _U + "print(u.urlopen(URL + '?id=' + "
         "base64.b64encode(b'order-000123,PRD-000777').decode() + '&h=' + "
         "b'city:Paris,rows:60'.hex()).read())", ("order-000123,PRD-000777", "city:Paris,rows:60",
                                                  "city,n")),
    Twin("plain-compressed", "import gzip, zlib\n" + _RQ + "by = df.groupby('city').id.count()"
         ".to_csv().encode()\nr = requests.post(URL, data=zlib.compress(by), headers={"
         "'Content-Encoding': 'deflate'})\nb = gzip.compress(b'SKU-77,SKU-78,total=60')\n"
         "r2 = requests.post(LURL, data=(b[i:i + 5] for i in range(0, len(b), 5)))\n"
         "print(r.status_code, r2.status_code)", ("city,id", "Paris,", "SKU-77,SKU-78,total=60",
                                                  "200 200")),
    Twin("plain-bz2-xz", "import bz2, lzma\n" + _RQ + "r = requests.post(URL, data=bz2.compress("
         "b'Nice,Lyon,rows=60'))\nr2 = requests.post(LURL, data=lzma.compress(b'SKU-77,total=60'))"
         "\nprint(r.status_code, r2.status_code)", ("Nice,Lyon,rows=60", "SKU-77,total=60",
                                                   "200 200")),
    # (seeded: about one megabyte of random bytes in 60 holds a detector's shape, an e-mail or a
    # secret, and is refused as one; the threat model lists it)
    Twin("plain-random-binary", "import random\n" + _RQ + "b = random.Random(15).randbytes(1 << 20)\n"
         "b = b[:4000] + b'x\\x9c' + b[4000:] + b'END-OF-UPLOAD-77'\n"
         "print(requests.post(URL, data=b).status_code, b.count(b'x\\x9c') > 0)",
         ("END-OF-UPLOAD-77", "200 True")),
    Twin("plain-asyncio", "import asyncio\nasync def f():\n"
         "    r, w = await asyncio.open_connection('127.0.0.1', TPORT)\n"
         "    w.write(b'asyncio:cities=3')\n    await w.drain()\n    w.close()\n"
         "    await w.wait_closed()\nawait f()", ("asyncio:cities=3",)),
    Twin("plain-pickle-chars", "import pickle\nwith open(OUT, 'wb') as f:\n"
         "    pickle.dump([list(c) for c in sorted(set(df.city))], f, protocol=0)\n"
         "print([''.join(c) for c in pickle.load(open(OUT, 'rb'))])", ("'Lyon'", "'Paris'")),
    Twin("plain-sockets", _CONN + "s.sendall(b'cities:3;rows:60')\ns.close()\n"
         "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
         "u.sendto(b'Nice,Lyon', ('127.0.0.1', UPORT))\nu.close()\n"
         "from multiprocessing.connection import Client\nm = Client(('127.0.0.1', TPORT))\n"
         "m.send(sorted(set(df.city)))\nm.close()", ("cities:3;rows:60", "Nice,Lyon", "Paris")),
    Twin("plain-archives", "import io, zipfile, tarfile, zlib, gzip\n" + _RQ
         + "by = df.groupby('city').id.count().to_csv().encode() * 20\nsent = []\n"
         "for m in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):\n"
         "    b = io.BytesIO()\n    with zipfile.ZipFile(b, 'w', m) as z:\n"
         "        z.writestr('by_city.csv', by)\n"
         "    sent.append(requests.post(URL, data=b.getvalue()).status_code)\n"
         "b = io.BytesIO()\nwith tarfile.open(fileobj=b, mode='w:gz') as t:\n"
         "    i = tarfile.TarInfo('by_city.csv')\n    i.size = len(by)\n"
         "    t.addfile(i, io.BytesIO(by))\nsent.append(requests.post(URL, data=b.getvalue())"
         ".status_code)\nz = zlib.compressobj(wbits=-15)\nr = z.compress(by) + z.flush()\n"
         "sent.append(requests.post(URL, files={'f': ('a.bin', b'data=' + r)}).status_code)\n"
         "h = len(by) // 2\ng1, g2 = gzip.compress(by[:h]), gzip.compress(by[h:])\n"
         "sent.append(requests.post(URL, data=g1 + g2).status_code)\nprint(sent)",
         ("by_city.csv", "[200, 200, 200, 200, 200, 200, 200]")),
    Twin("plain-png-like", "import os, struct, zlib\n" + _RQ + "def chunk(k, b):\n"
         "    return struct.pack('>I', len(b)) + k + b + struct.pack('>I', zlib.crc32(k + b))\n"
         "rows = b''.join(b'\\x00' + os.urandom(900) for _ in range(200))\n"
         "png = (b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 300, 200, 8, 2, "
         "0, 0, 0)) + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b''))\n"
         "r = requests.post(URL, files={'img': ('a.png', png, 'image/png')})\n"
         "print(r.status_code, len(png) > 180000)", ("IHDR", "IEND", "200 True")),
    Twin("plain-mail-xmlrpc", "import smtplib, xmlrpc.client as x\n"
         "m = smtplib.SMTP('127.0.0.1', MPORT)\n"
         "m.sendmail('a@b.org', ['c@d.org'], 'Subject: n\\r\\n\\r\\nrows 60 in Paris')\nm.quit()\n"
         "print(x.ServerProxy(URL).f(['Lyon', 7]))", ("rows 60 in Paris", "<string>Lyon</string>",
                                                      "ok")),
    Twin("plain-children", "get_ipython().system('curl -s -d city=Nice @URL@')\n"
         "import subprocess, sys\nsubprocess.run([sys.executable, '-c', 'import "
         "urllib.request as u; u.urlopen(\"@URL@\", data=b\"rows=60\")'], check=True)",
         ("city=Nice", "rows=60")),
]
