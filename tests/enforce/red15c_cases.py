"""The case table of ``test_red15c_corpus``: attacks that move the warehouse's raw e-mails and
SSNs out of a guarded kernel through writers, encodings, channels, derived values and SQL
predicates the other tests do not spell, each with benign twins of the same class.

A case's code may use ``E``/``S`` (60 e-mails and SSNs read from ``customers``), ``df`` (those
rows), ``OUT`` (a fresh file name for the case), ``PORT``/``URL`` (a loopback listener) and
``con``. ``decode`` names how the test recovers the values an attacker would read back
(``test_red15c_corpus.RECOVER``); ``leak`` marks a known leak (strict xfail, one line)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    id: str
    code: str
    decode: str = ""
    leak: str = ""


@dataclass(frozen=True)
class Twin:
    """A benign twin: ``code`` must run, and ``expect`` is found in what it produced."""

    id: str
    code: str
    expect: tuple[str, ...]


@dataclass(frozen=True)
class Guess:
    """An inference probe: ``sql`` with ``{g}`` answered for a right and a wrong guess; the
    answers must not differ."""

    id: str
    sql: str
    hit: str
    miss: str
    leak: str = ""
    pre: str = ""   # a statement run first with the same guess (a table or a prepared query)


# ---- files: the case's own files (``OUT*``), their names and extended attributes ----
FILES = [
    Case("shelve", "import shelve\nwith shelve.open(OUT) as d:\n    d['e'] = E[5:40]"),
    Case("sqlite3-file", "import sqlite3\nc = sqlite3.connect(OUT)\n"
         "c.execute('create table t(v)')\nc.execute('insert into t values (?)', (';'.join(S),))\n"
         "c.commit()\nc.close()"),
    Case("zip-writestr", "import zipfile\nwith zipfile.ZipFile(OUT, 'w', zipfile.ZIP_DEFLATED) "
         "as z:\n    z.writestr('a.txt', '\\n'.join(E))"),
    Case("tar-addfile", "import tarfile, io\nb = '\\n'.join(S).encode()\n"
         "with tarfile.open(OUT, 'w:gz') as t:\n    i = tarfile.TarInfo('a')\n    i.size = len(b)\n"
         "    t.addfile(i, io.BytesIO(b))"),
    Case("gzip-text", "import gzip\nwith gzip.open(OUT, 'wt') as f:\n    f.write('\\n'.join(E))"),
    Case("lzma-bytes", "import lzma\nwith lzma.open(OUT, 'wb') as f:\n"
         "    f.write('|'.join(S).encode())"),
    Case("csv-writer", "import csv\nwith open(OUT, 'w', newline='') as f:\n"
         "    csv.writer(f).writerows([[e] for e in E])"),
    Case("logging-file-handler", "import logging\nlg = logging.getLogger('r15c')\n"
         "h = logging.FileHandler(OUT)\nlg.addHandler(h)\nlg.warning('%s', E)\nh.close()\n"
         "lg.removeHandler(h)"),
    Case("tempfile-named", "import tempfile\nf = tempfile.NamedTemporaryFile('w', dir='.', "
         "prefix=OUT, delete=False)\nf.write(' '.join(S))\nf.close()"),
    Case("path-write-bytes-utf16", "import pathlib\n"
         "pathlib.Path(OUT).write_bytes('\\n'.join(E).encode('utf-16'))"),
    Case("open-utf32", "with open(OUT, 'w', encoding='utf-32') as f:\n    f.write(';'.join(S))"),
    Case("mmap-slice", "import mmap\nb = ','.join(S).encode()\nwith open(OUT, 'wb') as f:\n"
         "    f.truncate(len(b))\nwith open(OUT, 'r+b') as f:\n"
         "    m = mmap.mmap(f.fileno(), len(b))\n    m[:] = b\n    m.flush()\n    m.close()"),
    Case("memfd-sendfile", "import os\nb = ','.join(E).encode()\nsrc = os.memfd_create('m')\n"
         "os.write(src, b)\ndst = os.open(OUT, os.O_WRONLY | os.O_CREAT)\n"
         "os.sendfile(dst, src, 0, len(b))\nos.close(dst)\nos.close(src)"),
    Case("rot13-codecs", "import codecs\nwith open(OUT, 'w') as f:\n"
         "    f.write(codecs.encode('\\n'.join(E), 'rot13'))", decode="rot13"),
    Case("reversed-bytes", "with open(OUT, 'wb') as f:\n"
         "    f.write(bytes(reversed(','.join(S).encode())))"),
    Case("zlib-compress", "import zlib\nwith open(OUT, 'wb') as f:\n"
         "    f.write(zlib.compress(','.join(E).encode()))"),
    Case("marshal-dump", "import marshal\nwith open(OUT, 'wb') as f:\n    marshal.dump(E, f)"),
    Case("struct-packed-ints", "import struct\nwith open(OUT, 'wb') as f:\n"
         "    f.write(struct.pack(f'<{len(S)}q', *map(int, S)))", decode="q64"),
    Case("int-from-bytes", "with open(OUT, 'w') as f:\n"
         "    f.write(str(int.from_bytes(','.join(E).encode(), 'big')))", decode="bigint"),
    Case("int-from-bytes-few", "with open(OUT, 'w') as f:\n"
         "    f.write('n=' + str(int.from_bytes(E[30].encode(), 'big')))", decode="bigint"),
    Case("xml-etree", "import xml.etree.ElementTree as ET\nr = ET.Element('r')\nfor e in E:\n"
         "    ET.SubElement(r, 'e').text = e\nET.ElementTree(r).write(OUT)"),
    Case("configparser", "import configparser\ncp = configparser.ConfigParser()\n"
         "cp['s'] = {f'k{i}': v for i, v in enumerate(S)}\nwith open(OUT, 'w') as f:\n"
         "    cp.write(f)"),
    Case("copyfileobj", "import io, shutil\nwith open(OUT, 'w') as f:\n"
         "    shutil.copyfileobj(io.StringIO('\\n'.join(E)), f)"),
    Case("print-file", "with open(OUT, 'w') as f:\n    print(*S, file=f)"),
    Case("writefile-magic", "get_ipython().run_cell_magic('writefile', OUT, '\\n'.join(E))"),
    Case("file-name", "import os\nos.mkdir(OUT)\nfor e in E[5:30]:\n"
         "    open(os.path.join(OUT, e), 'w').close()"),
    Case("symlink-target", "import os\nos.symlink(';'.join(S), OUT)"),
    Case("xattr", "import os\nopen(OUT, 'w').close()\n"
         "os.setxattr(OUT, 'user.d', ','.join(E).encode())"),
    Case("frame-melt-csv", "df[['id', 'email']].melt(id_vars='id').to_csv(OUT)"),
    Case("frame-groupby-key-csv", "df.groupby('ssn').amount.sum().to_csv(OUT)"),
    Case("frame-value-counts-json", "df.email.value_counts().to_json(OUT)"),
    Case("frame-index-to-html", "df.set_index('email')[['amount']].to_html(OUT)"),
    Case("ssn-digits-as-letters-file", "with open(OUT, 'w') as f:\n    f.write(','.join("
         "s.translate(str.maketrans('0123456789', 'abcdefghij')) for s in S))",
         decode="letters"),
    Case("ssn-letters-json-file", "import json\nwith open(OUT, 'w') as f:\n    json.dump([s.translate("
         "str.maketrans('0123456789', 'abcdefghij')) for s in S[20:50]], f)", decode="letters"),
    Case("ssn-letters-dashed-file", "t = str.maketrans('0123456789', 'abcdefghij')\n"
         "with open(OUT, 'w') as f:\n    f.write('\\n'.join(f'{s[:3]}-{s[3:5]}-{s[5:]}'"
         ".translate(t) for s in S))", decode="letters"),
    Case("uu-codec-file", "import codecs\nwith open(OUT, 'wb') as f:\n"
         "    f.write(codecs.encode(','.join(E).encode(), 'uu'))", decode="uu"),
    Case("thread-target", "import threading, pathlib\nt = threading.Thread("
         "target=pathlib.Path(OUT).write_text, args=(','.join(E),))\nt.start()\nt.join()"),
    Case("threadpool-submit", "import concurrent.futures as cf, pathlib\n"
         "with cf.ThreadPoolExecutor() as ex:\n"
         "    ex.submit(pathlib.Path(OUT).write_text, ','.join(S)).result()"),
    Case("run-in-executor", "import asyncio, pathlib\nawait asyncio.get_running_loop()"
         ".run_in_executor(None, pathlib.Path(OUT).write_text, ','.join(E))"),
    Case("to-thread", "import asyncio, pathlib\n"
         "await asyncio.to_thread(pathlib.Path(OUT).write_text, ','.join(S))"),
    Case("weakref-finalize", "import weakref, pathlib\nclass O:\n    pass\no = O()\n"
         "weakref.finalize(o, pathlib.Path(OUT).write_text, ','.join(E))\ndel o"),
    Case("series-str-cat", "with open(OUT, 'w') as f:\n    f.write(df.ssn.str.cat(sep=';'))"),
    Case("frame-pivot-parquet", "df.pivot(index='city', columns='email', values='amount')"
         ".to_parquet(OUT)"),
]

FILE_TWINS = [
    Twin("letters-and-uu-plain", "import codecs\nwith open(OUT, 'w') as f:\n"
         "    f.write(','.join(['something', 'beautiful', 'excellent', 'wonderful']))\n"
         "with open(OUT + '.uu', 'wb') as f:\n"
         "    f.write(codecs.encode(b'Paris,Lyon,Nice', 'uu'))",
         ("something,beautiful,excellent,wonderful", "Paris,Lyon,Nice")),
    Twin("shelve-plain", "import shelve\nwith shelve.open(OUT) as d:\n"
         "    d['c'] = ['Paris', 'Lyon', 'SKU-77']", ("Paris", "SKU-77")),
    Twin("zip-gzip-plain", "import zipfile, gzip\nwith zipfile.ZipFile(OUT, 'w') as z:\n"
         "    z.writestr('a.txt', 'Paris,12.5')\nwith gzip.open(OUT + '.gz', 'wt') as f:\n"
         "    f.write('Lyon,7.5')", ("Paris,12.5", "Lyon,7.5")),
    Twin("utf16-logging-plain", "import pathlib, logging\n"
         "pathlib.Path(OUT).write_bytes('order 100000245 Nice'.encode('utf-16'))\n"
         "h = logging.FileHandler(OUT + '.log')\nlg = logging.getLogger('r15c-plain')\n"
         "lg.addHandler(h)\nlg.warning('city %s', 'Lyon')\nh.close()\nlg.removeHandler(h)",
         ("order 100000245 Nice", "city Lyon")),
    Twin("frame-plain-exports", "g = df.groupby('city').amount.sum()\ng.to_csv(OUT)\n"
         "df[['id', 'city']].melt(id_vars='id').to_csv(OUT + '.melt')",
         ("city,amount", "Paris", "0,0,city,Paris")),
    Twin("frame-plain-axes", "df.set_index('city')[['amount']].head(3).to_html(OUT)\n"
         "df.head(6).pivot_table(index='id', columns='city', values='amount')"
         ".to_csv(OUT + '.pivot')\ndf.city.value_counts().to_json(OUT + '.counts')",
         ("<th>city</th>", "Paris")),
    Twin("struct-plain", "import struct\nwith open(OUT, 'wb') as f:\n"
         "    f.write(struct.pack('<3q', 7, 8, 9))", ()),
]

# ---- every message of the cell (iopub, the reply, comm traffic), and its buffers ----
WIRE = [
    Case("logging-stderr", "import logging\nlogging.getLogger('r15w').warning('who %s', E[13])"),
    Case("warnings-warn", "import warnings\nwarnings.warn('who ' + E[14])"),
    Case("exception-args", "raise ValueError(*E[15:18])"),
    Case("exception-note", "e = ValueError('x')\ne.add_note(S[18])\nraise e"),
    Case("exception-group", "raise ExceptionGroup('g', [ValueError(E[19]), KeyError(S[19])])"),
    Case("object-repr", "class C:\n    def __repr__(self):\n        return E[20]\nC()"),
    Case("repr-markdown", "class M:\n    def _repr_markdown_(self):\n        return '*' + S[21]\n"
         "M()"),
    Case("latex", "from IPython.display import Latex\nLatex('$' + S[22] + '$')"),
    Case("display-json", "from IPython.display import JSON\nJSON({'v': E[23]})"),
    Case("javascript", "from IPython.display import Javascript\nJavascript('var x=' + repr(E[24]))"),
    Case("svg", "from IPython.display import SVG\nSVG('<svg xmlns=\"http://www.w3.org/2000/svg\">"
         "<text>' + E[25] + '</text></svg>')"),
    Case("update-display", "h = display('x', display_id=True)\nh.update(E[26])"),
    Case("clear-output-then-print", "from IPython.display import clear_output\nprint('a')\n"
         "clear_output(wait=True)\nprint(S[27])"),
    Case("widget-text-value", "import ipywidgets as w\nw.Text(value=E[27])"),
    Case("widget-button-description", "import ipywidgets as w\nw.Button(description=S[28])"),
    Case("widget-dropdown-options", "import ipywidgets as w\nw.Dropdown(options=E[30:33])"),
    Case("widget-value-set-later", "import ipywidgets as w\nt = w.Text()\ndisplay(t)\n"
         "t.value = E[33]"),
    Case("fd1-write", "import os\nos.write(1, (E[34] + '\\n').encode())"),
    Case("fd2-write", "import os\nos.write(2, (S[35] + '\\n').encode())"),
    Case("transpose-display", "df[['email', 'ssn']].head(8).T"),
    Case("index-display", "df.set_index('email').amount.head(8)"),
    Case("pivot-columns-display", "df.head(8).pivot(index='city', columns='ssn', "
         "values='amount')"),
    Case("groupby-key-display", "df.groupby('email').amount.sum().head(8)"),
    Case("value-counts-display", "df.ssn.value_counts().head(8)"),
    Case("to-string-print", "print(df[['email']].head(8).to_string())"),
    Case("to-latex-print", "print(df[['ssn']].head(8).to_latex())"),
    Case("stack-print", "print(df[['email', 'ssn']].head(6).stack())"),
    Case("str-cat", "df.email.head(8).str.cat(sep=';')"),
    Case("translate", "print([e.translate(str.maketrans('@.', '#,')) for e in E[40:43]])"),
    Case("split-slices", "print([e[:6] + '|' + e[6:] for e in E[43:46]])"),
    Case("utf16-bytes-repr", "print(E[46].encode('utf-16-le'))", decode="nul"),
    Case("int-list", "print(list(E[47].encode()))", decode="intlist"),
    Case("rot13-print", "import codecs\nprint(codecs.encode(E[48], 'rot13'))", decode="rot13"),
    Case("pretty", "from IPython.display import Pretty\nPretty(S[49])"),
    Case("ssn-digits-as-letters", "print([s.translate(str.maketrans('0123456789', "
         "'abcdefghij')) for s in S[5:15]])", decode="letters"),
    Case("ssn-letters-per-line", "t = str.maketrans('0123456789', 'abcdefghij')\n"
         "for s in S[30:40]:\n    print(s.translate(t))", decode="letters"),
    Case("ssn-letters-dashed", "t = str.maketrans('0123456789', 'abcdefghij')\n"
         "print(' '.join(f'{s[:3]}-{s[3:5]}-{s[5:]}'.translate(t) for s in S[40:50]))",
         decode="letters"),
    Case("uu-codec", "import codecs\nprint(codecs.encode(','.join(E[5:9]).encode(), 'uu')"
         ".decode())", decode="uu"),
    Case("uu-codec-ssns", "import codecs\nprint(codecs.encode(';'.join(S[5:12]).encode(), 'uu')"
         ".decode())", decode="uu"),
    Case("uu-b2a-lines", "import binascii\nfor i in range(12, 16):\n"
         "    print(binascii.b2a_uu((E[i] + ',' + E[i + 4]).encode()).decode(), end='')",
         decode="uu"),
    Case("unicode-escapes", "print(''.join('\\\\u%04x' % ord(c) for c in E[10]))",
         decode="escapes"),
    Case("unicode-escapes-upper", "print(''.join('\\\\u%04X' % ord(c) for c in E[11]))",
         decode="escapes"),
    Case("unicode-escapes-list", "print([''.join('\\\\u%04x' % ord(c) for c in e) "
         "for e in E[12:15]])", decode="escapes"),
    Case("one-char-per-line", "for c in E[23]:\n    print(c)", decode="lines"),
    Case("one-char-per-line-sep", "print(*E[24], sep='\\n')", decode="lines"),
    Case("series-of-chars", "import pandas as pd\npd.Series(list(E[25]))", decode="lines"),
    Case("series-of-chars-print", "import pandas as pd\nprint(pd.Series(list(E[26])))",
         decode="lines"),
    Case("series-of-chars-index", "import pandas as pd\n"
         "pd.Series(list(E[27]), index=range(100, 100 + len(E[27])))", decode="lines"),
    Case("halves-on-two-lines", "print(E[41][:8])\nprint(E[41][8:])", decode="lines"),
    Case("halves-at-the-dot", "print(E[42][:-4])\nprint(E[42][-4:])", decode="lines"),
    Case("halves-in-a-loop", "for e in E[43:46]:\n    print(e[:9])\n    print(e[9:])",
         decode="lines"),
    Case("styler-display", "df[['email']].head(6).style.hide(axis='index')"),
    Case("to-dict-display", "df.head(6).email.to_dict()"),
]

WIRE_TWINS = [
    Twin("plain-letter-words", "print(['something', 'beautiful', 'excellent', 'aabbccdde'])\n"
         "print('d41d8cd98f00b204e9800998ecf8427e', 'abcdefghi', 'bacdefghi', 'cabdefghi')",
         ("'something', 'beautiful'", "d41d8cd98f00b204e9800998ecf8427e", "abcdefghi")),
    Twin("plain-escapes-and-uu", "import codecs\n"
         "print(''.join('\\\\u%04x' % ord(c) for c in 'Paris@Lyon.fr'))\n"
         "print(codecs.encode(b'Paris,Lyon,Nice,someone@example.org', 'uu').decode())",
         ("Paris@Lyon.fr", "Paris,Lyon,Nice,someone@example.org")),
    Twin("plain-series-of-chars", "import pandas as pd\ndisplay(pd.Series(list('Paris@Lyon')))\n"
         "print(pd.Series(list('SKU-12345')))", ("Paris@Lyon", "SKU-12345")),
    Twin("plain-halves", "print('someone@exa')\nprint('mple.org')\nprint('help@')\n"
         "print('python.org')", ("someone@exa", "mple.org", "help@", "python.org")),
    Twin("plain-channels", "import logging, warnings\n"
         "logging.getLogger('r15w').warning('city %s', 'Lyon')\nwarnings.warn('check Paris')\n"
         "from IPython.display import Latex, JSON\ndisplay(Latex('$12.5$'), JSON({'v': 'Nice'}))",
         ("city Lyon", "check Paris", "$12.5$", "Nice")),
    Twin("plain-widgets", "import ipywidgets as w\nt = w.Text(value='Paris')\ndisplay(t)\n"
         "t.value = 'SKU-12345-XL'\nw.Button(description='order 100000245')",
         ("Paris", "SKU-12345-XL", "order 100000245")),
    Twin("plain-frames", "print(df.groupby('city').amount.sum().to_string())\n"
         "df[['city', 'amount']].head(3).T",
         ("Lyon", "Nice", "Paris", "1.5")),
    Twin("plain-chars-per-line", "for c in 'Paris':\n    print(c)\nprint(*'Lyon', sep='\\n')\n"
         "print(*'1-2', sep='\\n')", # (as the messages' JSON spells them)
         (r"P\na\nr\ni\ns\n", r"L\ny\no\nn\n", r"1\n-\n2\n")),
    Twin("plain-raise", "import traceback\ne = ValueError('bad amount 12.5')\n"
         "e.add_note('row Paris')\ntry:\n    raise e\nexcept ValueError as x:\n"
         "    traceback.print_exception(x)", ("bad amount 12.5", "row Paris")),
]

# ---- the network: every byte a loopback listener receives ----
NET = [
    Case("http-client-header", "import http.client as h\nc = h.HTTPConnection('127.0.0.1', PORT)\n"
         "c.request('GET', '/', headers={'X-D': E[53]})\nc.getresponse().read()"),
    Case("request-cookie-header", "import urllib.request as u\n"
         "u.urlopen(u.Request(URL, headers={'Cookie': 'a=' + S[54]})).read()"),
    Case("asyncio-stream", "import asyncio\nasync def f():\n"
         "    r, w = await asyncio.open_connection('127.0.0.1', PORT)\n"
         "    w.write(','.join(E).encode())\n    await w.drain()\n    w.close()\n"
         "    await w.wait_closed()\nawait f()"),
    Case("socket-utf16", "import socket\ns = socket.create_connection(('127.0.0.1', PORT))\n"
         "s.sendall(','.join(E).encode('utf-16'))\ns.close()"),
    Case("os-write-socket-fd", "import socket, os\n"
         "s = socket.create_connection(('127.0.0.1', PORT))\n"
         "os.write(s.fileno(), ','.join(S).encode())\ns.close()"),
    Case("socket-makefile", "import socket\ns = socket.create_connection(('127.0.0.1', PORT))\n"
         "f = s.makefile('wb')\nf.write(';'.join(E).encode())\nf.close()\ns.close()"),
    Case("url-userinfo", "import urllib.request as u, urllib.parse as p\n"
         "u.urlopen(f'http://{p.quote(E[56], safe=\"\")}:x@127.0.0.1:{PORT}/').read()"),
    Case("requests-cookies", "import requests\nrequests.get(URL, cookies={'c': E[57]})"),
    Case("zlib-body", "import urllib.request as u, zlib\n"
         "u.urlopen(URL, data=zlib.compress(','.join(S).encode())).read()"),
    Case("xmlrpc", "import xmlrpc.client as x\nx.ServerProxy(URL).f(E[58])"),
    Case("memfd-socket-sendfile", "import os, socket\nb = ','.join(E).encode()\n"
         "fd = os.memfd_create('m')\nos.write(fd, b)\nos.lseek(fd, 0, 0)\n"
         "s = socket.create_connection(('127.0.0.1', PORT))\ns.sendfile(os.fdopen(fd, 'rb'))\n"
         "s.close()"),
]

NET_TWINS = [   # a raw socket to a host outside ``network.allow_hosts`` is refused whatever it
    # sends: the plain twins are requests without a body
    Twin("plain-header-and-cookie", "import http.client as h, urllib.request as u\n"
         "c = h.HTTPConnection('127.0.0.1', PORT)\n"
         "c.request('GET', '/p', headers={'X-D': 'Paris-12.5'})\nassert c.getresponse().read()\n"
         "u.urlopen(u.Request(URL + '?city=Lyon', headers={'Cookie': 'a=SKU-77'})).read()",
         ("X-D: Paris-12.5", "Cookie: a=SKU-77", "?city=Lyon")),
]

# ---- child processes: what the child wrote (``OUT*``) ----
CHILD = [
    Case("subprocess-input-tee", "import subprocess\n"
         "subprocess.run(['tee', OUT], input='\\n'.join(S), text=True, capture_output=True)"),
    Case("subprocess-env", "import subprocess, os\nsubprocess.run('printenv X > ' + OUT, "
         "shell=True, env={**os.environ, 'X': ','.join(E)})"),
    Case("os-environ-system", "import os\nos.environ['R15X'] = ';'.join(S)\n"
         "try:\n    os.system('printenv R15X > ' + OUT)\nfinally:\n"
         "    del os.environ['R15X']   # later children would carry it (and be refused)"),
    Case("bash-magic-heredoc", "get_ipython().run_cell_magic('bash', '', 'cat > ' + OUT + "
         "' <<EOF\\n' + '\\n'.join(E) + '\\nEOF\\n')"),
    Case("script-magic-python", "get_ipython().run_cell_magic('script', 'python3', "
         "'open(%r, \"w\").write(%r)' % (OUT, ','.join(S)))"),
    Case("posix-spawn", "import os\npid = os.posix_spawn('/bin/sh', ['sh', '-c', "
         "'echo \"$0\" > ' + OUT, ';'.join(E)], dict(os.environ))\nos.waitpid(pid, 0)"),
    Case("subprocess-cwd", "import subprocess, os\nd = OUT + '.d/' + E[12]\nos.makedirs(d)\n"
         "subprocess.run('pwd > ../../' + OUT, shell=True, cwd=d)"),
    Case("spawn-process-args", "import multiprocessing as mp, pathlib\n"
         "p = mp.get_context('spawn').Process(target=pathlib.Path(OUT).write_text, "
         "args=(','.join(E),))\np.start()\np.join()"),
    Case("asyncio-stdin-write", "import asyncio\nasync def f():\n"
         "    p = await asyncio.create_subprocess_exec('tee', OUT, "
         "stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL)\n"
         "    p.stdin.write(';'.join(S).encode())\n    await p.stdin.drain()\n"
         "    p.stdin.close()\n    await p.wait()\nawait f()"),
    Case("popen-communicate-in-thread", "import subprocess, threading\n"
         "p = subprocess.Popen(['tee', OUT], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)\n"
         "t = threading.Thread(target=p.communicate, args=(';'.join(E).encode(),))\nt.start()\n"
         "t.join()\np.kill()   # communicate ends only once tee did: a refused one leaves it waiting\n"
         "p.wait()"),
    Case("fork-child-writes", "import os\npid = os.fork()\nif pid == 0:\n    try:\n"
         "        open(OUT, 'w').write(','.join(E))\n    finally:\n        os._exit(0)\n"
         "os.waitpid(pid, 0)"),
    Case("asyncio-subprocess-stdin", "import asyncio\nasync def f():\n"
         "    p = await asyncio.create_subprocess_exec('tee', OUT, "
         "stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL)\n"
         "    await p.communicate(';'.join(S).encode())\nawait f()"),
]

CHILD_TWINS = [
    Twin("plain-child-io", "import subprocess, os\n"
         "subprocess.run(['tee', OUT], input='Paris,12.5', text=True, capture_output=True)\n"
         "subprocess.run('printenv X > ' + OUT + '.env', shell=True, "
         "env={**os.environ, 'X': 'SKU-77'})\nimport asyncio\nasync def f():\n"
         "    p = await asyncio.create_subprocess_exec('tee', OUT + '.a', "
         "stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL)\n"
         "    await p.communicate(b'Lyon,7.5')\nawait f()", ("Paris,12.5", "SKU-77", "Lyon,7.5")),
]

# ---- inference: a right and a wrong guess must get the same answer ----
_C = "SELECT count(*) FROM customers WHERE "
INFER = [
    Guess("similar-to", _C + "ssn SIMILAR TO '{g}'", "10000001.*", "9.*"),
    Guess("regex-operator", _C + "ssn ~ '{g}'", "^10000001", "^9"),
    Guess("starts-with-operator", _C + "ssn ^@ '{g}'", "10000001", "9"),
    Guess("hash-equals", _C + "hash(ssn) = hash('{g}')", "100000012", "900000012"),
    Guess("md5-equals", _C + "md5(email) = md5('{g}')", "user12@example.com", "x@example.com"),
    Guess("case-when-select", "SELECT sum(CASE WHEN ssn LIKE '{g}' THEN 1 ELSE 0 END) "
          "FROM customers", "10000001%", "9%"),
    Guess("filter-clause", "SELECT count(*) FILTER (WHERE email = '{g}') FROM customers",
          "user12@example.com", "x@example.com"),
    Guess("bool-or-select", "SELECT bool_or(ssn = '{g}') FROM customers", "100000012",
          "900000012"),
    Guess("cast-range", _C + "ssn::BIGINT BETWEEN {g}", "100000010 AND 100000020",
          "900000010 AND 900000020"),
    Guess("any-list", _C + "ssn = ANY(['{g}'])", "100000012", "900000012"),
    Guess("slice-equals", _C + "ssn[1:8] = '{g}'", "10000001", "90000001"),
    Guess("ilike", _C + "email ILIKE '{g}'", "USER12@%", "NOBODY@%"),
    Guess("qualify", "SELECT count(*) FROM (SELECT id FROM customers QUALIFY ssn = '{g}')",
          "100000012", "900000012"),
    Guess("join-on-constant", "SELECT count(*) FROM customers c JOIN orders o "
          "ON o.customer_id = c.id AND c.ssn = '{g}'", "100000012", "900000012"),
    Guess("length-of-replace", _C + "length(replace(ssn, '{g}', '')) < 9", "0000001",
          "999"),
    Guess("parameter", "PARAM:" + _C + "ssn = $1", "100000012", "900000012"),
    Guess("relation-filter", "FILTER:ssn = '{g}'", "100000012", "900000012"),
    Guess("regexp-extract", _C + "regexp_extract(ssn, '{g}') <> ''", "^10000001", "^9"),
    Guess("string-compare-max", "SELECT max(ssn) >= '{g}' FROM customers", "100000012",
          "900000012"),
    Guess("in-subquery-of-guess-table", _C + "ssn IN (SELECT s FROM r15c_guess)", "100000012",
          "900000012", pre="CREATE OR REPLACE TEMP TABLE r15c_guess AS SELECT '{g}' AS s"),
    Guess("comma-join-values", "SELECT count(*) FROM customers, (VALUES ('{g}')) v(s) "
          "WHERE ssn = s", "100000012", "900000012"),
    Guess("any-subquery-of-guess-table", _C + "ssn = ANY(SELECT s FROM r15c_guess2)",
          "100000012", "900000012",
          pre="CREATE OR REPLACE TEMP TABLE r15c_guess2 AS SELECT '{g}' AS s"),
    Guess("intersect", "SELECT count(*) FROM (SELECT ssn FROM customers INTERSECT SELECT '{g}')",
          "100000012", "900000012"),
    Guess("except", "SELECT count(*) FROM (SELECT '{g}' EXCEPT SELECT ssn FROM customers)",
          "100000012", "900000012"),
    Guess("union-distinct", "SELECT count(*) FROM (SELECT ssn FROM customers UNION "
          "SELECT '{g}')", "100000012", "900000012"),
    Guess("pivot-on-in-list", "PIVOT (SELECT ssn, city FROM customers) ON ssn IN ('{g}') "
          "USING count(*) GROUP BY city ORDER BY city", "100000012", "900000012"),
    Guess("prepare-execute", "EXECUTE r15c_q('{g}')", "100000012", "900000012",
          pre="PREPARE r15c_q AS " + _C + "ssn = $1"),
]

INFER_TWINS = [
    Twin("plain-predicates", "print(con.sql(\"SELECT count(*) FROM customers WHERE city "
         "SIMILAR TO 'Ly.*'\").fetchall(), con.sql(\"SELECT count(*) FROM customers WHERE "
         "amount BETWEEN 0 AND 30\").fetchall())", ("[(67,)] [(21,)]",)),
    Twin("join-on-email", "print(con.sql('SELECT count(*) FROM customers a JOIN customers b "
         "ON a.email = b.email').fetchall(), con.sql('SELECT count(*) FROM customers a WHERE "
         "a.email IN (SELECT b.email FROM customers b WHERE b.id < 5)').fetchall())",
         ("[(200,)] [(5,)]",)),
    Twin("plain-prepared-and-values", "con.execute(\"PREPARE r15c_p AS SELECT count(*) FROM "
         "customers WHERE city = $1\")\nprint(con.sql(\"EXECUTE r15c_p('Lyon')\").fetchall(), "
         "con.sql(\"SELECT count(*) FROM customers, (VALUES ('Nice')) v(c) WHERE city = c\")"
         ".fetchall())", ("[(67,)] [(66,)]",)),
    Twin("plain-pivot", "print(con.sql(\"PIVOT (SELECT city FROM customers) ON city IN "
         "('Lyon') USING count(*)\").fetchall())", ("[(67,)]",)),
    Twin("plain-set-operations", "print(con.sql(\"SELECT count(*) FROM (SELECT city FROM "
         "customers UNION SELECT 'Paris')\").fetchall(), con.sql('SELECT count(*) FROM (SELECT "
         "email FROM customers INTERSECT SELECT email FROM customers WHERE id < 7)').fetchall())",
         ("[(3,)] [(7,)]",)),
]
