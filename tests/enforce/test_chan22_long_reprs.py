"""Issue 15, false positives of the decoded reading (``hooks/pieces_decoded.py``): long honest
reprs of ids beside words or numbers, printed whole in one message, in a real kernel whose
frame holds e-mails and SSNs (the warehouse of ``make_warehouse``: ids 0-4999, SSNs
``100000000 + id``). Their ids read as hex (``3031`` is ``'01'``) or as character codes
(``49`` is ``'1'``) spell digits; joined over the words between them they once completed an
SSN and the whole print came out as one ``████``. Each arrives exactly as printed.

The attack twins (the same reading still finds a value encoded a piece a message, or on one
line with an index beside each piece) are ``test_chan22_encoded`` and ``test_chan22_corpus``.
"""
from __future__ import annotations

import hashlib

import pytest

from tests.conftest import make_warehouse
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def k(kernel: Kernel) -> Kernel:
    make_warehouse(kernel.workdir / "wh.duckdb")
    kernel.ok("import duckdb, hashlib\ncon = duckdb.connect('wh.duckdb')\n"
              "df = con.sql('SELECT * FROM customers ORDER BY id').df()\n"
              "W = ['Paris', 'Lyon', 'Nice', 'apple', 'kiwi', 'fig', 'oak', 'red']")
    return kernel


REPRS = {
    "ids-cities": "dict(zip(df.id.tolist(), df.city.tolist()))",
    "ids-amounts": "dict(zip(df.id.tolist(), df.amount.tolist()))",
    "ids-numbers": "{i: i * 7 % 10000 for i in range(10_000)}",
    "ids-ids": "dict(zip(range(10_000), range(10_000)))",
    "i-word": "{i: W[i * 7 % 8] for i in range(12_000)}",
    "enumerate": "list(enumerate(W[i % 8] for i in range(10_000)))",
    "enumerate-cities": "list(enumerate(df.city.tolist()))",
    "range": "list(range(10_000))",
}


@pytest.mark.parametrize("name", list(REPRS))
def test_a_long_honest_repr_prints_intact(k: Kernel, name: str) -> None:
    digest = k.ok(f"x = {REPRS[name]}\nprint(hashlib.sha256(repr(x).encode()).hexdigest())").text
    got = k.ok("print(x)").text
    assert "█" not in got, got[:200]
    assert hashlib.sha256(got.rstrip("\n").encode()).hexdigest() == digest.strip()


def test_enumerate_lines_of_ids_and_cities_print_intact(k: Kernel) -> None:
    got = k.ok("for i, c in enumerate(df.city.tolist()):\n    print(i, c)").text
    assert "█" not in got
    lines = [line for line in got.splitlines() if line]   # (stream messages joined by '\n')
    assert lines == [f"{i} {['Paris', 'Lyon', 'Nice'][i % 3]}" for i in range(5000)]
