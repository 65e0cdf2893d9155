"""Pieces of sensitive values too short to mask (``substr(ssn, 3, 1)``, ``ascii(ssn[1])``).

A value shorter than ``SHORT`` characters cannot be a known value (``exits.remember`` keeps
none), and printed it cannot be told from any other short text: one query per position would
rebuild every SSN. So a fetched column that reveals a sensitive column (its SQL taint) and holds
such pieces is refused by the ``inference`` rule (action ``sql.fragment``) instead of shown.

- ``find(values, taint, name, cons)``: a short value of a tainted column that a value of its
  source column holds, or None;
- ``in_frame(frame, taint, con)``: the same over the columns of a result frame;
- ``refuse(guard, sql, source, column, value, probe)``: decide (rule ``inference``), raise if
  refused; a table-wide histogram's keys over groups of ``min_group_size`` rows pass (``shared``);
- ``new_when_full(values)``: whether ``values`` hold values not known yet that the known
  values cannot take (full, or past the bound once added: what every route then refuses
  with ``refuse_full``, before remembering any and handing out none);
- ``refuse_full(guard, sql)``: refuse a fetch whose values can no longer be remembered
  (``exits.full()``: ``guard-error``, naming the fix), on every route.

>>> find(["1", "ab"], frozenset(), "c", [])
>>> find(["ok", "x", "long enough"], frozenset({"customers.ssn"}), "k", [])
('customers.ssn', 'k', 'ok')
"""
from __future__ import annotations

from itertools import islice
from typing import Any

from jupyter_guard.hooks import exits
from jupyter_guard.hooks.state import Busy

SHORT = exits.SHORTEST   # ``exits.remember`` keeps values of at least this many characters
PIECES = 200   # distinct short values looked for in the source column per fetched column
ROWS = 200_000   # values of a column looked at (a cost bound)


def find(values: Any, taint: frozenset[str], name: str, cons: list[Any]
         ) -> tuple[str, str, str] | None:
    """(source column, ``name``, a piece) when the tainted column ``name`` holds short values
    that a value of its source column holds, and that column holds no short values itself (a
    short value may then be a whole one, like any other). Pieces are at least half of the
    column's values: a constant beside its long values (``UNION ALL SELECT 'x'``) is none. With
    no connection that knows the source table, the first short value is taken for a piece."""
    if not taint:
        return None
    shown = [s for s in map(_shown, values) if s]
    short = [s for s in shown if len(s) < SHORT]
    if not short or 2 * len(short) < len(shown):
        return None
    shorts = list(dict.fromkeys(islice(short, PIECES * 4)))[:PIECES]
    source = sorted(taint)[0]
    piece = _piece_of(source, shorts, cons)
    return None if piece is None else (source, name, piece)


def in_frame(frame: Any, taint: list[frozenset[str]], con: Any) -> tuple[str, str, str] | None:
    """``find`` over each tainted column of a result frame (``%%guarded_sql`` results on
    ``con``): the first piece found, else None."""
    names = [str(c) for c in frame.columns.tolist()]
    for i, t in enumerate(taint):
        found = find(frame.iloc[:ROWS, i].tolist(), t, names[i], [con]) if t else None
        if found:
            return found
    return None


def _piece_of(source: str, shorts: list[str], cons: list[Any]) -> str | None:
    """The first of ``shorts`` that a value of the sensitive column ``table.column`` holds,
    None if none does or the column holds short values itself. When no connection can tell,
    the first of ``shorts`` (the piece is then refused)."""
    table, _, column = source.rpartition(".")
    if not table:
        return shorts[0]
    t, c = (f'"{x.replace(chr(34), chr(34) * 2)}"' for x in (table, column))
    q = (f"SELECT (SELECT count(*) FROM {t} WHERE length(CAST({c} AS VARCHAR)) < {SHORT}), "
         f"(SELECT min(s) FROM unnest(?::VARCHAR[]) AS u(s) WHERE EXISTS "
         f"(SELECT 1 FROM {t} WHERE contains(CAST({c} AS VARCHAR), s)))")
    with Busy():   # the guard's own query, on a cursor (the user's pending result stays)
        for con in cons:
            try:
                whole, found = con.cursor().execute(q, [shorts]).fetchall()[0]
            except Exception:  # noqa: BLE001 - not this connection's table: another may know it
                continue
            return None if whole else found
    return shorts[0]


def _shown(v: Any) -> str:
    """How a fetched value prints ('' for a null, a boolean or NaN, which reveal no piece)."""
    if v is None or isinstance(v, bool) or (isinstance(v, float) and v != v):
        return ""
    return v.decode("latin-1") if isinstance(v, (bytes, bytearray)) else str(v)


def refuse(guard: Any, sql: str, source: str, column: str, value: str,
           probe: Any = None) -> None:
    """Refuse (rule ``inference``) a fetch whose ``column`` holds short pieces of ``source``,
    unless ``column`` is a key of a table-wide histogram whose every group holds at least
    ``sensitive.min_group_size`` rows (``shared``; ``probe``: what counts them)."""
    from jupyter_guard.guard.judge import refuse_verdict, verdict
    from jupyter_guard.model import Intent

    if probe is not None and shared(guard.policy, sql, column, probe):
        return
    intent = Intent("sql.fragment", "column", source, (source,),
                    detail=f"column {column!r} holds {len(value)}-character values",
                    source=sql[:200])
    err = None
    with Busy():
        v = verdict(guard, intent, guard.context(), sql[:200])
        if v.refuses:
            err = refuse_verdict(guard, v, kind="runtime", code=sql[:200], intents=(intent,))
    if err is not None:
        raise err


def shared(policy: Any, sql: str, column: str, probe: Any) -> bool:
    """``column`` is a key of ``SELECT left(ssn, 3) AS area, count(*) FROM customers GROUP BY
    1`` (``analyze.sql_groups``) and every group holds at least ``min_group_size`` (and two) rows:
    each piece is shared by that many rows, and the query picked none of them."""
    from jupyter_guard.analyze.sql_groups import histogram_keys, smallest_group
    from jupyter_guard.hooks.sql_exports import _tree

    if policy.min_group_size < 2:
        return False
    with Busy():
        tree = _tree(sql)
        if tree is None or column.lower() not in histogram_keys(tree):
            return False
        try:
            smallest = probe.scalar(smallest_group(tree))   # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - the groups could not be counted: the pieces stay refused
            return False
    return smallest is None or int(smallest) >= policy.min_group_size


FULL = ("", "", "")   # a route's marker, beside its pieces: the known values are full


def new_when_full(values: Any) -> bool:
    """Whether ``values`` hold values not known yet that the known values cannot take: they
    are full (``exits.full()``), or would be past ``MAX_KNOWN`` / ``MAX_KNOWN_BYTES`` once
    these were added (one huge fetch must not overshoot the bound it was checked against).
    Read as ``exits.remember`` reads them."""
    if not exits.full() and _fits_surely(values):
        return False
    try:
        new = exits._strings(values).difference(exits.known)
    except Exception:  # noqa: BLE001 - values that cannot be listed: the detectors still look at the bytes
        return False
    return bool(new) and (exits.full() or not _fits(len(new), sum(map(len, new))))


GROWTH = 3
"""What remembering a value adds to ``exits.held`` at most, in values of its size: the value,
its reversed or numeric forms (an estimate on the safe side: a fetch refused near the bound
asks for fewer rows; one let through would be remembered past it)."""


def _fits(n: int, chars: int) -> bool:
    return exits.counted[0] + n <= exits.MAX_KNOWN and exits.held[0] + GROWTH * (
        exits.BYTES_PER_CHAR * chars + exits.BYTES_PER_VALUE * n) <= exits.MAX_KNOWN_BYTES


def _fits_surely(values: Any) -> bool:
    """Whether every one of ``values`` (texts, counted in C) fits even if all were new."""
    try:
        return _fits(len(values), sum(map(len, values)))
    except TypeError:   # numbers, rows, a stream: read as ``exits.remember`` reads them
        return False


WHY_FULL = ("this result holds more sensitive values than the guard can remember "
            "({n:,} values or {mb:,} MB held): fetch fewer rows, or aggregate in SQL")


def refuse_full(guard: Any, sql: str) -> None:
    """Raise the refusal of a fetch made when the known values are full: handing its values
    out would leave them to the detectors alone (a value of any shape is masked only once it
    is known)."""
    refuse_fetch(guard, sql, WHY_FULL.format(n=exits.counted[0], mb=exits.held[0] >> 20))


def refuse_fetch(guard: Any, sql: str, why: str) -> None:
    """Raise a fetch's ``guard-error`` refusal (recorded as the guard's own): its values are
    not handed out unremembered."""
    from jupyter_guard.guard.judge import refuse_verdict
    from jupyter_guard.model import Verdict

    with Busy():
        err = refuse_verdict(guard, Verdict("block", "guard-error", why), kind="runtime",
                             code=sql[:200])
    raise err
