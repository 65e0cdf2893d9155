"""Values read from sensitive columns, printed in pieces or glued together, never reach the
frontend raw: the stream masker never emits part of a value ahead of the rest (a flush that
comes mid-value, e.g. before the cell's result is shown), and an e-mail glued to its neighbours
(``''.join(emails)``) is still found. The warehouse's SSNs are bare 9-digit numbers that no
detector matches: only the known values find them."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernelutil import Kernel, Reply, guarded_kernel

pytestmark = pytest.mark.kernel

RAW_SSN = re.compile(r"1000000[0-4]\d")
RAW_EMAIL = re.compile(r"user\d+@example\.com")


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = work_root / "printed_pieces"
    d.mkdir()
    with guarded_kernel(d, warehouse=50, connect=True) as kernel:
        kernel.ok("df = con.sql('SELECT * FROM customers ORDER BY id').df()")
        yield kernel


def streamed(r: Reply) -> str:
    """The stream text as the frontend shows it: every piece, in order, with nothing between."""
    return "".join(m["content"]["text"] for m in r.outputs if m["msg_type"] == "stream")


@pytest.mark.parametrize("code", [
    "import sys; sys.stdout.write(str(df.ssn.tolist()[:30]))",     # its result is shown after
    "import sys; sys.stderr.write(str(df.ssn.tolist()[:30]))",
    "import sys; sys.stdout.write(str(df.ssn.tolist()[:30])); sys.stdout.flush(); 1",
    "import sys\nfor s in df.ssn.tolist()[:30]: sys.stdout.write(s[:4]); sys.stdout.write(s[4:])"
    "\nsys.stdout.flush(); 2",
])
def test_a_flush_mid_value_emits_no_piece_of_it(k: Kernel, code: str) -> None:
    r = k.ok(code)
    text = streamed(r)
    assert "████" in text, text[:300]
    assert not RAW_SSN.findall(text) and not RAW_SSN.findall(r.everything()), text[:300]


@pytest.mark.parametrize("code", [
    "print(''.join(df.email.tolist()))",
    "print('|'.join(df.email.tolist()).replace('|', ''))",
    "print('x'.join(df.email.tolist()[:5]))",
    "display(''.join(df.email.tolist()[:10]))",
])
def test_glued_emails_are_masked(k: Kernel, code: str) -> None:
    r = k.ok(code)
    assert not RAW_EMAIL.findall(r.everything()), r.everything()[:300]
    assert "@example.com" in r.everything()   # masked in place, the domain kept


@pytest.mark.parametrize("sql", [
    "SELECT replace(email, '@', ' at ') FROM customers LIMIT 5",
    "SELECT regexp_replace(email, '@', ' at ') FROM customers LIMIT 5",
    "SELECT concat(split_part(email, '@', 1), ' (at) ', 'example.com') FROM customers LIMIT 5",
])
def test_derived_values_holding_spaces_are_masked_when_printed(k: Kernel, sql: str) -> None:
    r = k.ok(f"print(con.sql({sql!r}).fetchall())")
    assert not re.findall(r"user\d+ \(?at\)? example\.com", r.everything()), r.everything()


@pytest.mark.parametrize("sql", [
    "SELECT row(email, ssn) FROM customers LIMIT 5",
    "SELECT {'who': {'ssn': ssn}} FROM customers LIMIT 5",
    "SELECT [[ssn]] FROM customers LIMIT 5",
    "SELECT map([id], [ssn]) FROM customers LIMIT 5",
    "SELECT CAST(ssn AS BLOB) FROM customers LIMIT 5",
])
def test_values_inside_nested_results_are_masked_when_printed(k: Kernel, sql: str) -> None:
    r = k.ok(f"print(con.sql({sql!r}).fetchall())")
    assert not RAW_SSN.findall(r.everything()), r.everything()
    assert "████" in r.everything()


@pytest.mark.parametrize("code", [
    "from IPython.display import Latex\nLatex('$' + ' '.join(df.ssn[:10]) + '$')",
    "import ipywidgets as w\nw.Textarea(value='\\n'.join(df.ssn[:10]))",
    "print(repr('\\n'.join(df.ssn[:10])))",
    "df[['city']].head(3).style.set_caption(','.join(df.email[:5]))",
    "df[['city']].head(3).style.format(lambda c: df.email[3])",
])
def test_values_beside_punctuation_escapes_and_styler_text_are_masked(k: Kernel, code: str
                                                                       ) -> None:
    import json

    r = k.ok(code)
    sent = json.dumps([m["content"] for m in r.messages]) + json.dumps(r.reply)
    assert not RAW_SSN.findall(sent) and not RAW_EMAIL.findall(sent), r.everything()[:400]


def test_benign_twins_print_unchanged(k: Kernel) -> None:
    r = k.ok("print(''.join(df.city.tolist()[:4]))\n"
             "print(''.join(['ops@', 'acme.test', 'x']))\n"
             "import sys; sys.stdout.write('order-' + '0' * 300); 3")
    text = streamed(r)
    assert "ParisLyonNiceParis" in text
    assert "order-" + "0" * 300 in text


@pytest.mark.parametrize("code", [
    "open('glued1.txt', 'w').write(''.join(df.email.tolist()))",
    "open('glued2.txt', 'w').write(''.join(df.ssn.tolist()))",
    "open('glued3.txt', 'w').write('x' + ''.join(df.email.tolist()[:2]))",   # short text
    "open('glued4.txt', 'w').write('ids: ' + ''.join(df.ssn.tolist()[:3]) + '\\n')",
    "open('glued5.txt', 'w').write(''.join(df.city.tolist()) + ''.join(df.ssn.tolist()))",
])
def test_glued_values_do_not_reach_a_file(k: Kernel, work_root: Path, code: str) -> None:
    r = k.run(code)
    assert not r.ok and "jupyter_guard" in r.everything(), r.everything()[:300]
    name = code.split("'")[1]
    path = work_root / "printed_pieces" / name
    data = path.read_text() if path.exists() else ""
    assert not RAW_EMAIL.findall(data) and not RAW_SSN.findall(data), data[:200]


def test_a_file_of_plain_glued_text_is_written(k: Kernel, work_root: Path) -> None:
    k.ok("open('plain_glued.txt', 'w').write(''.join(df.city.tolist()) + "
         "''.join(str(i) for i in range(200000000, 200000050)))")
    data = (work_root / "printed_pieces" / "plain_glued.txt").read_text()
    assert data.startswith("ParisLyonNice") and "200000049" in data
