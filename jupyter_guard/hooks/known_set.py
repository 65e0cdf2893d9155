"""The set of known values (``exits.known``): a ``set`` of strings that counts its changes, so
readers rebuild only what changed (``known_match.Matcher``: ``added``, ``resets``), and keeps
the batches added for readers that follow them (``journal``: ``known_emails.Follow``;
``readers``: ``known_ints``), read in batches, not by reading the whole set again.
"""
from __future__ import annotations

from typing import Any

JOURNAL_MAX = 64
"""Batches ``Values.journal`` keeps for its reader at most."""


class Values(set):  # type: ignore[type-arg]  # a set of str, as ``exits.known`` always was
    """The known values. ``added`` lists values added since the matcher last looked; any
    removal bumps ``resets`` (the matcher then rebuilds from the whole set)."""

    def __init__(self) -> None:
        super().__init__()
        self.added: list[str] = []
        self.unchecked: list[str] = []   # added, not yet looked at by ``Matcher.has_spaced``
        self.spaced = False   # a value added with ``update_checked`` holds a separator
        self.resets = 0
        self.watchers: list[Any] = []   # the matchers' ``forget``, called at a clear
        # the batches added, kept only once a reader follows them (``known_emails.Follow``,
        # which takes them at its next look; a reset empties it, the reader reads the whole set);
        # ``readers``: more of them by name (``known_ints``), each kept by the same rule
        self.journal: list[Any] | None = None
        self.readers: dict[str, list[Any] | None] = {}

    def add(self, v: Any) -> None:
        set.add(self, v)
        self.added.append(v)
        self.unchecked.append(v)
        self._journal((v,))

    def update(self, *others: Any) -> None:
        for o in others:
            o = o if isinstance(o, (set, frozenset, list, tuple)) else list(o)
            set.update(self, o)
            self.added.extend(o)
            self.unchecked.extend(o)
            self._journal(o)

    def update_checked(self, values: Any, spaced: bool) -> None:
        """Values whose caller has worked out whether one holds a separator (``spaced``,
        ``_spaced``'s answer; ``exits.remember`` knows it from the strings it joined anyway):
        ``has_spaced`` does not read them again (~0.2 s for 1.5 million)."""
        values = values if isinstance(values, (set, frozenset, list, tuple)) else list(values)
        self.spaced = self.spaced or spaced   # (first: a ``has_spaced`` meanwhile sees it)
        set.update(self, values)
        self.added.extend(values)
        self._journal(values)

    def _journal(self, batch: Any) -> None:
        """Keeps ``batch`` for the reader; past ``JOURNAL_MAX`` batches not read, none (the
        reader then reads the whole set: batches held for long would double the memory)."""
        if self.journal is not None:
            self.journal.append(batch)
            if len(self.journal) > JOURNAL_MAX:
                self.journal = None
        for name, kept in self.readers.items():
            if kept is not None:
                kept.append(batch)
                self.readers[name] = kept if len(kept) <= JOURNAL_MAX else None

    def __ior__(self, other: Any) -> Values:  # type: ignore[misc]  # in place, as set's
        self.update(other)
        return self

    def _reset(self) -> None:
        self.resets += 1
        self.added.clear()
        self.unchecked.clear()   # (the matcher reads the whole set again)
        self.spaced = False
        if self.journal is not None:
            self.journal = []
        self.readers = {name: [] for name in self.readers}

    def clear(self) -> None:
        set.clear(self)
        self._reset()
        for w in self.watchers:
            forget = w()
            if forget is not None:
                forget()

    def discard(self, v: Any) -> None:
        set.discard(self, v)
        self._reset()

    def remove(self, v: Any) -> None:
        set.remove(self, v)
        self._reset()

    def pop(self) -> Any:
        self._reset()
        return set.pop(self)

    def difference_update(self, *others: Any) -> None:
        set.difference_update(self, *others)
        self._reset()

    def intersection_update(self, *others: Any) -> None:
        set.intersection_update(self, *others)
        self._reset()

    def symmetric_difference_update(self, other: Any) -> None:
        set.symmetric_difference_update(self, other)
        self._reset()

    def __isub__(self, other: Any) -> Values:  # type: ignore[misc]  # in place, as set's
        self.difference_update(other)
        return self

    def __iand__(self, other: Any) -> Values:  # type: ignore[misc]  # in place, as set's
        self.intersection_update(other)
        return self

    def __ixor__(self, other: Any) -> Values:  # type: ignore[misc]  # in place, as set's
        self.symmetric_difference_update(other)
        return self
