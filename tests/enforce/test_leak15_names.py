"""Names spelt out (``' '.join(name)``) in a session that knows no number (leak15): masked when
printed, and now refused at the file and network exits as well, however long the text, in a
real kernel on a real DuckDB file; what a loopback listener receives and every message the
kernel sent hold no name. Benign twins: plain words spelt out are written and sent."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import new_workspace
from tests.enforce.conftest import Listener
from tests.kernelutil import Kernel, Reply, guarded_kernel

pytestmark = pytest.mark.kernel

NAMES = ["Jane Doe", "Alexander Hamilton", "Li Wu Chen"]
POLICY = "extends: default\nsensitive:\n  columns: ['*email*', '*ssn*', '*name*']\n"


def _sent(r: Reply) -> str:
    return json.dumps([m["content"] for m in r.messages] + [r.reply])


def _spelt(text: str) -> list[str]:
    """The names whose letters, spaces dropped, run together in ``text`` spaced out."""
    flat = "".join(text.split())
    return [n for n in NAMES if "".join(n.split()) in flat]


def _people(path: Path) -> None:
    import duckdb

    from jupyter_guard.connections import unwrap

    con = unwrap(duckdb.connect(str(path)))   # the test's own set-up, outside any guard
    con.execute("CREATE TABLE people (id INT, full_name VARCHAR, city VARCHAR)")
    con.executemany("INSERT INTO people VALUES (?, ?, ?)",
                    [(i, n, "Paris") for i, n in enumerate(NAMES)])
    con.close()


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    work = new_workspace(work_root, data=False)
    _people(work / "people.duckdb")
    with guarded_kernel(work, {"JUPYTER_GUARD_USER": "tester"}, policy=POLICY) as kernel:
        kernel.ok("import duckdb, urllib.request\n"
                  "names = [n for (n,) in duckdb.connect('people.duckdb')"
                  ".sql('SELECT full_name FROM people ORDER BY id').fetchall()]")
        yield kernel


SPELLINGS = [
    pytest.param("' '.join(names[0])", id="one"),
    pytest.param("'\\n'.join(' '.join(n) for n in names * 20)", id="long"),
    pytest.param("'name = ' + ' '.join(names[1]) + ' .'", id="inside"),
]


@pytest.mark.parametrize("expr", SPELLINGS)
def test_a_spelt_name_is_masked_when_printed(k: Kernel, expr: str) -> None:
    r = k.ok(f"print({expr})")
    assert _spelt(r.stream) == [] and "\u2588" in r.stream, r.stream[-400:]
    assert _spelt(_sent(r).replace("\\n", " ")) == []


@pytest.mark.parametrize("expr", SPELLINGS)
def test_a_spelt_name_is_not_written(k: Kernel, expr: str) -> None:
    k.blocked(f"open('spelt.txt', 'w').write({expr})", "exfiltration")
    path = k.workdir / "spelt.txt"
    assert not path.exists() or _spelt(path.read_text()) == []


@pytest.mark.parametrize("expr", SPELLINGS)
def test_a_spelt_name_is_not_sent(k: Kernel, expr: str) -> None:
    lst = Listener()
    try:
        k.blocked(f"urllib.request.urlopen('http://127.0.0.1:{lst.port}/up', "
                  f"data=({expr}).encode(), timeout=5)", "exfiltration")
        k.blocked(f"urllib.request.urlopen('http://127.0.0.1:{lst.port}/?q=' + "
                  f"urllib.parse.quote({expr}), timeout=5)", "exfiltration")
    finally:
        lst.close()
    assert _spelt(lst.received.decode("latin-1")) == []


def test_plain_words_spelt_out_are_written_and_sent(k: Kernel) -> None:
    text = "\n".join(" ".join(w) for w in ["Hello World", "Paris Lyon", "Good Morning"] * 20)
    k.ok(f"open('plain.txt', 'w').write({text!r})")
    assert (k.workdir / "plain.txt").read_text() == text
    r = k.ok(f"print({text!r})")
    assert r.stream == text + "\n"
    lst = Listener()
    try:   # (a body to a host not allowed is an upload: refused whatever it holds)
        r = k.ok(f"print(urllib.request.urlopen('http://127.0.0.1:{lst.port}/?q=' + "
                 f"urllib.parse.quote({' '.join('Hello World')!r}), timeout=5).read())")
    finally:
        lst.close()
    assert "b'ok'" in r.stream
