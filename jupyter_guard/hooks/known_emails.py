"""Known e-mails respelt, found by one normal form of the e-mail and of the printed text.

A user loop can spell a fetched e-mail in more ways than a list can hold: another case
(``e.upper()``, ``title``, ``swapcase``), its '@' or dots as words or symbols (`` AT ``,
``[at]``, ``(at)``, the fullwidth '@' U+FF20, ``%40``, ``&#64;``, `` dot ``), separators between its
characters (``'-'.join(e)``), its parts reordered (``'@'.join(reversed(e.split('@')))``, a
list ``['user0', 'example.com']``), fullwidth or Cyrillic/Greek look-alike letters,
backwards, rot13. Each keeps the e-mail's letters and digits in an order this module
knows, so both sides are brought to one normal form, the *skeleton*:

- NFKC (fullwidth letters and '@' fold to ASCII), ``casefold``, a few look-alike
  letters of other scripts to their Latin twin (``email_fold``);
- the '@' and '.' written as entities or escapes (``%40``, ``&#64;``, ``\\u0040``) and the
  words ``at`` and ``dot`` standing alone dropped;
- every character that is no letter or digit dropped.

A known e-mail's skeleton (``user0examplecom``), its domain first (``examplecomuser0``),
backwards and in rot13 are looked for in the text's skeleton with one automaton pass; a hit
counts only where it begins and ends at a word edge of the text (``xuser0@example.community``
is no hit). The local part alone (``e.split('@')[0].upper()``) counts when it names the
person as the whole address does (``local_key``): ``LOCAL_MIN`` characters or more with a
digit in it (``user0``), or ``LOCAL_WORDS_MIN`` or more made of words joined by ``.``, ``_``,
``-`` or ``+`` written as one token (``FIRST.LAST``; not the name ``First Last``, printed
from other columns too); a plain word (``sales``) is no identifier. Shorter e-mail skeletons
than ``MIN`` are left to the token check (``a1@x.io``), and so is an e-mail written as read.

>>> ix = Index()
>>> ix.add(["user0@example.com", "ab@x.io"])
>>> wide = "".join(chr(ord(c) + 0xFEE0) for c in "user0@")   # fullwidth
>>> sorted(t[:2] for t in ix.found("USER0 AT EXAMPLE DOT COM; " + wide + "example.com"))
[(0, 24), (26, 43)]
>>> [t[:2] for t in ix.found("['example.com', 'user0'] m-o-c-.-e-l-p-m-a-x-e-@-0-r-e-s-u")]
[(2, 22), (25, 58)]
>>> ix.found("user 0, example.com: 12, USER01, xuser0examplecom, user0x")
[]
"""
from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable
from itertools import accumulate, compress
from operator import add
from typing import Any

from jupyter_guard.hooks import known_email_cut
from jupyter_guard.hooks.email_build import BACKGROUND_MIN, Build
from jupyter_guard.hooks.email_fold import (
    AS_READ_B,
    FOLD,
    folded,
    folded_ascii,
    skeleton,
    words_all,
)

try:
    import ahocorasick
except ImportError:  # pragma: no cover - a platform without the wheel: the token check runs
    ahocorasick = None

MIN = 10
"""The shortest e-mail skeleton looked for (shorter ones are left to the token check)."""
LOCAL_MIN = 5
"""The shortest local part with a digit found alone (``user0``)."""
LOCAL_WORDS_MIN = 8
"""The shortest local part of words joined by ``._-+`` found alone (``first.last``)."""
LEVELS_MAX = 8
"""Automata kept before they are merged into one."""

def local_key(local: str, words: list[str] | None = None) -> str:
    """The skeleton of an e-mail's ``local`` part when it identifies the person alone, else ''
    (``words``: ``folded(local).split()``, where the caller has them).

    >>> [local_key(x) for x in ("user0", "first.last", "sales", "jdoe", "a.b", "12345678")]
    ['user0', 'firstlast', '', '', '', '']
    """
    key = "".join(folded(local).split() if words is None else words)
    if key.isdigit() or (key.isalpha() and not (len(key) >= LOCAL_WORDS_MIN and _JOINED.search(
            local))):
        return ""
    return key if len(key) >= (LOCAL_MIN if not key.isalpha() else LOCAL_WORDS_MIN) else ""


_JOINED = re.compile(r"\w[._+-]+\w")
_ROT13 = str.maketrans("abcdefghijklmnopqrstuvwxyz", "nopqrstuvwxyzabcdefghijklm")
LOCAL = 4
"""The form of a local part alone (0-3: whole, domain first, backwards, rot13)."""


def keys(email: str) -> list[tuple[str, int]]:
    """The skeletons looked for of one known ``email``, each with its form (0-3, ``LOCAL``):
    whole, domain first, backwards, rot13, and its local part when it identifies the person
    (``local_key``)."""
    local, _, domain = email.rpartition("@")
    return _keys(email, folded(local).split(), folded(domain).split()) if local else []


def _keys(email: str, lw: list[str], dw: list[str]) -> list[tuple[str, int]]:
    """``keys`` of ``email`` from the words of its local part and domain, folded."""
    a, b = "".join(lw), "".join(dw)
    out = []
    if len(a) + len(b) >= MIN:
        out = [(a + b, 0), (b + a, 1), ((a + b)[::-1], 2), ((a + b).translate(_ROT13), 3)]
    lk = local_key(email.rpartition("@")[0], lw)
    return out + [(lk, LOCAL)] if lk else out


# a local part of letters alone (``first.last``) written as words: a name (``First Last``),
# which is printed from other columns too; only found as one token (``FIRST.LAST``)
_NAMED = re.compile(r"\s")


@functools.lru_cache(maxsize=1 << 16)
def _is_local(email: str, key: str) -> bool:
    return skeleton(email.rpartition("@")[0]) == key


@functools.lru_cache(maxsize=1 << 16)
def _key_edges(email: str, key: str) -> frozenset[int]:
    """The word edges (``_edges``) of ``email``'s skeleton in the form that reads ``key``."""
    local, _, domain = email.rpartition("@")
    lw, dw = folded(local).split(), folded(domain).split()
    for words in (lw + dw, dw + lw, [w[::-1] for w in reversed(lw + dw)], lw):
        if "".join(words) == key:
            return _edges(words)
    return _edges(lw + dw)   # (rot13: the whole e-mail's)


def _edges(words: list[str]) -> frozenset[int]:
    """Where each word but the first begins, in the words joined."""
    return frozenset(accumulate(map(len, words[:-1])))


def _fits(span: str, edges: frozenset[int]) -> bool:
    """Whether the words of ``span`` (folded text) cut the skeleton only at the e-mail's word
    ``edges`` (``USER0 AT EXAMPLE.COM``, ``example.com user0``) or between every character
    (``'-'.join(e)``): ``user 0, example.com`` cuts ``user0`` and is no hit."""
    words = span.split()
    return max(map(len, words)) == 1 or _edges(words) <= edges


class Index:
    """The skeletons of the known e-mails, in a few automata (each batch added is one; past
    ``LEVELS_MAX`` they merge), each with the e-mail of each skeleton."""

    def __init__(self) -> None:
        self.levels: list[tuple[Any, dict[str, str], list[str]]] = []
        self.seen: set[str] = set()
        self.lock = threading.Lock()
        self.job: Build | None = None

    def add(self, emails: Iterable[str]) -> None:
        if ahocorasick is None:
            return
        new = [e for e in emails if e not in self.seen][:max(0, EMAILS_MAX - len(self.seen))]
        if not new:
            return
        with self.lock:
            if self.job is not None:   # one build at a time: the one under way first
                self.job.wait()
            self.seen.update(new)
            merged = len(self.levels) >= LEVELS_MAX
            if merged:
                new = [e for _, _, batch in self.levels for e in batch] + new
            if len(new) < BACKGROUND_MIN:
                self.levels = [*([] if merged else self.levels), (*_automaton(new), new)]
                return
            self.job = Build(self, new, merged, _automaton, words_all)

    def _settle(self, skel: str) -> None:
        """Waits for a build under way when ``skel`` may hold one of its e-mails' skeletons
        (``Build.may_hit``); a build that may not is left to finish on its own."""
        job = self.job
        if job is not None and (job.error is not None or (not job.done.is_set() and job.may_hit(
                skel))):
            job.wait()

    def found(self, text: str) -> list[tuple[int, int, str]]:
        """``(start, end, e-mail)`` of each known e-mail ``text`` spells, one of the ways above
        (not where it is written as read: the token check finds that)."""
        if not text or not (self.levels or self.job):
            return []
        if text.isascii():   # the skeleton first with each e-mail as read one space (no
            raw = text.encode("ascii")   # Python step each); where it holds a hit, again
            quick = AS_READ_B.sub(b" ", raw) if b"@" in raw else raw   # in place
            skel = folded_ascii(quick, False).translate(None, b" ").decode("ascii")
            self._settle(skel)
            levels = self.levels   # (read once the build that may hit is in them)
            if not any(owner and next(auto.iter_long(skel), None) for auto, owner, _ in levels):
                return []
            f = folded_ascii(raw, True).decode("ascii")
        else:
            f = folded(text, as_read=True)
            skel = f.replace(" ", "")
            self._settle(skel)
            levels = self.levels
        out: list[tuple[int, int, str]] = []
        for auto, owner, _ in levels:
            # the longest at each place (one an e-mail); a batch of e-mails too short has none
            hits = list(auto.iter_long(skel)) if owner else []
            if hits:
                out += _placed(text, f, skel, auto, owner, hits)
        return out


def _automaton(emails: list[str], words: tuple[list[list[str]], list[list[str]]] | None = None,
               pause: Any = None) -> tuple[Any, dict[str, str]]:
    """The automaton of the skeletons of ``emails`` (``keys``; each batch of forms made by C
    calls over them all: a call per key cost ~55 us an e-mail) and each skeleton's e-mail
    (``words``: ``_words`` of them, where the caller has them; ``pause``: called between
    steps, by a build in the background)."""
    pause = pause or _no_pause
    parts = [e.rpartition("@") for e in emails]
    lws, dws = words or _words(parts)
    a = list(map("".join, lws))
    b = list(map("".join, dws))
    whole = list(map(add, a, b))
    owner: dict[str, str] = {}
    long = [len(w) >= MIN for w in whole]
    joined = "\n".join(whole)   # (backwards and rot13: one C call over them all)
    for forms in (whole, list(map(add, b, a)), joined[::-1].split("\n")[::-1],
                  joined.translate(_ROT13).split("\n")):
        pause()
        owner.update(compress(zip(forms, emails), long))
    # local parts alone (``local_key``): those of letters alone read again (few, usually)
    owner.update((k, e) for k, e, p, w in zip(a, emails, parts, lws) if len(k) >= LOCAL_MIN
                 and not k.isdigit() and (not k.isalpha() or local_key(p[0], w)))
    auto = ahocorasick.Automaton(ahocorasick.STORE_LENGTH)
    add_word, found = auto.add_word, list(owner)
    for i in range(0, len(found), _STEP):
        pause()
        for k in found[i:i + _STEP]:
            add_word(k)
    pause()
    if len(auto):
        auto.make_automaton()
    return auto, owner


def _no_pause() -> None:
    return None


_STEP = 2_000
"""Keys added to an automaton between two pauses of a build in the background."""


def _words(parts: list[tuple[str, str, str]]) -> tuple[list[list[str]], list[list[str]]]:
    """The folded words of the local parts and of the domains of e-mails (``rpartition('@')``)."""
    return words_all([p[0] for p in parts]), words_all([p[2] for p in parts])


Hit = tuple[int, int]


def _placed(text: str, f: str, skel: str, auto: Any, owner: dict[str, str], hits: list[Hit]
            ) -> list[tuple[int, int, str]]:
    """The ``hits`` (end in ``skel``, length) that begin and end at a word edge of ``f``
    (``text`` folded) and fit the e-mail's words (``_fits``), as spans of ``text``; those
    written as read are left out. Where a longest hit does not count, the shorter ones in its
    place are tried (``auto.iter``)."""
    import numpy as np

    where = np.flatnonzero(np.frombuffer(f.encode("utf-32-le"), dtype=np.uint32) != 32)
    to_text = _offsets(text, f)
    out = []
    todo = hits
    while todo:
        ends = np.array([e for e, _ in todo], dtype=np.int64)
        lengths = np.array([n for _, n in todo], dtype=np.int64)
        firsts, lasts = where[ends - lengths + 1].tolist(), (where[ends] + 1).tolist()
        retry: list[Hit] = []
        for a, b, (end, n) in zip(firsts, lasts, todo):
            key = skel[end - n + 1:end + 1]
            value = owner[key]
            if text[a:b] in (value, value[::-1]):   # as read (or backwards): the token check's
                continue
            if (a == 0 or f[a - 1] == " ") and (b == len(f) or f[b] == " ") and _fits(
                    f[a:b], _key_edges(value, key)) and not (
                    key.isalpha() and _NAMED.search(text, a, b) and _is_local(value, key)):
                out.append((to_text(a), to_text(b - 1) + 1, value))
            elif todo is hits:   # the shorter hits ending in the same place
                retry += [h for h in auto.iter(skel, end - n + 1, end + 1) if h[1] != n]
        todo = retry
    return out


def _offsets(text: str, f: str) -> Any:
    """Maps an offset of ``f`` to the offset of the character of ``text`` it came from."""
    if len(f) == len(text):
        return int
    import numpy as np

    sizes = [len(FOLD[ord(c)]) for c in text] if not text.isascii() else [1] * len(text)
    ends = np.cumsum(sizes)
    return lambda i: int(np.searchsorted(ends, i, side="right"))



EMAILS_MAX = 200_000
"""The most known e-mails indexed (past it, the others are found as read, by the token check
and the automaton of ``known_match``, and by the e-mail detector)."""


class Follow:
    """The ``Index`` of the e-mails of one set of known values, brought up to date when the set
    changes: from the batches its ``journal`` lists (``known_match.Values``: only what was added
    is read), or the whole set (a set without one, or cleared: a new index)."""

    def __init__(self) -> None:
        self.index = Index()
        self.state: tuple[int, int] = (0, -1)
        self.size = 0

    def of(self, values: Any) -> Index:
        state = (id(values), getattr(values, "resets", 0))
        followed = hasattr(values, "journal")
        if state != self.state or (followed and values.journal is None):
            if state != self.state:   # another set, or this one cleared: all of it
                if self.index.job is not None:
                    self.index.job.stop = True
                self.index, self.state = Index(), state
            if followed:   # (also: batches unread past ``known_match.JOURNAL_MAX``)
                values.journal = []   # (first: a batch added meanwhile is read twice, not lost)
            self.index.add(_emails(list(values)))
            self.size = len(values)
        elif followed and values.journal:
            batches, values.journal = values.journal, []
            for batch in batches:
                self.index.add(_emails(batch))
        elif not followed and len(values) != self.size:
            self.index.add(_emails(list(values)))
            self.size = len(values)
        return self.index


def _emails(batch: Any) -> list[str]:
    """The e-mails among the strings of ``batch`` (none: one C search over them joined)."""
    try:
        if "@" not in "\x01".join(batch):
            return []
    except TypeError:   # not all strings
        pass
    return [v for v in batch if isinstance(v, str) and "@" in v and "." in v.rpartition("@")[2]]


FOLLOW = Follow()


def found(text: str, values: Any) -> list[tuple[int, int, str]]:
    """``Index.found`` over the e-mails of ``values`` (the known values)."""
    if not values:
        return []
    return FOLLOW.of(values).found(text) + known_email_cut.spans(text, values)   # (cut at its end)
