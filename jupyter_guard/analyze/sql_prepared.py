"""PostgreSQL's prepared statements run in the same text: ``EXECUTE name`` read as the
statement the text ``PREPARE``d under that name, so it is judged, measured and its result tainted
as what it runs."""
from __future__ import annotations

import re

_EXECUTE = re.compile(r"\s*EXECUTE\s+([A-Za-z_][A-Za-z0-9_$]*)\s*", re.IGNORECASE)
_PREPARE = re.compile(r"\s*PREPARE\s+([A-Za-z_][A-Za-z0-9_$]*)\s+AS\s+(.*)", re.I | re.S)
_FORGETS = re.compile(r"\s*(DEALLOCATE|DISCARD)\b", re.IGNORECASE)


def inline_prepared(pieces: list[str]) -> list[str]:
    """The statements, each ``EXECUTE name`` (no arguments) of a statement the same text
    ``PREPARE``s before it replaced by the statement it runs: judged, measured and its result
    tainted as that statement. A name prepared elsewhere (an earlier call: the guard has not
    read it), quoted, or with arguments stays ``EXECUTE`` (refused); a text that deallocates
    is left as it is (a name could then mean another statement). PostgreSQL refuses a second
    ``PREPARE`` of a name, so the first one is what runs.

    >>> inline_prepared(["PREPARE p AS SELECT 1", "execute P"])
    ['PREPARE p AS SELECT 1', 'SELECT 1']
    >>> inline_prepared(["EXECUTE p", "PREPARE p AS SELECT 1"])[0], inline_prepared(
    ...     ["PREPARE p AS SELECT 1", "DEALLOCATE p", "PREPARE p AS DELETE FROM t", "EXECUTE p"])[3]
    ('EXECUTE p', 'EXECUTE p')
    """
    if not any("EXECUTE" in p[:40].upper() for p in pieces) or any(
            _FORGETS.match(p) for p in pieces):
        return list(pieces)
    prepared: dict[str, str] = {}
    out = []
    for p in pieces:
        m = _PREPARE.fullmatch(p)
        if m:
            prepared.setdefault(m.group(1).lower(), m.group(2).strip())
        e = _EXECUTE.fullmatch(p)
        out.append(prepared.get(e.group(1).lower(), p) if e else p)
    return out
