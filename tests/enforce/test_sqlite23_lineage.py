"""sqlite3 results decided by effect, as PostgreSQL's and DuckDB's (issue 15, sqlite23), in a real
guarded kernel on a real SQLite file made outside the guard.

Red team: ``'a@b.c' || ssn``, ``replace(ssn, '-', '') * 3``, ``unicode(substr(ssn, 1, 1))``,
``substr(ssn, 1, 7)``, a Python function registered with ``create_function`` (and its aggregate,
window and collation twins) each got 300/300 SSNs or e-mails out raw. Each is now masked (its
values known: masked whole, refused at the exits) or refused as ``inference``: no raw value, and
no value of the derived form, in any message the kernel sent. Each test reads a file of its own
people (no value known from another test masks it). Twins: plain columns, counts, groups, a
function over cities and arithmetic on amounts run with SQLite's own answers.
"""
from __future__ import annotations

import itertools
import json
import random
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.kernelutil import Kernel, every_message

pytestmark = pytest.mark.kernel

N = 300
_FILES = itertools.count()
Person = tuple[int, str, str, str, str]


def _people(seed: int) -> list[Person]:
    r = random.Random(seed)
    ssns = r.sample(range(100_000_000, 899_999_999), N)
    return [(i, f"name{i}", f"{r.choice('abcdefgh')}{r.randint(10_000, 99_999)}.x@shop{seed}.org",
             f"{s // 1_000_000:03d}-{s // 10_000 % 100:02d}-{s % 10_000:04d}",
             ("Paris", "Lyon", "Nice")[i % 3]) for i, s in enumerate(ssns, 1)]


@pytest.fixture()
def shop(kernel: Kernel) -> tuple[Kernel, list[Person]]:
    """A SQLite file of 300 customers never seen by the kernel, opened as ``sq``."""
    n = next(_FILES)
    path = kernel.workdir / f"shop{n}.sqlite"
    people = _people(1000 + n)
    with sqlite3.connect(path) as s:   # made outside the guard
        s.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, email TEXT, "
                  "ssn TEXT, city TEXT)")
        s.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?)", people)
        s.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, amount REAL)")
        s.executemany("INSERT INTO orders VALUES (?, ?)", [(i, i * 1.5) for i in range(1, 101)])
        s.execute("CREATE VIEW shown AS SELECT id, replace(email, '@', ' at ') AS e "
                  "FROM customers")
    s.close()
    kernel.ok(f"import sqlite3, pandas as pd\nsq = sqlite3.connect({path.name!r})")
    kernel.path = path   # type: ignore[attr-defined]
    return kernel, people


def _run(k: Kernel, code: str) -> tuple[str, str]:
    """(status, every message the kernel sent for ``code``, as one JSON text)."""
    reply, messages = every_message(k, code)
    return str(reply.get("status")), json.dumps([m.get("content") for m in messages])


def _raw(people: list[Person]) -> list[str]:
    return [v for p in people for v in (p[2], p[3], p[3].replace("-", ""))]


def _enc(s: str) -> str:
    return "".join(chr(ord(ch) + 1) for ch in s)


ENC = "sq.create_function('enc', 1, lambda s: ''.join(chr(ord(ch) + 1) for ch in s))\n"
CAT = ("class Cat:\n    def __init__(self):\n        self.v = []\n"
       "    def step(self, x):\n        self.v.append(x)\n"
       "    def inverse(self, x):\n        self.v.remove(x)\n"
       "    def value(self):\n        return '|'.join(v.replace('@', '#') for v in self.v)\n"
       "    def finalize(self):\n        return '|'.join(v.replace('@', '#') for v in self.v)\n")
Derived = Callable[[Person], list[str]]
# cell -> the values of the derived form that must appear in no message
ATTACKS: dict[str, tuple[str, Derived]] = {
    "concat-literal": ("print(sq.execute(\"SELECT id, 'a@b.c' || ssn FROM customers\").fetchall())",
                       lambda p: ["a@b.c" + p[3]]),
    "read_sql-concat": ("pd.read_sql(\"SELECT id, 'a@b.c' || ssn AS x FROM customers\", sq)"
                        ".to_string()", lambda p: ["a@b.c" + p[3]]),
    "arithmetic": ("print(sq.execute(\"SELECT id, replace(ssn, '-', '') * 3 FROM customers\")"
                   ".fetchall())", lambda p: [str(int(p[3].replace("-", "")) * 3)]),
    "substr-7": ("print([r for r in sq.execute('SELECT id, substr(ssn, 1, 7) FROM customers')])",
                 lambda p: [f"'{p[3][:7]}'"]),
    "udf-shift": (ENC + "print(sq.execute('SELECT id, enc(ssn), enc(email) FROM customers')"
                  ".fetchall())", lambda p: [_enc(p[3]), _enc(p[2])]),
    "udf-named-length": ("sq.create_function('length', 1, lambda s: s[::-1])\n"
                         "print(sq.execute('SELECT id, length(ssn) FROM customers').fetchall())",
                         lambda p: [p[3][::-1]]),
    "udf-aggregate": (CAT + "sq.create_aggregate('cat', 1, Cat)\n"
                      "print(sq.execute('SELECT city, cat(email) FROM customers GROUP BY city')"
                      ".fetchall())", lambda p: [p[2].replace("@", "#")]),
    "udf-window": (CAT + "sq.create_window_function('wcat', 1, Cat)\n"
                   "print(sq.execute('SELECT id, wcat(email) OVER (ORDER BY id ROWS 1 PRECEDING)"
                   " FROM customers').fetchall())", lambda p: [p[2].replace("@", "#")]),
    "udf-kept-aside": ("kept = []\nsq.create_function('kp', 1, lambda s: kept.append("
                       "s.replace('-', '')) or 0)\n"
                       "print(sq.execute('SELECT count(kp(ssn)) FROM customers').fetchall())\n"
                       "print(kept)", lambda p: [p[3].replace("-", "")]),
    "collation-kept-aside": ("seen = []\ndef cc(a, b):\n    seen.append(a.replace('-', ''))\n"
                             "    return (a > b) - (a < b)\nsq.create_collation('cc', cc)\n"
                             "print(sq.execute('SELECT count(*) FROM (SELECT ssn FROM customers "
                             "ORDER BY ssn COLLATE cc)').fetchall())\nprint(seen)",
                             lambda p: [p[3].replace("-", "")]),
    "view": ("for row in sq.execute('SELECT e FROM shown'):\n    print(row)",
             lambda p: [p[2].replace("@", " at ")]),
    "guarded_sql": ("%%guarded_sql sq\nSELECT id, 'a@b.c' || ssn AS x, replace(ssn, '-', '') * 3"
                    " AS y FROM customers",
                    lambda p: ["a@b.c" + p[3], str(int(p[3].replace("-", "")) * 3)]),
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_a_derived_sensitive_output_leaves_only_masked(shop: tuple[Kernel, list[Person]],
                                                       name: str) -> None:
    k, people = shop
    code, derived = ATTACKS[name]
    status, text = _run(k, code)
    assert status == "ok", text[-2000:]
    assert "\\u2588" in text or "\u2588" in text, text[-2000:]   # shown, masked
    found = [v for p in people for v in derived(p) + _raw([p]) if v in text]
    assert not found, (len(found), found[:3])


PIECES = [
    "SELECT id, unicode(substr(ssn, 1, 1)) FROM customers",
    "SELECT id, substr(ssn, 5, 2) FROM customers",
    "SELECT id, instr(ssn, '5') FROM customers",
    "SELECT id, unicode(substr(email, 2, 1)) AS c FROM customers",
]


@pytest.mark.parametrize("sql", PIECES)
def test_character_codes_and_short_pieces_are_inference(shop: tuple[Kernel, list[Person]],
                                                         sql: str) -> None:
    k, people = shop
    for code in (f"print(sq.execute({sql!r}).fetchall())", f"%%guarded_sql sq\n{sql}"):
        status, text = _run(k, code)
        assert status == "error" and "[inference]" in text, text[-2000:]
        assert not [v for v in _raw(people) if v in text]


def test_derived_values_are_refused_at_the_exits(shop: tuple[Kernel, list[Person]]) -> None:
    k, people = shop
    out = k.workdir / "derived.csv"
    status, text = _run(k, "pd.read_sql(\"SELECT id, 'a@b.c' || ssn AS x FROM customers\", sq)"
                           f".to_csv({str(out)!r})")
    assert status == "error" and "[exfiltration]" in text, text[-2000:]
    assert not out.exists() or "a@b.c" not in out.read_text()
    status, text = _run(k, "rows = sq.execute(\"SELECT replace(ssn, '-', '') * 3 FROM "
                           f"customers\").fetchall()\nopen({str(out)!r}, 'w').write(str(rows))")
    assert status == "error" and "[exfiltration]" in text, text[-2000:]
    kept = out.read_text() if out.exists() else ""
    assert not [p for p in people if str(int(p[3].replace("-", "")) * 3) in kept]


def _expected(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as s:
        rows = [tuple(r) for r in s.execute(sql).fetchall()]
    s.close()
    return rows


TWINS = [
    "SELECT id, city FROM customers ORDER BY id LIMIT 40",
    "SELECT count(*) FROM customers",
    "SELECT city, count(*) FROM customers GROUP BY city ORDER BY city",
    "SELECT id, name, length(email) FROM customers ORDER BY id LIMIT 40",
    "SELECT id, amount * 3, round(amount / 7, 2) FROM orders ORDER BY id LIMIT 40",
]


@pytest.mark.parametrize("sql", TWINS)
def test_plain_results_come_out_as_sqlite_gives_them(shop: tuple[Kernel, list[Person]],
                                                     sql: str) -> None:
    k, _ = shop
    want = _expected(k.path, sql)  # type: ignore[attr-defined]
    r = k.ok(f"print(sq.execute({sql!r}).fetchall())\n"
             f"print(pd.read_sql({sql!r}, sq).to_dict('split')['data'])")
    assert r.stream.splitlines()[0] == repr(want), r.everything()[-2000:]
    assert r.stream.splitlines()[1] == repr([list(w) for w in want]), r.everything()[-2000:]


def test_a_function_over_plain_columns_runs(shop: tuple[Kernel, list[Person]]) -> None:
    k, _ = shop
    r = k.ok("sq.create_function('up', 1, lambda s: s.upper())\n" + CAT +
             "sq.create_aggregate('cat', 1, Cat)\n"
             "print(sq.execute('SELECT id, up(city) FROM customers ORDER BY id LIMIT 4')"
             ".fetchall())\n"
             "print(sq.execute('SELECT cat(city) FROM customers WHERE id < 4').fetchall())\n"
             "for row in sq.execute('SELECT id, up(name) FROM customers WHERE id = 2'):\n"
             "    print(row)")
    assert r.stream.splitlines() == [
        "[(1, 'LYON'), (2, 'NICE'), (3, 'PARIS'), (4, 'LYON')]", "[('Lyon|Nice|Paris',)]",
        "(2, 'NAME2')"], r.everything()[-2000:]
