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
check's answer depends on), read as a sketch (``fingerprint_sql``, DuckDB): each person's hash,
in ``_BUCKETS`` buckets by hash, each bucket's count and sum of hashes. A person is a row of the
stored table, followed through CTEs, subqueries and views (``analyze.sql_crowd_carry``): its
whole row's hash, made distinct (joined copies, exact copies: one person); on a table with a
primary key, ``HASH(<key>, <checked column>)``, every row counted as it comes where no join
repeats it (one scan, no distinct: the cheap sketch). A copy of a keyed table without that key
is then another table's rows, not compared with it (its people are whole rows). Two
sketches bound the symmetric difference from below (``apart``): a bucket whose counts differ
holds at least that many differing rows, one whose counts agree but sums differ at least two.
A difference of one to ``min_group_size - 1`` rows always shows as one to ``min_group_size - 1``
(short of a 64-bit hash collision), so every such pair is refused; a larger difference can read
smaller when its rows share buckets, so a pair of honest answers that differ by a little more
than ``min_group_size`` may be refused too. Each group is a set, and so is their union (a sum of
groups is an answer on its own). A row that changed (an ``UPDATE`` of the checked value) has a
new hash: the same query after it differs by two rows and is refused. The hashes read the checked
values, but only equality of people across time reaches the decision, never a value.

Memory is bounded per session: at most ``_KEPT`` sketches of ``_BUCKETS`` counts and sums each
(about 2 KiB a sketch, 2 MiB in all), the oldest forgotten first. Still open: a difference spread
over more queries than memory keeps, or over several steps each of ``min_group_size`` rows
(tracker attacks), and across sessions or kernels (memory is the kernel's); other dialects than
DuckDB are measured by count only.
"""
from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp

from jupyter_guard.analyze.sql_crowd_carry import carry

_BUCKETS = 128
_KEPT = 1024
_MASK = (1 << 64) - 1


def fingerprint_sql(probe: str, views: Mapping[str, Sequence[str]] | None = None,
                    keyed: Callable[[exp.Table], Sequence[str]] | None = None,
                    names: Sequence[str] = ()) -> tuple[str, bool] | str | None:
    """The sketch query for a crowd probe (``analyze.sql_crowd.probe``, DuckDB) and whether it
    is the cheap one: per group and bucket, for each count the probe makes (``c<t>``, ``s<t>``),
    the people the check depends on, counted, and the sum of their hashes, in one scan. The
    person is the stored table's row, carried through derived tables, CTEs and ``views``
    (``analyze.sql_crowd_carry``): ``HASH(t)`` of the whole row, made distinct once; where
    ``keyed`` names the table's primary key (its rows are distinct people), ``HASH(t.<key>,
    t.<names>)``, with every row counted as it comes where no join repeats it (no distinct).
    A str: why the person cannot be told (refused); None when the probe is not of the shape it
    expects.

    >>> p = ("SELECT MIN(n0) FROM (SELECT COUNT(DISTINCT HASH(c)) FILTER(WHERE id > 3) AS n0 "
    ...      "FROM customers AS c GROUP BY city) AS _jg_crowd")
    >>> print(fingerprint_sql(p)[0])  # doctest: +NORMALIZE_WHITESPACE
    SELECT [COUNT(*) FILTER (WHERE t0)] AS c, [SUM(h) FILTER (WHERE t0)] AS s, h % 128 AS b, g0
    FROM (SELECT g0, h, BOOL_OR(t0) AS t0 FROM (SELECT city AS g0, HASH(c) AS h, id > 3 AS t0
    FROM customers AS c WHERE id > 3) AS _jg_rows GROUP BY g0, h) AS _jg_people GROUP BY g0, b
    >>> print(fingerprint_sql(p, keyed=lambda t: ["id"], names=["email"])[0])
    ... # doctest: +NORMALIZE_WHITESPACE
    SELECT [COUNT(*) FILTER (WHERE t0)] AS c, [SUM(h) FILTER (WHERE t0)] AS s, h % 128 AS b, g0
    FROM (SELECT city AS g0, c._jg_b AS h, id > 3 AS t0 FROM (SELECT *, HASH(customers.id,
    customers.email) AS _jg_b FROM customers) AS c) AS _jg_people GROUP BY g0, b
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
    gs = [exp.alias_(k, f"g{n}") for n, k in enumerate(keys or [exp.Literal.number(0)])]
    g = ", ".join(f"g{n}" for n in range(len(gs)))   # the keys themselves: no hash per row
    flags: list[exp.Expr] = []
    who: exp.Expr | None = None
    for t, out in enumerate(inner.expressions):
        counted = out.unalias()
        if not isinstance(counted, exp.Filter) or not isinstance(counted.expression, exp.Where) \
                or not isinstance(counted.this, exp.Count):
            return None
        arg = counted.this.this
        if not isinstance(arg, exp.Distinct) or len(arg.expressions) != 1 or (
                who is not None and arg.expressions[0] != who):
            return None
        who = arg.expressions[0]
        flags.append(exp.alias_(counted.expression.this.copy(), f"t{t}"))
    got = who.expressions if isinstance(who, exp.Anonymous) and str(who.this).upper() == \
        "HASH" else []
    row = got[0] if len(got) == 1 else None
    if not isinstance(row, exp.Column) or row.table:
        return None   # the person is ``HASH(<source>)`` (``sql_crowd_rows.person``)
    rows = inner.copy()   # one scan: each row's group, person and which counts hold it
    carried = carry(rows, row.name, views or {}, keyed or (lambda _t: []), names)
    if isinstance(carried, str):
        return carried
    h, fast = carried
    rows.set("group", None)
    rows.set("expressions", [*gs, exp.alias_(h, "h"), *flags])
    per = (", ".join(f"COUNT(*) FILTER (WHERE t{t})" for t in range(len(flags))) + "] AS c, [" +
           ", ".join(f"SUM(h) FILTER (WHERE t{t})" for t in range(len(flags))))
    if not fast:   # people made distinct once: a join, or copies of one row, are one person
        rows.set("where", exp.Where(this=exp.or_(*(f.unalias().copy() for f in flags))))
        people = ", ".join(f"BOOL_OR(t{t}) AS t{t}" for t in range(len(flags)))
        body = (f"SELECT {g}, h, {people} FROM ({rows.sql(dialect='duckdb')}) AS _jg_rows "
                f"GROUP BY {g}, h")
    else:
        rows.set("where", None)
        body = rows.sql(dialect="duckdb")
    sql = (f"SELECT [{per}] AS s, h % {_BUCKETS} AS b, {g} FROM ({body}) AS _jg_people "
           f"GROUP BY {g}, b")
    return sql, fast


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


def _measured(cat: Any, probe: str, columns: list[str], views: Mapping[str, Sequence[str]],
              keyed: Callable[[exp.Table], Sequence[str]]) -> list[tuple[Any, ...]] | str:
    """``fingerprint_sql``'s rows as (count, group, bucket, people, sum), or why the person
    cannot be told; the cheap per-row sketch where it can be read, else the distinct one."""
    names = list(dict.fromkeys(c.rpartition(".")[2] for c in columns))
    plain: Callable[[exp.Table], Sequence[str]] = lambda _t: []   # noqa: E731
    for key in (keyed, plain):
        made = fingerprint_sql(probe, views, key, names)
        if made is None:
            raise ValueError("a crowd probe of an unknown shape")
        if isinstance(made, str):
            return made
        sql, fast = made
        try:
            got = cat.conn.rows(sql)
        except Exception:
            if fast:   # a column named otherwise in the table, no rowid: the whole row then
                continue
            raise
        return [(t, repr(row[3:]), row[2], n, row[1][t] or 0) for row in got
                for t, n in enumerate(row[0]) if n]
    raise ValueError("no sketch")


def overlap(probe: str, cat: Any, columns: list[str], size: int,
            views: Mapping[str, Sequence[str]] | None = None,
            keyed: Callable[[exp.Table], Sequence[str]] | None = None
            ) -> tuple[int | None, str]:
    """(the smallest group's people count, or None with no row; '' or why the answer is
    refused) of a crowd probe measured on DuckDB, remembered for ``columns`` by their names
    alone (``email``: an exact copy of the table under another name, made where the guard did
    not see it, has the same rows, hashed the same, where its people are whole rows).
    Raises when the sketch cannot be read (the caller refuses)."""
    got = _measured(cat, probe, columns, views or {}, keyed or (lambda _t: []))
    if isinstance(got, str):
        return None, "crowd:" + got
    groups, unions = sketches(got)
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
