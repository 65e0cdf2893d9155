"""Red team corpus, issue 15 (red15c): raw e-mails and SSNs read from the warehouse's
``customers`` must not leave a real guarded kernel through writers, encodings, channels,
derived values or SQL predicates the other tests do not spell (the table: ``red15c_cases``).

Judged by effect only: after each case, whatever an attacker could read back is recovered
(every message of the cell with its buffers, the case's files with their names, link targets
and extended attributes, the bytes a loopback listener received, what a child wrote) and
undone the ways a reader would (compression, archives, UTF-16/32, rot13, reversal, packed
integers, URL and HTML escapes); no raw value may be found. An inference probe asks the same
question with a right and a wrong guess: the answers must not differ. Each class has benign
twins that run with their plain values intact. One kernel per group, a fresh file per case.
"""
from __future__ import annotations

import binascii
import bz2
import codecs
import gzip
import html
import io
import json
import lzma
import os
import re
import socket
import struct
import tarfile
import time
import urllib.parse
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.enforce import lines15_cases as lines15
from tests.enforce import red15c_cases as cases
from tests.enforce.test_exits import Recorder
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

EMAILS = [f"user{n}@example.com" for n in range(60)]
SSNS = [f"{100000000 + n:09d}" for n in range(60)]
RAW = EMAILS[5:] + SSNS[5:]
SETUP = ("df = con.sql('SELECT * FROM customers ORDER BY id LIMIT 60').df()\n"
         "E = df.email.tolist()\nS = df.ssn.tolist()")


# ---- undoing what an attacker's reader would undo ----

def _unpack(data: bytes) -> list[bytes]:
    """``data`` and what it holds once decompressed or unarchived (one level each way)."""
    out = [data]
    for body in {data, data.partition(b"\r\n\r\n")[2]}:
        for undo in (zlib.decompress, gzip.decompress, bz2.decompress, lzma.decompress):
            try:
                out.append(undo(body))
            except Exception:  # noqa: BLE001 - not that format: nothing to add
                continue
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            out += [z.read(n) for n in z.namelist()]
    except Exception:  # noqa: BLE001 - not a zip
        pass
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as t:
            for m in t.getmembers():
                f = t.extractfile(m)
                if f is not None:
                    out.append(f.read())
    except Exception:  # noqa: BLE001 - not a tar
        pass
    return out


def _texts(data: bytes) -> list[str]:
    texts = [data.decode("latin-1"), data[::-1].decode("latin-1")]
    for enc in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        for shift in (0, 1, 2, 3):
            texts.append(data[shift:].decode(enc, errors="ignore"))
    if len(data) % 8 == 0 and data:
        texts.append(",".join(str(v) for v in struct.unpack(f"<{len(data) // 8}q", data)))
    return texts


_LETTERS = str.maketrans("abcdefghij", "0123456789")
_LETTERS_SHIFTED = (str.maketrans("bcdefghija", "0123456789"),
                    str.maketrans("jabcdefghi", "0123456789"))


def _lines(t: str) -> list[str]:
    """Values written down a column: the lines joined, and the last character of each line
    joined (a Series of characters shows its index before each)."""
    rows = t.replace("\\n", "\n").split("\n")
    out = ["".join(rows), "".join(r.rstrip()[-1:] for r in rows)]
    for r in rows:
        try:
            out.append(binascii.a2b_uu(r).decode("latin-1"))
        except (binascii.Error, ValueError):
            continue
    return out


_ONE_CHAR = re.compile(r"(?:\n|\\n|\")")
_MAILISH = re.compile(r"(?<![\w.+-])([\w.+-]+)@")   # (the look-behind: linear on long words)
_LONG = re.compile(r"[^\s\"',\[\]]{16,}")


def _respelt(t: str) -> list[str]:
    """What a reader undoes by hand: case, a local part backwards, the '@' dropped or as a
    word, two values interleaved, and the characters standing alone on a line (whatever lines
    stand between them, in the order the messages came)."""
    ones = "".join(p.strip() for p in _ONE_CHAR.split(t)
                   if len(p.strip()) == 1 and (p.strip().isalnum() or p.strip() in "@."))
    woven = [w[k::2] for w in _LONG.findall(t) for k in (0, 1)]
    streams = [["".join(c for c in ln if c.isalnum()) for ln in body.split("\\n")]
               for name in ("stdout", "stderr")
               for body in re.findall(rf'"name": "{name}", "text": "([^"]*)"', t)[:1]]
    if len(streams) == 2:   # the two streams' lines taken in turn, either first
        woven += ["".join(a + b for a, b in zip(x, y)) for x, y in (streams, streams[::-1])]
    return [t.lower(), _MAILISH.sub(lambda m: m.group(1)[::-1] + "@", t),
            t.replace("example.com", "@example.com").replace(" at @", "@"), ones, *woven]


def _undone(t: str) -> list[str]:
    """What a reader makes of one text of a capture: ``recover``'s pieces for it."""
    t = t.replace("\\x00", "").replace("\x00", "")
    t = re.sub(r"\\+u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), t)
    more = [t, codecs.encode(t, "rot13"), urllib.parse.unquote(html.unescape(t)),
            t.translate(_LETTERS), *(t.translate(k) for k in _LETTERS_SHIFTED),
            *_lines(t), *_respelt(t)]
    for big in re.findall(r"\d{40,}", t):
        n = int(big)
        more.append(n.to_bytes((n.bit_length() + 7) // 8, "big").decode("latin-1"))
    for ints in re.findall(r"\[\d+(?:, \d+)+\]", t):
        more.append(bytes(int(v) for v in ints[1:-1].split(", ") if int(v) < 256)
                    .decode("latin-1"))
    return more


def _texts_of(data: bytes) -> list[str]:
    return [t for part in _unpack(data) for t in _texts(part)]


def _pieces(data: bytes) -> Iterator[str]:
    """``recover``'s pieces of ``data`` in order (a text met twice is undone once)."""
    done: dict[str, list[str]] = {}
    for t in _texts_of(data):
        if t not in done:
            done[t] = _undone(t)
        yield from done[t]


def recover(data: bytes) -> str:
    """``data`` undone every way above, one piece a line."""
    return "\n".join(_pieces(data))


def missing(expect: list[str], parts: list[bytes]) -> list[str]:
    """``[e for e in expect if e not in "\\n".join(recover(p) for p in parts)]``, read piece by
    piece and stopped once every ``e`` is found (the text before each piece kept as far back as
    the longest ``e`` reaches, so one spanning pieces is found as in the whole text)."""
    left, reach = [e for e in expect if e], max((len(e) for e in expect), default=1) - 1
    tail: str | None = None
    done: dict[bytes, list[str]] = {}   # the pieces of small parts, kept for when they come again
    for p in parts:
        kept, made = done.get(p), []
        for piece in _pieces(p) if kept is None else kept:
            made.append(piece)
            window = piece if tail is None else tail + "\n" + piece
            left = [e for e in left if e not in window]
            if not left:
                return []
            tail = window[max(0, len(window) - reach):]
        if kept is None and len(p) < 1 << 16:
            done[p] = made
    return left


def _digits(text: str) -> str:
    for c in " -|\u2010\u2011\u2012\u2013\u2014\u2212\u00a0":
        text = text.replace(c, "")
    return text


def _automaton() -> Any:
    import ahocorasick

    a = ahocorasick.Automaton()
    for v in RAW:
        a.add_word(v, v)
    a.make_automaton()
    return a


_RAW_FINDER = _automaton()


def raw_in(parts: list[bytes]) -> list[str]:
    """The values of ``RAW`` in what ``parts`` hold once recovered (one automaton pass over the
    text and over its digits: the recovered text is tens of megabytes for some cases)."""
    # each distinct part, text and piece once: a value holds no newline and ``_digits`` keeps
    # them, so a value is in the pieces joined iff it is in one piece: the same values as
    # searching every part's ``recover`` joined
    texts = {t: None for p in dict.fromkeys(parts) for t in _texts_of(p)}
    pieces = {piece: None for t in texts for piece in _undone(t)}
    text = "\n".join(pieces)
    found = {v for t in (text, _digits(text)) for _, v in _RAW_FINDER.iter(t)}
    return [v for v in RAW if v in found]


# ---- what a case left behind ----

def files_of(workdir: Path, out: str) -> list[bytes]:
    """Every file, directory, link and attribute whose name starts with ``out``: names, link
    targets, extended attributes and contents."""
    parts: list[bytes] = []
    for top in workdir.glob(out + "*"):
        paths = [top] + (sorted(top.rglob("*")) if not top.is_symlink() and top.is_dir() else [])
        for p in paths:
            parts.append(str(p.relative_to(workdir)).encode())
            if p.is_symlink():
                parts.append(os.readlink(p).encode())
                continue
            for name in os.listxattr(p):
                parts.append(os.getxattr(p, name))
            if p.is_file():
                parts.append(p.read_bytes())
    return parts


def run_wire(k: Kernel, code: str) -> tuple[bool, bytes]:
    """Run ``code``: whether it succeeded, and every iopub message until the cell is idle
    (whatever parent it names), their buffers, and the shell reply."""
    msg_id = k.kc.execute(code)
    seen: list[dict[str, Any]] = []
    while True:
        m = k.kc.get_iopub_msg(timeout=90)
        seen.append(m)
        if (m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "status"
                and m["content"]["execution_state"] == "idle"):
            break
    reply = k.kc.get_shell_msg(timeout=90)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = k.kc.get_shell_msg(timeout=90)
    buffers = b"\n".join(bytes(b) for m in seen for b in m.get("buffers") or [])
    return reply["content"]["status"] == "ok", wire_text(seen, reply).encode() + b"\n" + buffers


def wire_text(seen: list[dict[str, Any]], reply: dict[str, Any]) -> str:
    """The messages' types, contents and metadata and the reply's content as JSON, without the
    ids the guard and ipykernel made (``_made_ids``)."""
    kept = [[m["msg_type"], m["content"], m.get("metadata")] for m in seen
            if m["msg_type"] != "execute_input"] + [reply["content"]]
    text = json.dumps(kept, default=str, ensure_ascii=False)
    for made in sorted(_made_ids(kept), key=len, reverse=True):
        text = text.replace(made, "")
    return text


# the random ids the guard and ipykernel put in a cell's messages: no user code chooses them,
# and read the ways ``_undone`` reads text (letters as digits) one in ~25,000 cells spelt an SSN
# of the test warehouse (``b0aaaaacg`` is ``100000026``): a leak the cell never made
def _made_ids(kept: list[Any]) -> set[str]:
    """The refusal's decision id, approval request id and policy revision, and ipykernel's
    engine id, in each content (an error's, the reply's): where they stand, not any string a
    cell could put under such a name."""
    out: set[str] = set()
    for c in (x[1] if isinstance(x, list) else x for x in kept):
        if not isinstance(c, dict):
            continue
        jg, engine = c.get("jupyter_guard"), c.get("engine_info")
        if isinstance(jg, dict):
            out |= {jg.get("decision_id"), (jg.get("approval") or {}).get("request_id"),
                    (jg.get("policy") or {}).get("revision")}
        if isinstance(engine, dict):
            out.add(engine.get("engine_uuid"))
    return {i for i in out if isinstance(i, str) and len(i) >= 8}


def drained(rec: Recorder, tag: str) -> bytes:
    """What the listener received once every earlier connection is read: it serves one
    connection at a time, so a marker sent last arrives after them."""
    with socket.create_connection(("127.0.0.1", rec.port)) as s:
        s.sendall(tag.encode())
    deadline = time.monotonic() + 60
    while tag.encode() not in rec.received:
        assert time.monotonic() < deadline, "the listener never read the marker"
        time.sleep(0.05)
    data = bytes(rec.received)
    rec.received.clear()
    return data.replace(tag.encode(), b"")


# ---- one kernel per group ----

class Group:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._cm = guarded_kernel(workdir, warehouse=200, connect=True)
        self.k = self._cm.__enter__()
        self.k.ok(SETUP)
        self.rec = Recorder()
        self.k.ok(f"PORT = {self.rec.port}\nURL = 'http://127.0.0.1:{self.rec.port}/'")

    def close(self) -> None:
        self.rec.close()
        self._cm.__exit__(None, None, None)


@pytest.fixture(scope="module")
def group(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Group]]:
    made: dict[str, Group] = {}

    def get(name: str) -> Group:
        if name not in made:
            made[name] = Group(tmp_path_factory.mktemp(f"red15c_{name}"))
        return made[name]

    yield get
    for g in made.values():
        g.close()


def _params(table: list[Any]) -> list[Any]:
    return [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True, raises=AssertionError,
                                                               reason=c.leak)]
                         if getattr(c, "leak", "") else []) for c in table]


def _effects(g: Group, name: str, code: str) -> tuple[bool, list[bytes]]:
    """Run a case: whether it succeeded, and each thing it left apart (its messages, each of
    its files, what the listener received)."""
    out = f"r15c_{name}"
    ok, wire = run_wire(g.k, f"OUT = {out!r}\n{code}")
    return ok, [wire, *files_of(g.workdir, out), drained(g.rec, f"MARK-{name}")]


@pytest.mark.parametrize("case", _params(cases.FILES + lines15.FILES))
def test_file_writers(group: Callable[[str], Group], case: cases.Case) -> None:
    ok, seen = _effects(group("files"), case.id, case.code)
    assert not raw_in(seen), f"{case.id} (ran: {ok}) left raw values: {raw_in(seen)[:3]}"


@pytest.mark.parametrize("case", _params(cases.WIRE + lines15.WIRE))
def test_messages(group: Callable[[str], Group], case: cases.Case) -> None:
    ok, seen = _effects(group("wire"), case.id, case.code)
    assert not raw_in(seen), f"{case.id} (ran: {ok}) sent raw values: {raw_in(seen)[:3]}"


@pytest.mark.parametrize("case", _params(cases.NET))
def test_network(group: Callable[[str], Group], case: cases.Case) -> None:
    ok, seen = _effects(group("net"), case.id, case.code)
    assert not raw_in(seen), f"{case.id} (ran: {ok}) sent raw values: {raw_in(seen)[:3]}"


@pytest.mark.parametrize("case", _params(cases.CHILD))
def test_children(group: Callable[[str], Group], case: cases.Case) -> None:
    ok, seen = _effects(group("child"), case.id, case.code)
    assert not raw_in(seen), f"{case.id} (ran: {ok}) gave a child raw values: {raw_in(seen)[:3]}"


TWINS = ([("files", t) for t in cases.FILE_TWINS + lines15.FILE_TWINS]
         + [("wire", t) for t in cases.WIRE_TWINS + lines15.WIRE_TWINS]
         + [("net", t) for t in cases.NET_TWINS] + [("child", t) for t in cases.CHILD_TWINS]
         + [("infer", t) for t in cases.INFER_TWINS])


@pytest.mark.parametrize(("name", "twin"), [pytest.param(n, t, id=f"{n}-{t.id}")
                                            for n, t in TWINS])
def test_benign_twins(group: Callable[[str], Group], name: str, twin: cases.Twin) -> None:
    ok, seen = _effects(group(name), twin.id, twin.code)
    shown = b"\n".join(seen).decode("latin-1")[:3000]
    assert ok, shown
    lost = missing(list(twin.expect), seen)
    assert not lost, f"{lost}\n{shown}"


def _answer(k: Kernel, probe: cases.Guess, guess: str) -> str:
    if probe.pre:
        r = k.run(f"con.execute({probe.pre.format(g=guess)!r})")
        if not r.ok:
            return "refused"
    if probe.sql.startswith("PARAM:"):
        code = f"print(con.execute({probe.sql[6:]!r}, [{guess!r}]).fetchall())"
    elif probe.sql.startswith("FILTER:"):
        where = probe.sql[7:].format(g=guess)
        code = f"print(con.table('customers').filter({where!r}).aggregate('count(*)').fetchall())"
    else:
        code = f"print(con.sql({probe.sql.format(g=guess)!r}).fetchall())"
    r = k.run(code)
    return r.stream if r.ok else "refused"


@pytest.mark.parametrize("probe", _params(cases.INFER))
def test_inference(group: Callable[[str], Group], probe: cases.Guess) -> None:
    k = group("infer").k
    hit, miss = _answer(k, probe, probe.hit), _answer(k, probe, probe.miss)
    assert hit == miss, f"{probe.id}: a right guess answers {hit!r}, a wrong one {miss!r}"
