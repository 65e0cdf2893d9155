"""Pieces of sensitive values cut in pandas, refused when they leave pandas.

``df.ssn.str[0].tolist()``, ``list(df.email.str[:3])``, ``df.ssn.map(lambda s: s[4])``: each
value is too short to be a known value, and printed it cannot be told from any other short text
(one cell per position rebuilds every SSN). pandas keeps the column's name (or lineage) on what
its string methods, ``map`` and ``apply`` return, so the result is still a sensitive Series.
When values leave such a Series as plain Python objects (``tolist``, ``to_dict``, ``values``,
``to_numpy``, iteration, ``items``, ``__array__``, ``str.cat``: ``df_values``) and at least half
of them are short texts, the ``inference`` rule decides (action ``sql.fragment``, the same as
pieces fetched with SQL: ``pieces``), whatever method cut them: decided by the values.

Not looked at: numbers (``ssn.astype(int) % 100``, ``[ord(c) for c in ssn]``), single values
taken out one at a time (``s.iloc[3]``), and reductions that glue pieces into one text inside
pandas (``s.sum()``, ``s.agg(''.join)``). Shown as a Series or frame, pieces are masked by
column like any sensitive column.
"""
from __future__ import annotations

from itertools import islice
from typing import Any

from jupyter_guard.hooks import pieces

SAMPLE = 512
"""Values looked at first: a Series whose sample holds few short texts is no piece (a cost
bound: ``tolist`` of a long sensitive column pays for this many only)."""


def check(values: Any, taint: frozenset[str], name: str, how: str) -> None:
    """Refuse (rule ``inference``) values leaving a sensitive Series (``taint``: its sensitive
    origins) when they are short texts cut from a sensitive value."""
    if not taint or not _short_texts(values):
        return
    taint = frozenset(t for t in taint if "." in t) or taint   # a table's column: it can tell
    from jupyter_guard.hooks.state import Busy, current

    rt = current()
    if rt is None:
        return
    with Busy():
        from jupyter_guard.hooks.result_taint import namespace_connections

        cons = namespace_connections(rt.guard) if "." in min(taint) else []
        found = pieces.find(islice(_texts(values), pieces.ROWS), taint, name, cons)
    if found is not None:
        pieces.refuse(rt.guard, f"Series {name!r}.{how}()", *found)


def _short_texts(values: Any) -> bool:
    """At least half of the first ``SAMPLE`` values are texts shorter than ``pieces.SHORT``
    (numbers, dates and nulls are not looked at)."""
    sample = list(islice(_texts(values), SAMPLE))
    return bool(sample) and 2 * sum(len(s) < pieces.SHORT for s in sample) >= len(sample)


def _texts(values: Any) -> Any:
    """The non-empty texts among ``values`` (bytes read as latin-1, as a fetch shows them)."""
    for v in values:
        if isinstance(v, str):
            if v:
                yield v
        elif isinstance(v, (bytes, bytearray)) and v:
            yield bytes(v).decode("latin-1")
