"""Pieces a person is shown outside the streams, read in one order with the streams' lines.

A known value printed one character a line over ``print`` and ``display`` (``display(c) if i % 2
else print(c)``) is in no single channel: the streams' lines hold every other character, the
display messages the rest, and a reader joining the messages in the order they came reads it.
``digit_lines.Order`` reads the lines of one character of every stream of the kernel in the
order written; ``Shown`` logs there, as one more channel, what each display (``display_data``,
``update_display_data``, ``execute_result``, whatever the mimetype: plain text, Markdown, HTML,
LaTeX, JSON) and each error (its value) shows, in the order it is published. When the lines so
read spell a known value, the streams' lines of it still held are masked (a stream holds a run
of such lines until it ends), and so is the display that completes it: no channel, read in any
order, then holds all of its characters.

Only once a value is known (``exits.known``), and only for displays whose text (tags, entities,
quotes and Markdown marks dropped) has a line of one character: every other display costs one
dictionary walk over short strings.

>>> from jupyter_guard.hooks import exits
>>> saved = set(exits.known), exits.numbers[0], set(exits.digit_lengths)
>>> exits.known.clear(); exits.remember(["100000005"])
>>> from jupyter_guard.hooks.digit_lines import _MARK, KEEP, Order, Tail, _char_hits
>>> order = Order(); out = Tail(order); shown = Shown(order)
>>> def run(first):   # the value's characters taken in turn by the stream and the displays
...     order = Order(); out = Tail(order); shown = Shown(order); printed, displayed = [], []
...     for i, c in enumerate("100000005"):
...         if i % 2 == first:
...             printed.append(out.take(c + "\\n"))
...         else:
...             displayed.append(shown.bundle({"text/plain": repr(c)})["text/plain"])
...     printed.append(out.take("", end=True)); shown.end()
...     return "".join(printed), "".join(displayed)
>>> run(0)   # the stream ends it: its held lines are masked
('█\\n█\\n█\\n█\\n█\\n', "'0''0''0''0'")
>>> run(1)   # a display ends it: masked too
('█\\n█\\n█\\n█\\n', "'1''0''0''0'████")
>>> shown = Shown(Order())
>>> shown.bundle({"text/plain": "'x'"}), shown.bundle({"text/plain": "plain"})
({'text/plain': "'x'"}, {'text/plain': 'plain'})
>>> exits.known.clear(); exits.known.update(saved[0]); exits.numbers[0] = saved[1]
>>> exits.digit_lengths.clear(); exits.digit_lengths.update(saved[2])
"""
from __future__ import annotations

import html
import re
from itertools import zip_longest
from typing import Any

from jupyter_guard.hooks import exits
from jupyter_guard.hooks.digit_lines import _MARK, KEEP, Order, Tail, _char_hits
from jupyter_guard.mask.strategy import BLOCK

TEXT_MIMES = ("text/plain", "text/markdown", "text/html", "text/latex", "application/json")
"""The mimetypes read first, in this order (a frontend shows one of them); other ``text/*``
and ``+json`` mimetypes after them."""
LONGEST = 4096
"""A display's text longer than this is read for its first and last lines only (a value spelt
one character a display has its characters alone in their displays)."""
_TAG = re.compile(r"<[^>]{0,1024}>")
_MARKS = re.compile(r"[*_`~#>$\\{}]|^\s*[-+]\s+|\\[a-z]+")
_QUOTED = re.compile(r"""^\s*(?:[bru]{0,2})(['"])(.*)\1\s*$""", re.S)


def _lines(text: str) -> list[str]:
    """What a person reads of ``text``, line by line: tags, entities, quotes and Markdown/LaTeX
    marks dropped, each line stripped."""
    if len(text) > LONGEST:
        text = text[:LONGEST // 2] + "\n" + text[-LONGEST // 2:]
    m = _QUOTED.match(text)
    if m is not None:
        text = m.group(2)
    if "<" in text:
        text = _TAG.sub("\n", text)
    if "&" in text:
        text = html.unescape(text)
    return [s for s in (_MARKS.sub("", ln).strip().strip("'\"") for ln in text.splitlines()) if s]


def _piece(data: Any) -> str:
    """The lines of one character a person reads in the mime bundle ``data`` (those of the
    first mimetype that has any), one a line; ``''`` when there are none."""
    if isinstance(data, str):
        texts = [data]
    elif isinstance(data, dict):
        keys = [k for k in TEXT_MIMES if k in data] + [
            k for k in data if isinstance(k, str) and k not in TEXT_MIMES
            and (k.startswith("text/") or k.endswith("+json"))]
        texts = [v if isinstance(v, str) else str(v) for v in (data[k] for k in keys)]
    else:
        return ""
    for text in texts:
        if len(text) > 2 * LONGEST + 64 and "\n" not in text[:64]:
            continue
        ones = [ln for ln in _lines(text) if len(ln) == 1]
        if ones:
            return "".join(c + "\n" for c in ones)
    return ""


def _masked(data: Any) -> Any:
    """``data`` with every text replaced by the mask (its characters complete a known value)."""
    if isinstance(data, str):
        return BLOCK
    if isinstance(data, dict):
        return {k: _masked(v) if isinstance(v, (str, dict)) else v for k, v in data.items()}
    return data


class MixedOrder(Order):
    """``Order`` that also reads each two channels' lines taken in turn, either first: a
    reader who knows the channels alternate reads the value so even when the channels' messages
    came in another order (``os.write(1, …)`` reaches the stream through the kernel's pipe
    reader, after the displays written between its lines).

    >>> from jupyter_guard.hooks import exits
    >>> saved = set(exits.known), exits.numbers[0], set(exits.digit_lengths)
    >>> exits.known.clear(); exits.remember(["100000041"])
    >>> order = MixedOrder(); out = Tail(order); shown = Shown(order)
    >>> [shown.bundle(c) for c in "0004"]   # displays first: the stream's lines come later
    ['0', '0', '0', '4']
    >>> out.take("1\\n0\\n0\\n0\\n1\\n")   # read in turn with them: masked
    '█\\n█\\n█\\n█\\n█\\n'
    >>> exits.known.clear(); exits.known.update(saved[0]); exits.numbers[0] = saved[1]
    >>> exits.digit_lengths.clear(); exits.digit_lengths.update(saved[2])
    """

    def log(self, tail: Tail, text: str, piece: str) -> bool:
        found = super().log(tail, text, piece)
        if len(self.active) < 2:
            return found
        lines, since = self.lines, tail.taken - len(piece)
        new = {i for i in range(len(lines)) if lines[i][0] is tail and lines[i][1] >= since}
        if not new:
            return found
        by: dict[Tail, list[int]] = {}
        for i, (t, _, _) in enumerate(lines):
            by.setdefault(t, []).append(i)
        mine = by[tail]
        for other, theirs in by.items():
            if other is not tail:   # (the pairs holding ``tail``: only its lines are new)
                for x, y in ((mine, theirs), (theirs, mine)):
                    at = [k for pair in zip_longest(x, y) for k in pair if k is not None]
                    start = min(j for j, k in enumerate(at) if k in new)
                    cut = max(0, start - KEEP)   # (a value holding a new line starts here)
                    self._turns(at[cut:cut + start - cut + KEEP], start - cut)
        return bool(self.marks) or found

    def _turns(self, at: list[int], start: int) -> None:
        """Mark the lines (indices into ``lines``, in a reading order) that spell a known value
        read over two channels (numbers: those that end at ``start`` or later)."""
        lines = self.lines
        hit = _char_hits([lines[k][2] for k in at], start)
        for j, k in enumerate(at):
            if hit[j] and lines[k][2] != _MARK:
                t, off, _ = lines[k]
                self.marks.setdefault(t, set()).add(off)
                lines[k] = (t, off, _MARK)


class Shown:
    """The displays and errors of one kernel as one channel of its streams' ``order``."""

    def __init__(self, order: Order) -> None:
        self.order = order
        self.tail = Tail(order)   # (its offsets and pieces: what ``Order`` logs by; never held)

    def bundle(self, data: Any) -> Any:
        """``data`` (a display's mime bundle, already masked), logged in order; masked whole
        when its characters complete a known value read over the channels."""
        if not exits.known:
            return data
        piece = _piece(data)
        if not piece or not self._completes(piece):
            return data
        return _masked(data)

    def text(self, value: str) -> bool:
        """Log an error's value; whether it completes a known value (then show it masked)."""
        if not exits.known:
            return False
        piece = _piece(value)
        return bool(piece) and self._completes(piece)

    def _completes(self, piece: str) -> bool:
        order, tail = self.order, self.tail
        with order.lock:
            tail.taken += len(piece)
            if not order.log(tail, piece, piece):
                return False
            return order.masked(tail, piece) != piece

    def end(self) -> None:
        """The cell is over: this channel's lines leave the order."""
        with self.order.lock:
            self.order.forget(self.tail)
