"""Every text a cell's messages show, read as one joined stream of short pieces.

A known value sent a few characters at a time (``print(s[i:i + 2])``, one ``display`` per
character of any mimetype, a list of characters in ``application/json``, ``update_display``
of one id, a dict of index -> character on one line, ``warnings.warn(c + ' ' * i)``) is in no
single message. ``Run`` reads the pieces of every message of a cell in the order they were
sent: each message's texts (stream text, every mimetype, metadata, transient, an error's value)
cut into tokens at whitespace and JSON/repr punctuation (quotes, brackets, commas, colons,
``=``; tags and entities dropped, a warning's text kept without its file and source line).
Tokens of at most ``PIECE`` characters are pieces; consecutive pieces are joined (all of them,
every other one: a dict's values between its keys, and their digits only) and looked up among
the known values (``exits.known``, and their digits). A longer token ends the run, unless the
message before or this one had it already (a label: ``print('char', c)``).

Across a cell's start (``Run.boundary``) only runs made of whole messages go on.

``feed`` returns the first message of a known value the pieces completed, and the first message
of any run of ``HELD_FROM`` pieces or more still spelling the beginning of one (``Prefixes``):
the caller holds messages from there on, so a value found is masked but for its first piece.

>>> from jupyter_guard.hooks import exits
>>> saved = set(exits.known)
>>> exits.known.clear(); exits.remember(["100000005", "user5@example.com"])
>>> run = Run()
>>> [run.feed(tokens(t), i) for i, t in enumerate(["10\\n", "000\\n", "000", "5"])]
[(None, None), (None, 0), (None, 0), (0, 0)]
>>> run = Run(); run.feed(tokens("{0: '1', 1: '0', 2: '0', 3: '0', 4: '0', 5: '0',"), 0)
(None, 0)
>>> run.feed(tokens("6: '0', 7: '0', 8: '5'}"), 1)   # (a longer form may follow: held)
(0, 0)
>>> run = Run(); [run.feed(tokens(t), i)[1] for i, t in enumerate(["step 7", "step 1", "step 0"])]
[None, None, 1]
>>> exits.known.clear(); exits.known.update(saved)
"""
from __future__ import annotations

import html
import re
from typing import Any

from jupyter_guard.hooks import exits, pieces_decoded
from jupyter_guard.hooks.pieces_order import Ordered

PIECE = 4
"""A token this short is a piece (a value's characters, one to four at a time)."""
SHORTEST = 7
"""The shortest known value looked for (a known number has 7+ digits)."""
DIGITS_SPELT = 9
"""A known number spelt otherwise than read (``exits.spelt``) is looked for from this many
digits on."""
LONGEST = 64
"""Known values longer than this are not looked for in pieces."""
HELD_FROM = 2
"""Pieces a run must have before its messages are held: one short output alone (``Epoch 1``
that may begin a known number) is never held; the first piece of a value spelt so may show."""
PREFIX_MAX = 200_000
"""Known values at most for which every beginning is kept (``Prefixes``); past it every run
of pieces is held as if it began a value (up to the caller's bound)."""
_TOKEN = re.compile(r"[^\s'\",:;\[\]{}()<>=|`*$\\^~]+")
_TAG = re.compile(r"<[^>]{0,1024}>")
# ``warnings.formatwarning``: ``file:line: Category: text`` and the source line below it
_WARNING = re.compile(r"(?m)^[^\n]*?:\d+: \w+: ([^\n]*)\n(?:[ \t]+[^\n]*\n?)?")
_WARNED = re.compile(r":\d+: \w+: ")
_DIGITS = re.compile(r"\D+")
TEXTS = 64
"""Texts read of one message at most (a bundle's mimetypes, its metadata's strings)."""
LONGEST_TEXT = 1 << 20
"""A text longer than this is read for its last ``LONGEST_TEXT`` characters."""


def _strings(x: Any, out: list[str]) -> None:
    if len(out) >= TEXTS:
        return
    if isinstance(x, str):
        out.append(x)
    elif isinstance(x, dict):
        for k, v in x.items():
            if isinstance(k, str) and k.startswith("image/"):
                continue
            _strings(k, out)
            _strings(v, out)
    elif isinstance(x, (list, tuple)):
        for v in x:
            _strings(v, out)
    elif isinstance(x, (int, float)) and not isinstance(x, bool):
        out.append(str(x))


def tokens(text: str) -> list[str]:
    """The tokens a person reads in ``text`` (tags, entities and a warning's file dropped)."""
    if len(text) > LONGEST_TEXT:
        text = text[-LONGEST_TEXT:]
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    if ": " in text and _WARNED.search(text) is not None:
        text = _WARNING.sub(lambda m: m.group(1) + "\n", text)
    return _TOKEN.findall(text)


def message_views(kind: str, content: Any, metadata: Any = None) -> list[list[str]]:
    """The tokens of each text of one message, in order: its stream text or an error's value,
    every mimetype of its data, each string of its metadata and ``transient``."""
    texts: list[str] = []
    if isinstance(content, dict):
        if kind == "stream":
            _strings(content.get("text"), texts)
        elif kind == "error":
            _strings(content.get("evalue"), texts)
        else:
            data = content.get("data")
            if isinstance(data, dict):
                for mime, value in data.items():
                    if not (isinstance(mime, str) and mime.startswith("image/")):
                        texts.append(value if isinstance(value, str) else _joined(value))
            for key in ("metadata", "transient"):
                _strings(content.get(key), texts)
    _strings(metadata, texts)
    return [tokens(text) for text in texts]


OWN_FIELDS = frozenset({"status", "execution_count", "engine_info", "traceback"})
"""Top-level fields of a ``*_reply`` not read: what the kernel fills itself, and an error's
traceback (as of an ``error`` message, its value is read: the traceback repeats it among the
code's lines and colour codes)."""
LEAVES = 256
"""Strings and numbers read of a message of any other type at most (in order)."""


def _leaves(x: Any, values: list[str], keys: list[str]) -> None:
    if len(values) >= LEAVES or len(keys) >= LEAVES:
        return
    if isinstance(x, str):
        values.append(x)
    elif isinstance(x, dict):
        for k, v in x.items():
            if isinstance(k, str):
                keys.append(k)
            _leaves(v, values, keys)
    elif isinstance(x, (list, tuple)):
        for v in x:
            _leaves(v, values, keys)
    elif isinstance(x, (int, float)) and not isinstance(x, bool):
        values.append(str(x))


def other_lines(kind: str, content: Any, metadata: Any = None) -> list[tuple[Any, list[str]]]:
    """The tokens of a message of any type but output (``comm_msg``, a widget's state, an
    ``input_request`` prompt, a reply's ``user_expressions``, ``debug_event``, a type a cell made
    up, a ``status`` with more fields): every string and number at any depth of its content and
    metadata, in order. Read as ``Run.read_lines`` reads: its values in line (one run with the
    output), its keys in line (``{c: 1}``), and each value in its place (``{'t': c, 'n': i}``).
    A reply's own fields (``OWN_FIELDS``) and metadata are not read.

    >>> other_lines('comm_msg', {'comm_id': 'abcdef', 'data': {'t': '1'}})[:2]
    [(None, ['abcdef', '1']), ('keys', ['comm_id', 'data', 't'])]
    """
    values: list[str] = []
    keys: list[str] = []
    if kind.endswith("_reply"):   # (its metadata is the kernel's: times, engine, status)
        metadata = None
        if isinstance(content, dict):
            content = {k: v for k, v in content.items() if k not in OWN_FIELDS}
    _leaves(content, values, keys)
    _leaves(metadata, values, keys)
    per = [tokens(t) for t in values]
    lines: list[tuple[Any, list[str]]] = [(None, [t for got in per for t in got]),
                                          ("keys", [t for k in keys for t in tokens(k)])]
    if len(per) > 1:
        lines += [(at, got) for at, got in enumerate(per[:TEXTS])]
    return lines


def output_lines(kind: str, content: Any, metadata: Any = None) -> list[tuple[Any, list[str]]]:
    """``message_views`` of an output message as ``Run.read_lines`` reads them: in line, and,
    for a message of several texts, each text in its place."""
    views = message_views(kind, content, metadata)
    lines: list[tuple[Any, list[str]]] = [(None, message_tokens(views))]
    if len(views) > 1:
        lines += [(at, got) for at, got in enumerate(views[:TEXTS])]
    return lines


def message_tokens(views: list[list[str]]) -> list[str]:
    """The tokens of one message read in line: of the texts made only of pieces (each once: a
    bundle's mimetypes repeat one another), else those of its first text (a stream's, a
    bundle's ``text/plain``)."""
    seen: list[list[str]] = []
    for got in views:
        if got and all(len(t) <= PIECE for t in got) and got not in seen:
            seen.append(got)
    if seen:
        return [t for got in seen for t in got]
    return next((got for got in views if got), [])


def _joined(value: Any) -> str:
    out: list[str] = []
    _strings(value, out)
    return " ".join(out)


class Prefixes:
    """The known values (and their digits) of ``SHORTEST`` to ``LONGEST`` characters, and every
    beginning of them; values added since are added (one C-level set difference), a removal
    from the known values makes them again."""

    def __init__(self) -> None:
        self.state: tuple[int, int] = (-1, -1)
        self.source: set[str] = set()   # the known values read so far
        self.values: set[str] = set()
        self.starts: set[str] | None = set()

    def current(self) -> Prefixes:
        known = exits.known
        state = (getattr(known, "resets", 0), len(known))
        if state == self.state:
            return self
        if state[0] != self.state[0] or state[1] < len(self.source):
            self.source, self.values, self.starts = set(), set(), set()
        new = known.difference(self.source)
        self.source |= new
        spelt = exits.spelt   # (a reversed SSN less its zero, 8 digits: honest matrices spell
        values = {v for v in new if SHORTEST <= len(v) <= LONGEST   # such, 1 in 10,000 cells)
                  and not (len(v) < DIGITS_SPELT and v.isdigit() and v in spelt)}
        values |= {d for d in (_DIGITS.sub("", v) for v in values) if len(d) >= SHORTEST}
        self.values |= values
        if self.starts is not None and len(self.values) > PREFIX_MAX:
            self.starts = None
        if self.starts is not None:
            self.starts.update(v[:k] for v in values for k in range(1, len(v)))
        self.state = state
        return self

    def begins(self, text: str) -> bool:
        starts = self.starts
        return len(text) < LONGEST if starts is None else text in starts


_PREFIXES = Prefixes()
_VIEWS = (("all", False), ("all", True), (0, False), (0, True), (1, False), (1, True))
_PARITY = {p: tuple(v for v in _VIEWS if v[0] in ("all", p)) for p in (0, 1)}
WHOLE, CARRIED = 1, 2
"""A run's edge: begun at its message's first token; carried over a cell's start (``boundary``)."""
LABELS = 4096
"""Long tokens of one message kept as labels at most."""


class Run:
    """The pieces of one cell's messages, joined: each view (all pieces, every other one,
    their digits) keeps the joined texts that may still become a known value, with the
    message each began in."""

    def __init__(self) -> None:
        self.reset()
        self.labels: set[str] = set()   # the long tokens of the message before
        self.texts: dict[Any, Run] = {}   # each text of a message of several, read on its own
        self.fresh = False   # no message read since a cell began
        self.decoded = False   # a decoded place: a piece with a letter ends the digits' runs
        self.ordered = Ordered()   # pairs ``index piece`` of the line read in line

    def read(self, views: list[list[str]], message: int) -> tuple[int | None, int | None]:
        """``read_lines`` of one output message's texts (``message_views``)."""
        lines: list[tuple[Any, list[str]]] = [(None, message_tokens(views))]
        if len(views) > 1:
            lines += [(at, got) for at, got in enumerate(views[:TEXTS])]
        return self.read_lines(lines, message)

    def read_lines(self, lines: list[tuple[Any, list[str]]],
                   message: int) -> tuple[int | None, int | None]:
        """``feed`` of one message's token lines (``output_lines``, ``other_lines``): the line
        ``None`` in this run (every message's in one), each other with the same line of the
        messages before (``{'k': c}`` in metadata beside a display of ``'x'``)."""
        hit: int | None = None
        live: int | None = None
        decoded = pieces_decoded.lines(lines)   # (each encoding in its own places)
        pieces_decoded.end_undecoded(self.texts, lines, decoded)
        lines = lines + decoded
        if self.fresh:   # a cell's first message: runs carried in places it has not, end
            self.fresh = False
            keys = {key for key, _ in lines}
            for key, place in self.texts.items():
                if key not in keys:
                    place.reset()
        for key, got in lines:
            if key is None:
                if pieces_decoded.decoy(got):   # (a UUID between pieces: passed over)
                    continue
                hit, live = self.ordered.feed(got, message, _PREFIXES)
            run: Run | None = self if key is None else self.texts.get(key)
            if run is None or not run.any_live:   # (a text of no piece with nothing live in
                if key is not None and not any(len(t) <= PIECE for t in got):  # its place:
                    continue   # nothing to do)
                if run is None:
                    run = self.texts[key] = Run()
                    run.decoded = key in pieces_decoded.KEYS
            h, v = run.feed(got, message)
            hit = h if hit is None or (h is not None and h < hit) else hit
            live = v if live is None or (v is not None and v < live) else live
        return hit, live

    def reset(self) -> None:
        if getattr(self, "any_live", True):   # (most resets find nothing live: no new lists)
            self.live: dict[Any, list[tuple[str, int, int, tuple[str, ...], int]]] = {
                v: [] for v in _VIEWS}
            self.any_live = False
        self.count = 0
        self.prev = ""   # the piece before this one (what an every-other view skips)

    def boundary(self) -> None:
        """A new cell begins: of the runs still live only those made of whole messages go on
        (begun at their message's first token, or after a word with no digit: ``print('x',
        s[:3])``), and one so carried completes a value only with its message's last token
        holding a digit (words may follow: ``print(s[-3:], 'y')``). A value printed a few
        characters a cell is read; short numbers of an earlier cell's table no longer complete
        one with this cell's."""
        self.fresh = True
        self.ordered.reset()
        for run in (self, *self.texts.values()):
            if run.any_live:
                run.live = {v: [(t, b, n, k, CARRIED) for t, b, n, k, e in runs if e]
                            for v, runs in run.live.items()}
                run.any_live = any(run.live.values())
            run.labels = set()

    def feed(self, got: list[str], message: int) -> tuple[int | None, int | None]:
        """Read the tokens ``got`` of message number ``message``: ``(first message of a known
        value completed, first message of a run that may still become one)``."""
        known = _PREFIXES if any(len(t) <= PIECE for t in got) else None
        if known is not None:   # (made or brought up to date only when pieces come)
            known.current()
        hit: int | None = None
        if got:   # (a message with no text, ``clear_output``, keeps the labels before it)
            labels, self.labels = self.labels, set()
        else:
            labels = self.labels
        for at, token in enumerate(got):
            if len(token) > PIECE:   # a label when the message before had it, or this one
                if token is pieces_decoded.BREAK:
                    self.reset()
                    continue
                if token not in labels and token not in self.labels:
                    self.reset()
                if len(self.labels) < LABELS:
                    self.labels.add(token)
                continue
            assert known is not None
            parity = self.count % 2
            self.count += 1
            digits = token if token.isdigit() else _DIGITS.sub("", token)
            if self.decoded and _LETTER(token):   # (``3079``, ``y7`` in hex: no number's)
                digits = "\x00"
            if not self.any_live and not known.begins(token) and not (
                    digits and known.begins(digits)):
                continue   # (nothing is spelt yet, and no value begins so: most output)
            skipped, self.prev = self.prev, token
            start = WHOLE if at == 0 or _DIGIT(got[at - 1]) is None else 0
            for view in _PARITY[parity]:
                piece = digits if view[1] else token
                if not piece:
                    continue
                kept = []
                for text, began, n, keys, edge in (*self.live[view],
                                                   ("", message, 0, (), start)):
                    if n and view[0] != "all":
                        more = _keys(keys, skipped)
                        if more is None:
                            continue
                        keys = more
                    text += piece
                    if text in known.values and (edge != CARRIED or at >= _last_digit(got)):
                        hit = began if hit is None else min(hit, began)
                    if known.begins(text):
                        kept.append((text, began, n + 1, keys, edge))
                self.live[view] = kept
            self.any_live = any(self.live.values())
        live = [b for runs in self.live.values() for _, b, n, _k, _e in runs if n >= HELD_FROM]
        return hit, (min(live) if live else None)


_DIGIT = re.compile(r"\d").search
"""A token with no digit before a piece is a label (``print('x', s[:3])``)."""
_LETTER = re.compile(r"[A-Za-z@_]").search   # (a decoded piece of a number holds none)


def _last_digit(got: list[str]) -> int:
    """Where the last token holding a digit is (-1 if none does)."""
    return next((i for i in range(len(got) - 1, -1, -1) if _DIGIT(got[i])), -1)


def _keys(keys: tuple[str, ...], skipped: str) -> tuple[str, ...] | None:
    """The tokens an every-other view skipped, with ``skipped``; None when they are no keys: a
    dict's keys are all different (``{0: '1', 1: '0'}``), one label's are all the same
    (``{'k': c}`` a message); a list of small numbers skips neither way (``[0, 1, 1, 0]``
    after ``user`` spelt ``user100``, the local part of a known e-mail)."""
    out = (*keys, skipped)
    if keys and len(set(out)) not in (1, len(out)):
        return None
    return out
