"""Python functions a ``sqlite3`` connection runs inside SQLite: ``create_function``,
``create_aggregate``, ``create_window_function`` and ``create_collation``.

SQLite hands them raw values, and the guard cannot read their bodies (like PostgreSQL's C
functions): a call of one keeps the taint of the columns passed to it (``sqlite_lineage``), so
``enc(ssn)`` comes out as a derived sensitive value (masked whole when shown, refused at the
exits), whatever the function is named (one named ``length`` or ``count`` replaces SQLite's own).
And the values a statement passes to one from sensitive columns become known values as the
function receives them (as a fetch's do): kept aside by the function (``stash.append(s)``) they
are masked and refused at the exits all the same. The function runs as the user's code
(``call_user``) even inside a statement the guard runs for its own checks.
"""
from __future__ import annotations

import re
from typing import Any

from jupyter_guard.hooks import exits
from jupyter_guard.hooks.state import Busy, call_user

ALL = frozenset(range(64))


class Hot:
    """The argument positions the running statement fills from sensitive columns."""

    __slots__ = ("positions",)

    def __init__(self) -> None:
        self.positions: frozenset[int] = frozenset()

    def see(self, args: tuple[Any, ...]) -> None:
        """Remember the values of the hot arguments (those not known yet)."""
        if not self.positions:
            return
        new = [a for i, a in enumerate(args) if i in self.positions and a is not None and
               not isinstance(a, bool) and str(a) not in exits.known]
        if new:
            with Busy():
                exits.remember(new)


# id(the real sqlite3 connection) -> (it, {lower-case name: its Hot}); held (a sqlite3
# connection takes no weak reference, and a name forgotten would be read as SQLite's own)
_REGISTERED: dict[int, tuple[Any, dict[str, Hot]]] = {}


def _table(raw: Any) -> dict[str, Hot]:
    got = _REGISTERED.get(id(raw))
    return got[1] if got is not None and got[0] is raw else {}


def names(raw: Any) -> frozenset[str]:
    """The names of the functions and collations the user registered on ``raw``."""
    return frozenset(_table(raw))


def _hot(raw: Any, name: str) -> Hot:
    got = _REGISTERED.get(id(raw))
    if got is None or got[0] is not raw:
        got = _REGISTERED[id(raw)] = (raw, {})
    return got[1].setdefault(str(name).lower(), Hot())


def function(raw: Any, name: str, func: Any) -> Any:
    """``func`` as registered by ``create_function``: its hot arguments remembered."""
    if not callable(func):
        _hot(raw, name)
        return func
    hot = _hot(raw, name)

    def udf(*args: Any) -> Any:
        hot.see(args)
        return call_user(func, *args)
    return udf


def collation(raw: Any, name: str, func: Any) -> Any:
    """``func`` as registered by ``create_collation``: both values it compares are the hot
    column's (a collation sees values of the column it orders or compares)."""
    if not callable(func):
        _hot(raw, name)
        return func
    hot = _hot(raw, name)

    def collate(a: Any, b: Any) -> Any:
        hot.see((a, b) if hot.positions else ())
        return call_user(func, a, b)
    return collate


def aggregate(raw: Any, name: str, cls: Any, window: bool = False) -> Any:
    """The class registered by ``create_aggregate`` (``window``: ``create_window_function``):
    each instance's ``step``/``inverse`` see the hot arguments first."""
    if cls is None:
        _hot(raw, name)
        return cls
    hot = _hot(raw, name)

    class Aggregate:
        def __init__(self) -> None:
            self._jg = call_user(cls)

        def step(self, *args: Any) -> Any:
            hot.see(args)
            return call_user(self._jg.step, *args)

        def finalize(self) -> Any:
            return call_user(self._jg.finalize)

    if not window:
        return Aggregate

    class Window(Aggregate):
        def inverse(self, *args: Any) -> Any:
            hot.see(args)
            return call_user(self._jg.inverse, *args)

        def value(self) -> Any:
            return call_user(self._jg.value)

    return Window


def prepare(raw: Any, text: str, policy: Any) -> None:
    """Before ``text`` runs on ``raw``: the hot positions of each registered function it calls
    (every position when they cannot be told, or when the function is not called by name but a
    view or trigger of the connection names it)."""
    table = _table(raw)
    if not table:
        return
    from jupyter_guard.connections import sqlite_lineage as lin  # late: it imports the hooks

    with Busy():
        cat = lin.Catalog(raw)
        tree = lin._tree(text)
        found: dict[str, frozenset[int]] = {}
        for name, node in lin.calls(tree, table) if tree is not None else []:
            t = lin.arg_taint(node, cat, policy)
            hot = ALL if t is None else frozenset(i for i, x in enumerate(t) if x)
            if node.__class__.__name__ == "Collate":   # both values compared are the column's
                hot = ALL if hot else hot
            found[name] = found.get(name, frozenset()) | hot
        hidden = _in_schema(raw, [n for n in table if n not in found]) if tree is not None \
            else set(table)
        for name, hot_ in table.items():
            hot_.positions = found.get(name, ALL if name in hidden else frozenset())


# id(connection) -> (it, its schema key, the words of its schema's definitions)
_WORDS: dict[int, tuple[Any, tuple[Any, ...], set[str]]] = {}


def _in_schema(raw: Any, wanted: list[str]) -> set[str]:
    """The names in ``wanted`` that a view, trigger or table definition of ``raw`` mentions
    (its definitions read again only when a database's schema changed)."""
    if not wanted:
        return set()
    from jupyter_guard.connections.sqlite_lineage import _schema_key

    try:
        key = _schema_key(raw)
    except Exception:  # noqa: BLE001 - a schema the guard cannot read: every name counts
        return set(wanted)
    hit = _WORDS.get(id(raw))
    if hit is None or hit[0] is not raw or hit[1] != key:
        words = _words(raw)
        if words is None:
            return set(wanted)
        hit = _WORDS[id(raw)] = (raw, key, words)
    return {n for n in wanted if n in hit[2]}


def _words(raw: Any) -> set[str] | None:
    text = ""
    try:
        for r in raw.execute("PRAGMA database_list").fetchall():
            schema = str(r[1]).replace('"', '""')
            text += " ".join(str(s[0]) for s in raw.execute(
                f'SELECT sql FROM "{schema}".sqlite_master WHERE sql IS NOT NULL').fetchall())
    except Exception:  # noqa: BLE001 - a schema the guard cannot read: every name counts
        return None
    return set(re.findall(r"[a-z_][a-z0-9_$]*", text.lower()))
