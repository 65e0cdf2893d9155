"""Known values written or shown cut, as floats or respelt (red team 18, trunc19), in the red15e
kernel (``test_red15e_network.Net``: 60 customers fetched, the exfiltration budget spent): an
SSN with one end digit cut (``s[1:]``, ``s[:-1]``, ``s.replace('-', '')[1:]``), in a float
column (``astype(float)``, ``/ 1e9``), with one filler character between its digits, as a list
of character codes; an e-mail with its last characters cut (``e[:-2]``). Each attack asserts
that the cell is refused as ``exfiltration`` or shows the form masked, that no raw value is in
any message the kernel sent (``raw_in``), and that the recoverable form itself (``FORMS``) is in
no message and no file the cell left. Each benign twin (eight-digit invoice numbers and dates,
decimal amounts, version strings, an unknown address cut) is written or printed whole."""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.enforce.test_red15c_corpus import EMAILS, SSNS, raw_in
from tests.enforce.test_red15e_network import Net, net  # noqa: F401 - the fixture

V = "S[5:]"
FORMS: dict[str, Callable[[str], str]] = {
    "cut-first": lambda s: s[1:],
    "cut-last": lambda s: s[:-1],
    "float": lambda s: repr(float(s)),
    "fraction": lambda s: repr(int(s) / 1e9),
    "filler": lambda s: "x".join(s),
    "filler-letters": lambda s: "".join(c + "abcdefghij"[i] for i, c in enumerate(s)),
    "codes": lambda s: ", ".join(str(ord(c)) for c in s),
    "email-cut": lambda e: e[:-2],
}
_PY = {
    "cut-first": "s[1:]", "cut-last": "s[:-1]", "float": "repr(float(s))",
    "fraction": "repr(int(s) / 1e9)", "filler": "'x'.join(s)",
    "filler-letters": "''.join(c + 'abcdefghij'[i] for i, c in enumerate(s))",
    "codes": "str([ord(c) for c in s])",
}
WRITES = {f"write-{k}": ("open(OUT, 'w').write('\\n'.join(" + py + f" for s in {V}))", k)
          for k, py in _PY.items()}
WRITES |= {
    "write-nodash-cut": ("open(OUT, 'w').write('\\n'.join(s.replace('-', '')[1:] for s in "
                         f"{V}))", "cut-first"),
    "to-csv-cut": ("df[['id']].assign(x=df.ssn.str[1:]).to_csv(OUT)", "cut-first"),
    "to-csv-float": ("df[['id']].assign(x=df.ssn.str.replace('-', '').astype(float))"
                     ".to_csv(OUT)", "float"),
    "to-csv-fraction": ("df[['id']].assign(x=df.ssn.astype('int64') / 1e9).to_csv(OUT)",
                        "fraction"),
    "write-email-cut": ("open(OUT, 'w').write('\\n'.join(e[:-2] for e in E[5:]))",
                        "email-cut"),
}
SHOWN = {f"print-{k}": ("print('\\n'.join(" + py + f" for s in {V}))", k)
         for k, py in _PY.items()}
SHOWN |= {
    "print-loop-cut": (f"for s in {V}:\n    print(s[1:])", "cut-first"),
    "display-fraction": ("display(df[['id']].assign(x=df.ssn.astype('int64') / 1e9))",
                         "fraction"),
    "print-email-cut": ("print('\\n'.join(e[:-2] for e in E[5:]))", "email-cut"),
}


def _left(text: str, case: str) -> list[str]:
    """The case's form of a value of rows 5-59, standing as a token in ``text``."""
    form = FORMS[case]
    values = EMAILS[5:] if case.startswith("email") else SSNS[5:]
    return [v for v in values
            if re.search(rf"(?<![0-9.]){re.escape(form(v))}(?![0-9]|\.[0-9])", text)]


def _files(workdir: Path, out: str) -> str:
    return "\n".join(p.read_bytes().decode("latin-1") for p in workdir.glob(out + "*"))


@pytest.mark.kernel
@pytest.mark.parametrize("case", list(WRITES))
def test_cut_forms_in_a_file_are_refused(net: Net, case: str) -> None:  # noqa: F811
    code, form = WRITES[case]
    ok, wire = net.run(f"t19_{case}", code)[:2]
    left = _left(_files(net.workdir, f"r15e_t19_{case}"), form)
    assert not left, f"{case} (ran: {ok}): the file holds the {form} form of {left[:3]}"
    assert not raw_in([wire]), wire[:2000]
    assert not _left(wire.decode("utf-8", "replace"), form), wire[-2000:]
    assert not ok and "exfiltration" in wire.decode("utf-8", "replace"), wire[-2000:]


@pytest.mark.kernel
@pytest.mark.parametrize("case", list(SHOWN))
def test_cut_forms_shown_are_masked(net: Net, case: str) -> None:  # noqa: F811
    code, form = SHOWN[case]
    ok, wire = net.run(f"t19_{case}", code)[:2]
    assert not raw_in([wire]), wire[:2000]
    left = _left(wire.decode("utf-8", "replace").replace("\\n", "\n"), form)
    assert not left, f"{case} (ran: {ok}): shown {left[:3]}"


TWINS = {
    "invoices-dates-csv": (
        "import pandas as pd\npd.DataFrame({'invoice': [f'{51234567 + i * 7919}' for i in "
        "range(2000)], 'day': [20240101 + i % 28 for i in range(2000)], 'amount': "
        "[round(i * 1.25, 2) for i in range(2000)]}).to_csv(OUT, index=False)",
        lambda text: text.splitlines()[1:3] == ["51234567,20240101,0.0",
                                                "51242486,20240102,1.25"]
        and len(text.splitlines()) == 2001),
    "fractions-write": (
        "open(OUT, 'w').write('\\n'.join(f'{i / 1e7:.7f}' for i in range(1000, 3000)))",
        lambda text: text.splitlines()[:2] == ["0.0001000", "0.0001001"]
        and len(text.splitlines()) == 2000),
    "versions-codes": (
        "open(OUT, 'w').write('\\n'.join(['v1.2.3.4.5.6.7.8.9', str([ord(c) for c in "
        "'hello world 2024']), 'support@example.c', 'a1b2c3d4e5f6g7h8i9']))",
        lambda text: text.splitlines()[0] == "v1.2.3.4.5.6.7.8.9"
        and text.splitlines()[2:] == ["support@example.c", "a1b2c3d4e5f6g7h8i9"]),
}


@pytest.mark.kernel
@pytest.mark.parametrize("twin", list(TWINS))
def test_ordinary_numbers_are_written_and_shown_whole(net: Net, twin: str) -> None:  # noqa: F811
    code, check = TWINS[twin]
    ok, wire = net.run(f"t19t_{twin}", code)[:2]
    assert ok, wire[-2000:]
    text = (net.workdir / f"r15e_t19t_{twin}").read_text()
    assert check(text), text[:300]
    ok, wire = net.run(f"t19p_{twin}", f"print(open('r15e_t19t_{twin}').read())")[:2]
    assert ok and check(_stream(wire)[:-1]), wire[-2000:]   # (print adds a line end)


def _stream(wire: bytes) -> str:
    """The text of the cell's stream messages, joined."""
    import json

    out = []
    for m in re.finditer(rb'"name": ?"stdout", ?"text": ?("(?:[^"\\]|\\.)*")', wire):
        out.append(json.loads(m.group(1)))
    return "".join(out)


SQLITE = {
    "text-pieces": "[(s[:5], s[5:]) for s in S[5:]]",
    "int-pieces": "[(int(s[:4]), int(s[4:])) for s in S[5:]]",
}


@pytest.mark.kernel
@pytest.mark.parametrize("case", list(SQLITE))
def test_sqlite_rows_of_pieces_are_refused(net: Net, case: str) -> None:  # noqa: F811
    db = net.workdir / f"t19_sqlite_{case}.db"
    ok, wire = net.run(f"t19_sqlite_{case}", (
        f"import sqlite3\nc = sqlite3.connect({str(db)!r})\nc.execute('create table t (a, b)')\n"
        f"c.executemany('insert into t values (?, ?)', {SQLITE[case]})\nc.commit()\nc.close()"))[:2]
    import sqlite3

    with sqlite3.connect(db) as c:
        rows = c.execute("select a, b from t").fetchall()
    width = 5 if case == "text-pieces" else 4
    back = {f"{a}".zfill(width) + f"{b}".zfill(9 - width) for a, b in rows} & set(SSNS)
    assert not back, f"{case} (ran: {ok}): the database gives back {sorted(back)[:3]}"
    assert not raw_in([wire]), wire[:2000]
    assert not ok and "exfiltration" in wire.decode("utf-8", "replace"), wire[-2000:]


@pytest.mark.kernel
def test_sqlite_rows_of_ordinary_numbers_are_written(net: Net) -> None:  # noqa: F811
    db = net.workdir / "t19_sqlite_twin.db"
    rows = [(f"{10001 + i * 41 % 89000}", f"{1950 + i % 75}") for i in range(500)]
    ok, wire = net.run("t19_sqlite_twin", (
        f"import sqlite3\nc = sqlite3.connect({str(db)!r})\nc.execute('create table t (a, b)')\n"
        f"c.executemany('insert into t values (?, ?)', {rows!r})\nc.commit()\nc.close()"))[:2]
    assert ok, wire[-2000:]
    import sqlite3

    with sqlite3.connect(db) as c:
        assert c.execute("select a, b from t").fetchall() == rows
