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
"""
from __future__ import annotations

import re
from typing import Any

from jupyter_guard.errors import GuardBlocked
from jupyter_guard.hooks import exits

_QUOTED = re.compile(r"'([^'\n]{4,256})'|\"([^\"\n]{4,256})\"")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def found(message: str, sql: str, policy: Any) -> list[str]:
    """The values ``message`` quotes that ``sql`` (a statement naming a sensitive column) does
    not hold itself."""
    if not any(policy.is_sensitive_column(w) for w in set(_WORD.findall(sql))):
        return []
    values = [a or b for a, b in _QUOTED.findall(message)]
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
