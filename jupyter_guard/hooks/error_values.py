"""Values a database quotes in its error messages.

A statement over a sensitive column can fail on one of its values, and the database names that
value in the error: DuckDB's ``Could not convert string '100000001' to BOOL``, its ``error(ssn)``
(``Invalid Input Error: 100000001``), PostgreSQL's ``invalid input syntax for type boolean:
"100000001"``. The error then carries a raw value to the traceback, to ``str(e)`` written to a
file, or to the network, one value per query: a loop over the rows reads them all. A nine-digit
SSN matches no detector. So when a statement that names a sensitive column fails, the values
its error quotes (and a lone value after the last ``: ``) that are not text of the statement
itself become known values: every exit masks or refuses them like values fetched from the
column. The error is raised unchanged.

>>> class P:
...     def is_sensitive_column(self, c): return c == "ssn"
>>> found("Conversion Error: Could not convert string '100000001' to BOOL",
...       "SELECT ssn::BOOLEAN FROM customers", P())
['100000001']
>>> found("Invalid Input Error: 100000001", "SELECT error(ssn) FROM customers", P())
['100000001']
>>> found('invalid date field format: "eve.jon75!"', "SELECT (email || '!')::DATE FROM t", P())
[]
>>> found('invalid date field format: "eve.jon75!"', "SELECT (ssn || '!')::DATE FROM t", P())
['eve.jon75!', 'eve.jon75']
>>> found("Catalog Error: Table 'custmers' does not exist", "SELECT ssn FROM custmers", P())
[]

PostgreSQL's ``DETAIL`` quotes the whole row a constraint refused (``Failing row contains
(100000001, null).``) and a key's values (``Key (x)=(100000012) already exists.``), unquoted and
whatever the statement names (``UPDATE customers SET city = NULL`` fails on a row holding the
customer's SSN). The row's columns are not in the message and a value's lineage is not known
here, so every value of such a row that the statement does not hold itself becomes known, whatever
its shape (fail closed: the row's other values of 4+ characters are masked too from then on).

>>> found('null value in column "b" of relation "nn" violates not-null constraint\\n'
...       'DETAIL:  Failing row contains (100000001, null).', "UPDATE nn SET b = NULL", P())
['100000001']
>>> found("{'C': '23505', 'D': 'Key (x)=(100000012) already exists.'}", "", P())
['100000012']
>>> found('duplicate key value violates unique constraint "k_pkey"\\n'
...       'DETAIL:  Key (x)=(100000012) already exists.', "INSERT INTO k SELECT x FROM t", P())
['100000012']
>>> found('new row for relation "t" violates check constraint "c"\\n'
...       'DETAIL:  Failing row contains (7, 4242, Lyon, null).', "INSERT INTO t VALUES (7, 4242, "
...       "'Lyon', NULL)", P())
[]
"""
from __future__ import annotations

import re
from typing import Any

from jupyter_guard.errors import GuardBlocked
from jupyter_guard.hooks import exits

# quotes read left to right (a short ``"ssn"`` is skipped whole: ``" of relation "`` after it
# is no value); kept when 4 to 256 characters
_QUOTED = re.compile(r"'([^'\n]{0,256})'|\"([^\"\n]{0,256})\"")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
# PostgreSQL's DETAIL (a line of libpq's message, pg8000's ``'D'`` field): a refused row (the
# values after ``=`` when column names precede them) up to the line's last ``).``, or a key's
# values; unquoted, joined by ``, ``, NULL spelt ``null``
_ROW = re.compile(r"Failing row contains (?:\([^\n]*?\) = )?\((.*)\)\."
                  r"|Key \([^\n]*?\)=\((.*?)\) (?:already exists|is not present|is still "
                  r"referenced|conflicts)")


def _detail(message: str) -> list[str]:
    """Every value of the rows a PostgreSQL ``DETAIL`` shows (each piece between ``, ``: a
    value holding a comma is masked piece by piece), but ``null``."""
    out: list[str] = []
    for row in _ROW.finditer(message):
        text = row.group(1) if row.group(1) is not None else row.group(2) or ""
        parts = [p.strip() for p in text.split(", ")]
        out += [p.removesuffix("...") for p in parts if p and p != "null"]
    return out


def found(message: str, sql: str, policy: Any) -> list[str]:
    """The values ``message`` quotes that ``sql`` (a statement naming a sensitive column) does
    not hold itself."""
    values = _detail(message)   # a row of any table: its columns are not named here
    if any(policy.is_sensitive_column(w) for w in set(_WORD.findall(sql))):
        values += [a or b for a, b in _QUOTED.findall(message) if len(a or b) >= 4]
        tail = message.split("\n", 1)[0].rsplit(": ", 1)[-1].strip()
        if ": " in message and tail and " " not in tail:
            values.append(tail.strip("'\""))
    # as output shows it: the tokens masking reads (``'jon.lu124!'`` is printed as ``jon.lu124``)
    values += [t for v in values for t in exits._PRINTED.findall(v)]
    return [v for v in dict.fromkeys(values) if len(v) >= exits.SHORTEST and v not in sql]


def note(exc: BaseException, sql: Any, guard: Any) -> None:
    """Remember the values ``exc`` (raised by ``sql``) quotes; never raises."""
    if isinstance(exc, GuardBlocked) or guard is None:
        return
    try:
        exits.remember(found(str(exc), str(sql or ""), guard.policy))
    except Exception:  # noqa: BLE001 - the error is raised as it is; detectors still scan it
        pass
