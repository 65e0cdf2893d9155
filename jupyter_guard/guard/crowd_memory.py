"""Answers by differencing (issue 15): two crowd answers on one sensitive column whose row sets
differ by a few rows answer for those rows (``count(*) WHERE email LIKE '%@gmail.com'``, then the
same ``AND id <> 12``: the difference is person 12's domain). A known statistical-database
defence, query-set overlap control: per session, for each checked column name (``email``: every
spelling of a check on it, ``LIKE``, ``ends_with``, ``split_part``, and every table's column of
that name, a copy of the table included, share one memory),
remember the set of rows each allowed answer depended on, and refuse a new answer on the same
column whose set differs from a remembered one by at least one and fewer than
``sensitive.min_group_size`` rows, in either direction. The same set again (the same query run
twice) passes: it answers nothing new.

The set is the crowd probe's (``analyze.sql_crowd``: per group of the query's keys, the rows the
check's answer depends on), read as a sketch (``fingerprint_sql``, DuckDB): each row's hash over
all its columns, in ``_BUCKETS`` buckets by hash, each bucket's count and sum of hashes. Two
sketches bound the symmetric difference from below (``apart``): a bucket whose counts differ
holds at least that many differing rows, one whose counts agree but sums differ at least two.
A difference of one to ``min_group_size - 1`` rows always shows as one to ``min_group_size - 1``
(short of a 64-bit hash collision), so every such pair is refused; a larger difference can read
smaller when its rows share buckets, so a pair of honest answers that differ by a little more
than ``min_group_size`` may be refused too. Each group is a set, and so is their union (a sum of
groups is an answer on its own). A row that changed (an ``UPDATE`` of the checked value) has a
new hash: the same query after it differs by two rows and is refused. The hashes read the checked
values, but only equality of whole rows across time reaches the decision, never a value.

Memory is bounded per session: at most ``_KEPT`` sketches of ``_BUCKETS`` counts and sums each
(about 2 KiB a sketch, 2 MiB in all), the oldest forgotten first. Still open: a difference spread
over more queries than memory keeps, or over several steps each of ``min_group_size`` rows
(tracker attacks), and across sessions or kernels (memory is the kernel's); other dialects than
DuckDB are measured by count only.
"""
from __future__ import annotations

from array import array
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp

_BUCKETS = 128
_KEPT = 1024
_MASK = (1 << 64) - 1


def fingerprint_sql(probe: str) -> str | None:
    """The sketch query for a crowd probe (``analyze.sql_crowd.probe``, DuckDB): per count the
    probe makes (``t``), group and bucket, the distinct people the check depends on (the
    probe's ``COUNT(DISTINCT …)`` argument, hashed), counted, and the sum of their hashes; one
    scan, people made distinct once. None when the probe is not of the shape it expects.

    >>> p = ("SELECT MIN(n0) FROM (SELECT COUNT(DISTINCT HASH(c)) FILTER(WHERE id > 3) AS n0 "
    ...      "FROM customers AS c GROUP BY city) AS _jg_crowd")
    >>> print(fingerprint_sql(p))  # doctest: +NORMALIZE_WHITESPACE
    WITH _jg_people AS MATERIALIZED (SELECT g, h, BOOL_OR(t0) AS t0 FROM (SELECT HASH(city) AS
    g, HASH(c) AS h, id > 3 AS t0 FROM customers AS c WHERE id > 3) AS _jg_rows GROUP BY g, h)
    SELECT 0 AS t, g, h % 128 AS b, COUNT(*) AS c, SUM(h) AS s FROM _jg_people WHERE t0 GROUP
    BY g, b
    """
    try:
        outer = sqlglot.parse_one(probe, read="duckdb")
    except sqlglot.errors.ParseError:
        return None
    src = outer.find(exp.From)
    inner = src.this.this if src is not None and isinstance(src.this, exp.Subquery) else None
    if not isinstance(inner, exp.Select) or not inner.expressions:
        return None
    group = inner.args.get("group")
    keys = [k.copy() for k in group.expressions] if group is not None else []
    g: exp.Expr = exp.func("HASH", *keys) if keys else exp.Literal.number(0)
    flags: list[exp.Expr] = []
    h: exp.Expr | None = None
    for t, out in enumerate(inner.expressions):
        counted = out.unalias()
        if not isinstance(counted, exp.Filter) or not isinstance(counted.expression, exp.Where) \
                or not isinstance(counted.this, exp.Count):
            return None
        arg = counted.this.this
        if isinstance(arg, exp.Distinct) and len(arg.expressions) == 1:
            mine = arg.expressions[0].copy()
            if not mine.sql(dialect="duckdb").upper().startswith("HASH("):
                mine = exp.func("HASH", mine)
        else:   # every joined row
            mine = sqlglot.parse_one("HASH(*COLUMNS(*), 1)", read="duckdb")
        if h is not None and mine != h:
            return None
        h = mine
        flags.append(exp.alias_(counted.expression.this.copy(), f"t{t}"))
    if h is None:
        return None
    rows = inner.copy()   # one scan: each row's group, person and which counts hold it
    rows.set("group", None)
    rows.set("expressions", [exp.alias_(g, "g"), exp.alias_(h, "h"), *flags])
    rows.set("where", exp.Where(this=exp.or_(*(f.unalias().copy() for f in flags))))
    people = ", ".join(f"BOOL_OR(t{t}) AS t{t}" for t in range(len(flags)))
    per = " UNION ALL ".join(
        f"SELECT {t} AS t, g, h % {_BUCKETS} AS b, COUNT(*) AS c, SUM(h) AS s FROM _jg_people "
        f"WHERE t{t} GROUP BY g, b" for t in range(len(flags)))
    return (f"WITH _jg_people AS MATERIALIZED (SELECT g, h, {people} FROM "
            f"({rows.sql(dialect='duckdb')}) AS _jg_rows GROUP BY g, h) {per}")


@dataclass(frozen=True)
class Sketch:
    """A row set: its size and, per bucket, the count and the sum of hashes (mod 2**64)."""

    n: int
    counts: array   # type: ignore[type-arg]
    sums: array     # type: ignore[type-arg]


def sketches(rows: list[tuple[Any, ...]]) -> tuple[list[Sketch], list[Sketch]]:
    """(each count's groups' sketches, each count's union of its groups, with two groups or
    more) from ``fingerprint_sql``'s rows.

    >>> groups, unions = sketches([(0, 1, 0, 3, 9), (0, 1, 5, 2, 4), (0, 2, 0, 6, 1)])
    >>> [s.n for s in groups], [s.n for s in unions]
    ([5, 6], [11])
    """
    by: dict[Any, dict[Any, tuple[array, array]]] = {}   # type: ignore[type-arg]
    for t, g, b, c, s in rows:
        counts, sums = by.setdefault(t, {}).setdefault(g, (
            array("q", bytes(8 * _BUCKETS)), array("Q", bytes(8 * _BUCKETS))))
        counts[int(b)] += int(c)
        sums[int(b)] = (sums[int(b)] + int(s)) & _MASK
    groups: list[Sketch] = []
    unions: list[Sketch] = []
    for per in by.values():
        mine = [Sketch(sum(c), c, s) for c, s in per.values()]
        groups += mine
        if len(mine) > 1:
            counts = array("q", (sum(x) for x in zip(*(o.counts for o in mine))))
            sums = array("Q", (sum(x) & _MASK for x in zip(*(o.sums for o in mine))))
            unions.append(Sketch(sum(counts), counts, sums))
    return groups, unions


def within(sets: list[Sketch], size: int) -> int:
    """The smallest difference (1 to ``size - 1``) between two sets one answer depends on
    (``count(*)`` beside ``count_if(id <> 12)``: their difference is person 12); 0 for none.

    >>> a, b = sketches([(0, 0, 1, 5, 50), (1, 0, 1, 4, 40)])[0]
    >>> within([a, b], 5), within([a, a], 5)
    (1, 0)
    """
    ordered = sorted(sets, key=lambda s: s.n)
    worst = 0
    for k, s in enumerate(ordered):
        for o in ordered[k + 1:]:
            if o.n - s.n >= size:
                break
            if 0 < (d := apart(s, o)) < size:
                worst = d if not worst else min(worst, d)
    return worst


def apart(a: Sketch, b: Sketch) -> int:
    """At least how many rows are in one set and not the other (0: the same set).

    >>> one, fewer, other = (sketches([(0, 0, 1, c, s)])[0][0] for c, s in ((5, 50), (4, 40),
    ...                                                                    (5, 51)))
    >>> apart(one, fewer), apart(one, other)
    (1, 2)
    >>> apart(one, one)
    0
    """
    if a.counts == b.counts and a.sums == b.sums:
        return 0
    out = 0
    for ca, cb, sa, sb in zip(a.counts, b.counts, a.sums, b.sums):
        out += abs(ca - cb) if ca != cb else 2 if sa != sb else 0
    return out


@dataclass
class Memory:
    """One session's remembered row sets, by checked column name (``email``), oldest first
    forgotten past ``_KEPT``; ``turn`` tells one decision's answers from earlier ones."""

    kept: deque[tuple[str, int, Sketch]] = field(default_factory=deque)
    turn: int = 0
    current: Any = None   # the decision (its catalog) being measured: held, so ids stay unique

    def begin(self, decision: Any) -> int:
        if decision is not self.current:
            self.current, self.turn = decision, self.turn + 1
        return self.turn

    def close_to(self, column: str, new: list[Sketch], size: int) -> int:
        """The smallest difference (1 to ``size - 1`` rows) between a new set and one an earlier
        decision's answer on ``column`` depended on; 0 when there is none."""
        worst = 0
        for col, turn, old in self.kept:
            if col != column or turn == self.turn:
                continue
            for s in new:
                if abs(s.n - old.n) < size and 0 < (d := apart(s, old)) < size:
                    worst = d if not worst else min(worst, d)
        return worst

    def keep(self, column: str, new: list[Sketch]) -> None:
        for s in new:
            if any(col == column and apart(s, old) == 0 for col, _t, old in self.kept
                   if old.n == s.n):
                continue   # the same set again: nothing new to remember
            self.kept.append((column, self.turn, s))
            while len(self.kept) > _KEPT:
                self.kept.popleft()


MEMORY = Memory()   # the kernel's: one guarded kernel is one session


def overlap(probe: str, cat: Any, columns: list[str], size: int) -> tuple[int | None, str]:
    """(the smallest group's row count, or None with no row; '' or why the answer is refused
    as a difference) of a crowd probe measured on DuckDB, remembered for ``columns`` by their
    names alone (``email``: a copy of the table under another name, made where the guard did
    not see it, has the same rows, hashed the same).
    Raises when the sketch cannot be read (the caller refuses)."""
    sql = fingerprint_sql(probe)
    if sql is None:
        raise ValueError("a crowd probe of an unknown shape")
    groups, unions = sketches(cat.conn.rows(sql))
    new = groups + unions
    MEMORY.begin(cat)
    smallest = min((s.n for s in groups), default=None)
    if smallest is not None and smallest < size:
        return smallest, ""
    d = within(new, size)
    if d:
        return smallest, (f"crowd:asked over sets of rows that differ by {d} in one answer "
                          f"(fewer than min_group_size={size}: the difference answers for them)")
    names = list(dict.fromkeys(c.rpartition(".")[2].lower() for c in columns))
    for name in names:
        d = MEMORY.close_to(name, new, size)
        if d:
            return smallest, (f"crowd:asked over rows that differ by {d} from those an earlier "
                              f"answer on a column {name} in this session depended on (fewer "
                              f"than min_group_size={size}: the difference answers for them)")
    for name in names:
        MEMORY.keep(name, new)
    return smallest, ""


__all__ = ["MEMORY", "Memory", "Sketch", "apart", "fingerprint_sql", "overlap", "sketches",
           "within"]
