"""The constraint attacks both databases' suites run (red team 19: inference through the user's
own constraints), and the cells they build them with: a statement list run by the kernel's ``q``
(``ddl``), a table's row count (``count``), a refusal that shows no verdict (``refused``) and
the bisection loop (``BISECTION``); the honest twins (``TWINS``, ``twin_cell``). Each suite keeps
its own runner (its kernel, its ``q``, its ``Violation``, its spelling of a write that ignores
conflicts, its reading of the right answer) and adds the attacks only its database has."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

G = "100000012"   # customer 12's SSN

# (setup, attack, table the attack writes, rows it holds before): the setup alone runs
Attack = tuple["str | tuple[str, ...]", str, str, int]
ATTACKS: dict[str, Attack] = {
    "check-member": (f"CREATE TEMP TABLE c1 (x text CHECK (x <> '{G}'))",
                     "INSERT INTO c1 SELECT ssn FROM customers", "c1", 0),
    "check-bisect-one-person": ("CREATE TEMP TABLE c2 (x text CHECK (x < '100000150'))",
                                "INSERT INTO c2 SELECT ssn FROM customers WHERE id = 77", "c2", 0),
    "check-table-level": (f"CREATE TEMP TABLE c3 (id int, x text, CHECK (x <> '{G}'))",
                          "INSERT INTO c3 (id, x) SELECT id, ssn FROM customers", "c3", 0),
    "foreign-key": (f"CREATE TEMP TABLE g1 (x text PRIMARY KEY); INSERT INTO g1 VALUES ('{G}'); "
                    "CREATE TEMP TABLE f1 (y text REFERENCES g1 (x))",
                    "INSERT INTO f1 SELECT ssn FROM customers WHERE id = 12", "f1", 0),
    "update-into-a-key": (f"CREATE TEMP TABLE k1 (id int, x text UNIQUE); "
                          f"INSERT INTO k1 VALUES (1, '{G}'), (2, NULL)",
                          "UPDATE k1 SET x = (SELECT ssn FROM customers WHERE id = 12) "
                          "WHERE id = 2", "k1", 2),
}

# one customer's SSN bisected by a CHECK per step; ``Violation`` is the driver's error for it
BISECTION = (
    "lo, hi = 100000000, 100010000\nn = 0\nwhile lo < hi:\n    mid = (lo + hi + 1) // 2\n"
    "    n += 1\n    q(f'CREATE TEMP TABLE b_{n} (x bigint CHECK (x < {mid}))')\n"
    "    try:\n        q(f'INSERT INTO b_{n} SELECT CAST(ssn AS bigint) FROM customers "
    "WHERE id = 77')\n        hi = mid - 1\n"
    "    except Violation:\n        lo = mid\n"
    "print('ANSWER', lo)")

# honest twins: (statements, the query reading back what they wrote, the query giving the same
# rows from the source tables, or those rows); ``{ignore}``/``{on_conflict}``: the database's
# spelling of a write that skips conflicting rows, ``{amount}``: its type for amounts
TWINS: dict[str, tuple[tuple[str, ...], str, str | list[tuple[Any, ...]]]] = {
    "a-check-on-amounts-takes-an-insert-select": (
        ("CREATE TEMP TABLE h1 (id int, amount {amount} CHECK (amount < 1000))",
         "INSERT INTO h1 SELECT id, amount FROM orders WHERE amount < 1000"),
        "SELECT count(*), sum(amount) FROM h1",
        "SELECT count(*), sum(amount) FROM orders WHERE amount < 1000"),
    "plain-values-go-into-a-constrained-temporary-table": (
        ("CREATE TEMP TABLE h2 (code text CHECK (code <> 'XX') UNIQUE)",
         "{ignore} INTO h2 VALUES ('FR'), ('DE'){on_conflict}",
         "{ignore} INTO h2 VALUES ('FR'){on_conflict}"),
        "SELECT code FROM h2 ORDER BY code", [("DE",), ("FR",)]),
    "a-unique-key-on-ids-filled-from-customers-works": (
        ("CREATE TEMP TABLE h3 (id int UNIQUE, city text CHECK (city <> 'Rome'))",
         "INSERT INTO h3 SELECT id, city FROM customers WHERE city = 'Lyon'",
         "{ignore} INTO h3 SELECT id, city FROM customers WHERE city = 'Lyon'{on_conflict}"),
        "SELECT count(*), sum(id) FROM h3",
        "SELECT count(*), sum(id) FROM customers WHERE city = 'Lyon'"),
    "ssns-into-an-unconstrained-temporary-table-are-kept": (
        ("CREATE TEMP TABLE h4 (id int, x text)", "INSERT INTO h4 SELECT id, ssn FROM customers"),
        "SELECT count(*) FROM h4", "SELECT count(*) FROM customers"),
}


def twin_cell(name: str, **spelling: str) -> str:
    """The cell of ``TWINS[name]`` in a database's ``spelling``: its writes, then ``ANSWER`` and
    the rows read back."""
    statements, back, _source = TWINS[name]
    return ddl(tuple(st.format(**spelling) for st in statements)) + f"print('ANSWER', q({back!r}))"


def ddl(sql: str | tuple[str, ...]) -> str:
    """Each statement of ``sql`` (split at ``;``, or the tuple's items) run by ``q``."""
    parts = sql if isinstance(sql, tuple) else tuple(sql.split(";"))
    return "".join(f"q({s.strip()!r})\n" for s in parts if s.strip())


def count(k: Any, table: str) -> int:
    """The rows ``table`` holds, read through the kernel's ``q``."""
    r = k.ok(f"print('ROWS', q('SELECT count(*) FROM {table}'))")
    return int(r.stream.split("ROWS [(")[1].split(",")[0])


def refused(r: Any, verdicts: Iterable[str]) -> None:
    """Refused by ``inference``; none of ``verdicts`` (a constraint's, an answer) in any
    message."""
    seen = r.everything() + "\n" + repr(r.reply)
    assert r.status == "error" and "[inference]" in r.everything(), seen
    assert not any(v in seen for v in verdicts), seen


def judged(k: Any, attack: Attack, verdicts: Iterable[str]) -> None:
    """``attack``'s setup runs, its write is refused and writes nothing."""
    setup, write, table, before = attack
    k.ok(ddl(setup))
    refused(k.run(ddl(write) + "print('ANSWER')"), verdicts)
    assert count(k, table) == before   # nothing written
