"""Issue 15, channels (red teams 19 and 21): a value taken from a sensitive column into plain
Python strings (``for s in df.ssn``) and printed a few characters a message, each piece
encoded (hex, base64, character codes, digit words), out of order with its index beside it,
or with a decoy long token between pieces.

Judged by effect on every message the client received (iopub and shell, headers included):
every string of every message is read in order as a person would decode it (each form's own
decoder, and the raw text) and the values of 300 random people (``ddd-dd-dddd`` SSNs,
``first.last123@`` e-mails) that come out are counted. Benign twins (hashes, UUIDs, a picture's
base64, ``print(*map(ord, 'hello'))``, an enumerated list) arrive exactly as sent.
"""
from __future__ import annotations

import base64
import binascii
import random
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from jupyter_guard.connections import unwrap
from tests.kernelutil import Kernel, every_message, guarded_kernel

pytestmark = pytest.mark.kernel

N = 300
RESET = "print('a-longer-line-ends-every-run')"
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def people() -> list[tuple[int, str, str]]:
    rnd = random.Random(22)
    names = ["anna", "omar", "li", "sofia", "jan", "maria", "kenji", "ada", "ravi", "eva"]
    domains = ["gmail.com", "yahoo.com", "outlook.com", "proton.me", "uni.edu"]
    return [(i, f"{rnd.choice(names)}.{rnd.choice(names)}{rnd.randint(1, 999)}@"
                f"{rnd.choice(domains)}",
             f"{rnd.randint(100, 899)}-{rnd.randint(10, 99)}-{rnd.randint(1000, 9999)}")
            for i in range(N)]


PEOPLE = people()
EMAILS = [e for _, e, _ in PEOPLE]
SSNS = [s for _, _, s in PEOPLE]


def warehouse(path: Path) -> None:
    con = unwrap(duckdb.connect(str(path)))   # the test's own set-up, outside any guard
    try:
        con.execute("CREATE TABLE customers (id BIGINT, email VARCHAR, ssn VARCHAR)")
        con.executemany("INSERT INTO customers VALUES (?, ?, ?)", PEOPLE)
    finally:
        con.close()


@pytest.fixture(scope="module")
def k(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    d = tmp_path_factory.mktemp("chan22")
    warehouse(d / "wh.duckdb")
    with guarded_kernel(d, connect=True) as kernel:
        kernel.ok("import base64, random, uuid, hashlib\n"
                  "df = con.sql('SELECT email, ssn FROM customers ORDER BY id').df()\n"
                  f"W = {WORDS!r}\n"
                  "rnd = random.Random(5)")
        yield kernel


def run(k: Kernel, code: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``every_message`` of ``code`` (thousands of messages on a loaded machine: waited for up
    to ten minutes)."""
    return every_message(k, code, seconds=600)


# ---- what a person reads out of the messages ----

def strings(m: Any, out: list[str], keys: list[str]) -> None:
    if isinstance(m, str):
        out.append(m)
    elif isinstance(m, dict):
        for key, v in m.items():
            keys.append(str(key))
            strings(v, out, keys)
    elif isinstance(m, (list, tuple)):
        for v in m:
            strings(v, out, keys)
    elif isinstance(m, (int, float)) and not isinstance(m, bool):
        out.append(str(m))


def texts(msgs: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Every string of every message, headers included, in the order received (the kernel's
    echo of the code left out: it holds the code, not its output), and every key apart."""
    out: list[str] = []
    keys: list[str] = []
    for m in msgs:
        if m["msg_type"] == "execute_input":
            continue
        for part in ("header", "parent_header", "metadata", "content"):
            strings(m.get(part), out, keys)
    return out, keys


def _tokens(text: str) -> list[str]:
    return re.findall(r"[^\s'\",:;\[\]{}()<>|`*$\\^~]+", text)


def _hex(t: str) -> str:
    t = t[2:] if t.startswith("0x") else t
    try:
        return bytes.fromhex(t).decode("latin-1")
    except ValueError:
        return ""


def _b64(t: str) -> str:
    try:
        return base64.b64decode(t + "=" * (-len(t) % 4), validate=True).decode("latin-1")
    except (binascii.Error, ValueError):
        return ""


def _ord(t: str) -> str:
    return chr(int(t)) if t.isdigit() and 32 <= int(t) < 127 else ""


def _word(t: str) -> str:
    return str(WORDS.index(t.lower())) if t.lower() in WORDS else ""


DECODERS: dict[str, Callable[[str], str]] = {"hex": _hex, "base64": _b64, "ord": _ord,
                                             "words": _word}


def _indexed(lines: list[str]) -> str:
    """Lines ``i piece`` put back in order (a group ends where an index comes again)."""
    out: list[str] = []
    group: dict[int, str] = {}
    for line in lines:
        m = re.fullmatch(r"\s*(\d+)\s+(\S+)\s*", line)
        if m is None:
            continue
        i = int(m.group(1))
        if i in group:
            out.append("".join(group[j] for j in sorted(group)))
            group = {}
        group[i] = m.group(2)
    out.append("".join(group[j] for j in sorted(group)))
    return " ".join(out)


def readings(msgs: list[dict[str, Any]]) -> list[str]:
    """The texts a person gets out: the raw text, short tokens joined, each decoder's output
    joined, lines of ``index piece`` put back in order."""
    values, keys = texts(msgs)
    out: list[str] = []
    for all_texts in (values, keys):
        toks = [t for s in all_texts for t in _tokens(s)]
        out += ["\n".join(all_texts), "".join(t for t in toks if len(t) <= 4)]
        for decode in DECODERS.values():
            out.append("".join(decode(t) for t in toks))
        lines = [line for s in all_texts for line in s.splitlines()]
        out.append(_indexed(lines))
    return out


def recovered(msgs: list[dict[str, Any]], values: list[str]) -> list[str]:
    """The values (or an SSN's digits) any reading spells."""
    got = readings(msgs)
    digits = [re.sub(r"\D", "", g) for g in got]
    return [v for v in values if any(v in g for g in got)
            or ("@" not in v and any(re.sub(r"\D", "", v) in d for d in digits))]


# ---- the forms ----

PIECES = "for s in V:\n    for i in range(0, len(s), 3):\n        print({expr}, flush=True)"
FORMS: dict[str, str] = {
    "hex": PIECES.format(col="{col}", expr="s[i:i + 3].encode().hex()"),
    "base64": PIECES.format(col="{col}", expr="base64.b64encode(s[i:i + 3].encode()).decode()"),
    "base64-bytes": PIECES.format(col="{col}", expr="base64.b64encode(s[i:i + 3].encode())"),
    "ord-line": "for s in V:\n    print(*map(ord, s), flush=True)",
    "ord-each": "for s in V:\n    for c in s:\n        print(ord(c), flush=True)",
    "hex-ord": "for s in V:\n    for c in s:\n        print(hex(ord(c)), flush=True)",
    "shuffled": "for s in V:\n    idx = list(range(0, len(s), 3))\n"
                "    rnd.shuffle(idx)\n    for i in idx:\n        print(i, s[i:i + 3], flush=True)",
    "decoys": PIECES.format(col="{col}", expr="s[i:i + 3]") + "\n        print(uuid.uuid4(), "
                                                               "flush=True)",
}
SSN_ONLY = {
    "words": "for s in V:\n    d = s.replace('-', '')\n    for i in range(0, 9, 3):\n"
             "        print(' '.join(W[int(c)] for c in d[i:i + 3]), flush=True)",
}
EACH = {"ord-each": 40, "hex-ord": 40, "decoys": 100}
"""Forms of one message a character: measured on fewer people (each cell must end in time)."""
EMAILS_READ = 100
"""E-mails sent (eight pieces each: 800 messages a form)."""
OPEN: set[str] = set()
CASES = [(f, c) for f in FORMS for c in ("ssn", "email")] + [(f, "ssn") for f in SSN_ONLY]


@pytest.mark.parametrize(("form", "col"), CASES, ids=[f"{f}-{c}" for f, c in CASES])
def test_encoded_pieces_of_300_people_leave_no_value(k: Kernel, form: str, col: str) -> None:
    if form in OPEN:
        pytest.xfail(f"{form}: still open (docs/threat-model.md)")
    n = EACH.get(form, N if col == "ssn" else EMAILS_READ)
    code = f"V = list(df.{col})[:{n}]\n" + (FORMS.get(form) or SSN_ONLY[form])
    run(k, RESET)
    reply, msgs = run(k, code)
    assert reply["status"] == "ok", reply
    values = (SSNS if col == "ssn" else EMAILS)[:n]
    out = recovered(msgs, values)
    print(f"MEASURE {form}-{col}: {len(out)}/{len(values)} recovered")
    assert not out, f"{len(out)}/{len(values)} recovered, e.g. {out[:3]}"


def test_a_value_over_cells_with_text_beside_its_first_and_last_piece(k: Kernel) -> None:
    """``print('x', s[:3])``, then ``print(s[3:6])``, … ``print(s[-3:], 'y')``, a cell each,
    for 20 people."""
    values = SSNS[:20]
    msgs: list[dict[str, Any]] = []
    for n in range(len(values)):
        run(k, RESET)
        for code in (f"print('x', df.ssn[{n}][:3])", f"print(df.ssn[{n}][3:6])",
                     f"print(df.ssn[{n}][6:9])", f"print(df.ssn[{n}][9:], 'y')"):
            msgs += run(k, code)[1]
    out = recovered(msgs, values)
    print(f"MEASURE over-cells: {len(out)}/{len(values)} recovered")
    assert not out, f"{len(out)}/{len(values)} recovered, e.g. {out[:3]}"


# ---- benign twins ----

def stream(msgs: list[dict[str, Any]]) -> str:
    return "".join(m["content"]["text"] for m in msgs if m["msg_type"] == "stream")


BENIGN = {
    "hashes": "for i in range(200):\n    print(hashlib.sha256(str(i).encode()).hexdigest(), "
              "hashlib.md5(str(i).encode()).hexdigest()[:6], flush=True)",
    "uuids": "for i in range(200):\n    print(uuid.UUID(int=i * 7919 + 12345), flush=True)",
    "picture-base64": "import random as r\nfor i in range(50):\n    print(base64.b64encode("
                      "r.Random(i).randbytes(57)).decode(), flush=True)",
    "ord-hello": "print(*map(ord, 'hello'))\nfor c in 'hello world':\n    print(ord(c), flush=True)",
    "hex-words": "for w in ['abc', 'xyz', 'cat', 'dog', 'bee']:\n"
                 "    print(w.encode().hex(), base64.b64encode(w.encode()).decode(), flush=True)",
    "enumerated": "for i, w in enumerate(['ant', 'bee', 'cat', 'dog', 'elk', 'fox']):\n"
                  "    print(i, w, flush=True)",
    "digit-words": "for w in ['one two three', 'four five six', 'seven eight nine']:\n"
                   "    print(w, flush=True)",
}


MASKED_ON_MAIN = {"picture-base64": "lines of base64 of random bytes are masked by the "
                                    "encoded-text detectors on main too (not by the joined "
                                    "reading): a false positive outside this module"}


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=MASKED_ON_MAIN[n]))
    if n in MASKED_ON_MAIN else n for n in BENIGN])
def test_honest_encoded_output_arrives_as_sent(k: Kernel, name: str) -> None:
    code = BENIGN[name]
    expected: list[str] = []

    def capture(*args: Any, **kwargs: Any) -> None:
        expected.append(" ".join(map(str, args)) + "\n")

    exec(code, {"print": capture, "base64": base64, "hashlib": __import__("hashlib"),
                "uuid": __import__("uuid")})
    run(k, RESET)
    reply, msgs = run(k, code)
    assert reply["status"] == "ok", reply
    assert stream(msgs) == "".join(expected)
