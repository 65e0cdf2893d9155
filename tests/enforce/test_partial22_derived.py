"""The partial mask of a DERIVED value keeps no secret (red team 22, items 1, 2 and 2b).

Under the default policy (``strategy: partial``) a value keeps its last four characters, or an
e-mail its domain, only where it has its kind's own shape (``strategy.shaped``): ``'a@b.c' ||
ssn`` once showed ``█████@b.c332-20-6469``, ``reverse(email)`` ``█████@57noj.eve`` and a frame
of ``reverse(ssn)`` and ``left(ssn, 8)`` ``████-233  ████20-6``. A piece of a known value that
ends in punctuation (``substr(ssn, 1, 7)`` is ``332-20-``, ``s[:7]`` in Python) is masked whole
at every exit (``hooks.edge_pieces``): beside the partial mask's ``████6469`` it once gave the
whole SSN back.

In a real guarded kernel on a real DuckDB file of 300 random people: no message of any form
lets the attacker rebuild an SSN or an e-mail's local part (every piece of four characters that
holds a dash, forwards or backwards; every five characters of a local part that hold a digit;
counted over the 300 people); the honest twins still show ``█████@gmail.com``, ``████6469``,
dates that end in a dash and amounts.
"""
from __future__ import annotations

import random
from pathlib import Path

import duckdb
import pytest

from jupyter_guard.connections import unwrap
from tests.conftest import new_workspace
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

N = 300
DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "proton.me", "corp.example", "uni.edu"]
SQL = {   # one query each: a derived column of a sensitive one
    "literal-at-ssn": "SELECT id, 'a@b.c' || ssn FROM customers",
    "email-ssn": "SELECT id, email || ssn FROM customers",
    "concat-city-ssn": "SELECT id, concat('n@', city, '.', ssn) FROM customers",
    "literal-at-local": "SELECT id, 'a@b.c' || split_part(email, '@', 1), email FROM customers",
    "reverse-email": "SELECT id, reverse(email) FROM customers",
    "at-replaced": "SELECT id, 'a@b.' || replace(email, '@', '.') FROM customers",
    "head7-and-ssn": "SELECT id, substr(ssn, 1, 7), ssn FROM customers",
    "head4-and-rest": "SELECT id, substr(ssn, 1, 4), substr(ssn, 5) || '-' FROM customers",
    "tail-removed": "SELECT id, replace(ssn, right(ssn, 4), '') FROM customers",
    "middle": "SELECT id, substr(ssn, 2, 6) FROM customers",
    "reverse-and-left": "SELECT id, ssn, reverse(ssn) AS r, left(ssn, 8) AS h FROM customers",
}
PYTHON = {
    "series-plus-ssn": "print(('u@h.' + df.ssn).tolist())",
    "frame-reverse-left": "df[['id', 'ssn']].assign(r=lambda x: x.ssn.str[::-1], "
                          "h=lambda x: x.ssn.str[:8])",
    "series-reverse": "df.ssn.str[::-1]",
    "slices": "print([s[:7] for s in df.ssn])",
    "slices-4": "print([s[:4] for s in df.ssn], [s[3:] for s in df.ssn])",
}
FILES = {   # (the cell, the file it writes)
    "write": ("open('p1.txt', 'w').write('\\n'.join(s[:7] for s in df.ssn))", "p1.txt"),
    "json": ("import json\njson.dump([s[:7] for s in df.ssn], open('p2.json', 'w'))", "p2.json"),
}


def warehouse(path: Path) -> list[tuple[int, str, str]]:
    """``customers`` of ``N`` random people (first.last123@ one of six domains, SSNs, cities,
    amounts), made outside any guard; their (id, email, ssn)."""
    rnd = random.Random(22)
    names = ["anna", "omar", "li", "sofia", "jan", "maria", "kenji", "ada", "ravi", "eva"]
    rows = [(i, f"{rnd.choice(names)}.{rnd.choice(names)}{rnd.randint(1, 999)}@"
                f"{DOMAINS[i % 6]}",
             f"{rnd.randint(100, 899)}-{rnd.randint(10, 99)}-{rnd.randint(1000, 9999)}",
             ["Paris", "Lyon", "Nice"][rnd.randint(0, 2)], round(rnd.uniform(5, 500), 2))
            for i in range(N)]
    con = unwrap(duckdb.connect(str(path)))
    try:
        con.execute("CREATE TABLE customers (id BIGINT, email VARCHAR, ssn VARCHAR, "
                    "city VARCHAR, amount DECIMAL(10, 2))")
        con.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?)", rows)
    finally:
        con.close()
    return [(i, e, s) for i, e, s, _, _ in rows]


def _windows(value: str, size: int) -> list[str]:
    return [value[i:i + size] for i in range(len(value) - size + 1)]


def recovered(text: str, people: list[tuple[int, str, str]]) -> int:
    """People whose SSN or local part the attacker gets a piece of from ``text``: four
    characters of the SSN holding a dash (forwards or backwards: what the partial mask's
    ``████6469`` never shows), its digits, or five characters of the local part holding a
    digit (the masks show none)."""
    out = 0
    for _, email, ssn in people:
        local = email.split("@")[0]
        pieces = [w for v in (ssn, ssn[::-1]) for w in _windows(v, 4) if "-" in w]
        pieces += [ssn.replace("-", "")]
        pieces += [w for v in (local, local[::-1]) for w in _windows(v, 5)
                   if any(c.isdigit() for c in w)]
        out += any(p in text for p in pieces)
    return out


@pytest.fixture(scope="module")
def guarded(work_root: Path):  # type: ignore[no-untyped-def]
    d = new_workspace(work_root)
    people = warehouse(d / "wh.duckdb")
    with guarded_kernel(d, connect=True) as kernel:
        kernel.ok("import pandas as pd\npd.set_option('display.max_rows', 400)\n"
                  "df = con.sql('SELECT * FROM customers').df()")
        yield kernel, people, d


@pytest.mark.parametrize("name", list(SQL))
@pytest.mark.parametrize("how", ["print", "display", "show"])
def test_a_derived_column_keeps_no_secret(guarded: tuple[Kernel, list, Path], name: str,
                                          how: str) -> None:
    k, people, _ = guarded
    q = SQL[name]
    code = {"print": f'print(con.sql("{q}").fetchall())', "display": f'con.sql("{q}").df()',
            "show": f'con.sql("{q}").show(max_rows=400)'}[how]
    r = k.run(code)
    assert recovered(r.everything(), people) == 0, r.everything()[:600]


@pytest.mark.parametrize("name", list(PYTHON))
def test_python_forms_keep_no_secret(guarded: tuple[Kernel, list, Path], name: str) -> None:
    k, people, _ = guarded
    r = k.run(PYTHON[name])
    assert recovered(r.everything(), people) == 0, r.everything()[:600]


@pytest.mark.parametrize("name", list(FILES))
def test_pieces_into_files_keep_no_secret(guarded: tuple[Kernel, list, Path], name: str
                                          ) -> None:
    k, people, d = guarded
    code, target = FILES[name]
    r = k.run(code)
    written = (d / target).read_text() if (d / target).exists() else ""
    assert recovered(written + r.everything(), people) == 0, (r.status, written[:300])


def test_pieces_as_child_arguments_keep_no_secret(guarded: tuple[Kernel, list, Path]) -> None:
    k, people, _ = guarded
    r = k.run("!echo {' '.join(s[:7] for s in df.ssn[:50])}")
    assert recovered(r.everything(), people) == 0, r.everything()[:600]


def test_the_columns_as_they_are_keep_their_partial_form(work_root: Path) -> None:
    """In a session of its own (after the attacks above, a value may have been read spelt
    otherwise first, and is then masked whole: see the threat model)."""
    d = new_workspace(work_root)
    people = warehouse(d / "wh.duckdb")
    with guarded_kernel(d, connect=True) as k:
        k.ok("import pandas as pd\ndf = con.sql('SELECT * FROM customers').df()")
        _partial_forms(k, people)


def _partial_forms(k: Kernel, people: list[tuple[int, str, str]]) -> None:
    printed = k.ok('print(con.sql("SELECT id, email, ssn FROM customers LIMIT 6").fetchall())')
    shown = k.ok('con.sql("SELECT id, email, ssn FROM customers LIMIT 6").df()')
    framed = k.ok("df[['id', 'email', 'ssn']].head(6)")
    for r in (printed, shown, framed):
        text = r.everything()
        for _, email, ssn in people[:6]:
            assert "█████@" + email.split("@")[1] in text, text[:600]
            assert "████" + ssn[-4:] in text, text[:600]
            assert ssn not in text and email not in text


def test_honest_outputs_stay_raw(guarded: tuple[Kernel, list, Path]) -> None:
    k, people, _ = guarded
    gmail = sum(e.endswith("@gmail.com") for _, e, _ in people)
    r = k.ok("print(con.sql(\"SELECT count(*) FROM customers WHERE email LIKE '%@gmail.com'\")"
             ".fetchall())")
    assert f"[({gmail},)]" in r.stream, r.everything()
    r = k.ok("print(con.sql(\"SELECT strftime(DATE '2024-01-15', '%Y-%m-') AS d, "
             "min(id), max(id) FROM customers\").fetchall())")
    assert "'2024-01-'" in r.stream and f"0, {N - 1}" in r.stream, r.everything()
    r = k.ok("print(['2024-01-', '100-200-', 'v1.2.', 12.5, 'kim.'])")
    assert "['2024-01-', '100-200-', 'v1.2.', 12.5, 'kim.']" in r.stream, r.everything()
