"""Known numbers printed one character per line (``print(*ssn, sep='\\n')``, ``for c in ssn:
print(c)``), for the kernel's masked streams.

A stream is masked line by line as lines are completed (``kernel.streams``): a line holding one
digit is no value, so each digit of a known SSN would pass on its own. ``Tail`` sits after that
masking, one per stream: a run of lines of one character each (a digit, or the ``-()+./``
and space of a number as read) at the end of what is to be emitted is held back, at most
``HOLD_LINES`` lines, until a line of another shape, the end of the cell or the limit comes.
Then its digits, joined, are read for known numbers (``exits.known``, of the lengths the
digit-group reading uses: ``known_grouped.SHORTEST`` to ``WIDEST``), and the lines of each one
found are replaced by one mask. Runs inside a longer piece (``print('\\n'.join(ssn))``) are read
the same way at once.

Looked at only once a number is known (``exits.numbers``), and only in pieces holding a line of
one digit (one RE2 pass); holding delays such lines, never other output. A counter
printed one digit a line in a slow loop shows when its run ends or at ``HOLD_LINES``.

Known e-mails printed one character a line (``for c in email: print(c)``) are read the same way
once an e-mail is known: a run of lines of one character each, whatever the character, is joined
and read for known values (``exits.known_spans``).

>>> from jupyter_guard.hooks import exits, respelt
>>> saved = set(exits.known), exits.numbers[0], set(exits.digit_lengths)
>>> exits.known.clear(); exits.remember(["100000005"])
>>> t = Tail()
>>> t.take("a\\n1\\n0\\n0\\n"), t.take("0\\n0\\n0\\n0\\n0\\n5\\n"), t.take("ok\\n")
('a\\n', '████\\n', 'ok\\n')
>>> t.take("9\\n8\\n7\\n"), t.take("", end=True)
('', '9\\n8\\n7\\n')
>>> exits.known.clear(); exits.known.update(saved[0]); exits.numbers[0] = saved[1]
>>> exits.digit_lengths.clear(); exits.digit_lengths.update(saved[2])
"""
from __future__ import annotations

import bisect
import re
import threading
from collections import deque

from jupyter_guard.hooks import cipher_digits, exits, respelt
from jupyter_guard.hooks.known_grouped import SHORTEST, WIDEST
from jupyter_guard.mask.strategy import BLOCK

HOLD_LINES = 64
"""Lines of one character held back at most (then all but the last ``KEEP`` go out, read
first)."""
KEEP = 2 * WIDEST
"""Lines kept of a run past ``HOLD_LINES``: a known number that goes on in later lines starts
among them (it has ``WIDEST`` digits at most, and a separator line between two digits)."""
_ONE = "0123456789()+./ -"
# a run of lines of one character each; linear (each line is read once)
# (one other short line may stand between two of them: ``print(c); print('step')``; at the
# text's end it is held with the run, which may go on in the next piece)
_RUN = re.compile(r"(?m)^[0-9()+./ \-]\r?\n(?:[0-9()+./ \-]\r?\n|[^\r\n]{2,32}\r?\n"
                  r"(?=[0-9()+./ \-]\r?\n|\Z))*")
try:  # google-re2: one linear pass (~1.2 ms a MB; ten ``in`` searches cost ~30)
    import re2 as _engine
except ImportError:  # pragma: no cover - no wheel here: Python's engine (~2.6 ms a MB)
    _engine = re
_GATE = _engine.compile(r"\n[0-9]\r?\n")
_GATE_PY = re.compile(_GATE.pattern)
# the same for any character, once a value other than a number is known
_RUN_ANY = re.compile(r"(?m)^[^\r\n]\r?\n(?:[^\r\n]\r?\n|[^\r\n]{2,32}\r?\n"
                      r"(?=[^\r\n]\r?\n|\Z))*")
_GATE_ANY = _engine.compile(r"\n[^\r\n]\r?\n")
_GATE_ANY_PY = re.compile(_GATE_ANY.pattern)


class Tail:
    """One stream's held run of one-character lines (``order``: the one-character lines of
    every stream of the kernel, in the order written: ``Order``)."""

    def __init__(self, order: Order | None = None) -> None:
        self.order = Order() if order is None else order
        self.taken = 0   # characters taken this cell (``order`` finds lines by offset)
        # its last pieces with lines of one character: (their order, where they end, them)
        self.pieces: deque[tuple[int, int, str]] = deque(maxlen=KEEP)
        self.held = ""
        self.last = ""   # the last word of the last line emitted (a value may go on below)
        self.cipher = cipher_digits.Lines()   # words of a known number's shape, one a line

    def take(self, piece: str, *, end: bool = False) -> str:
        """What to emit of ``piece`` (already masked line by line); ``end``: the cell is over,
        nothing is held. A known e-mail cut over lines (``print(e[:8]); print(e[8:])``): the
        word that completes it is masked (``_cut``)."""
        with self.order.lock:
            return self._take_ordered(piece, end)

    def _take_ordered(self, piece: str, end: bool) -> str:
        if self.last and piece and _texts_known():
            piece = _cut(self.last, piece)
        self.taken += len(piece)
        out = self._take(piece, end=end)
        if exits.numbers[0] or self.cipher.held:   # one number a line, spelt in letters
            out = self.cipher.take(out, exits.known, exits.digit_lengths, end=end)
        if out.endswith("\n"):
            self.last = _last_words(self.last, out)
        if end:
            self.last = ""
            self.order.forget(self)
        return out

    def _take(self, piece: str, *, end: bool = False) -> str:
        held = self.held
        if (held and not end and 3 <= len(piece) <= 33 and piece[-1] == "\n"
                and "\n" not in piece[:-1] and "\r" not in piece and held[-2:-1] != "\n"
                and held[-3:-2] in ("", "\n")):   # one line between two of one character:
            self.held = held + piece   # held with the run, nothing new to read in it
            return ""
        text = held + piece if held else piece
        self.held = ""
        if not text:
            return text
        texts = _texts_known()
        if not (texts and _may_hold(text, _GATE_ANY, _GATE_ANY_PY)) and not (
                exits.numbers[0] and _may_hold(text, _GATE, _GATE_PY)):
            return text
        if piece and self.order.log(self, text, piece):   # a value read over two streams
            text = self.order.masked(self, text)
        out: list[str] = []
        last = 0
        for m in (_RUN_ANY if texts else _RUN).finditer(text):
            a, b = m.span()
            lines = text[a:b].splitlines(keepends=True)
            hit = _hits(lines)
            out.append(text[last:a])
            last = b
            if b == len(text) and not end:   # the run may go on in the next piece
                cut = 0 if len(lines) <= HOLD_LINES else len(lines) - KEEP
                if any(hit[cut:]):   # a known number among the lines kept: out, masked
                    cut = max(i for i, h in enumerate(hit) if h) + 1
                out.append(_render(lines[:cut], hit[:cut]))
                self.held = "".join(lines[cut:])
                return "".join(out)
            out.append(_render(lines, hit))
        out.append(text[last:])
        return "".join(out)


_LINE = re.compile(r"(?m)^([^\r\n])\r?\n")
"""A line of one character (group 1)."""
_MARK = BLOCK[0]
"""What a line of one character read over two streams as a known value becomes: one
character still (``Order`` finds held lines by their offsets)."""


class Order:
    """The kernel's streams' lines of one character, in the order they were written, per cell
    (``print(d, file=sys.stdout if i % 2 else sys.stderr)``: each stream alone holds no known
    value; a reader joining the messages in order reads it).

    Once two streams have taken lines of one character in a cell (before, a stream's own
    reading holds and nothing is logged: each keeps its last ``KEEP`` pieces holding such
    lines, logged then in the order taken), each ``Tail`` logs those it takes here, by their
    offset in what it took; when the last ``KEEP`` lines before a
    piece's read with its own hold a known value whose lines lie on two streams, each of those
    lines still held by its stream (a run's lines are held until the run ends, the cell ends or
    ``HOLD_LINES``) becomes ``_MARK``. A line already emitted (its stream's run ended with a
    line of another shape) stays out: only the rest is masked. One lock for all streams'
    tails: a tail changes another's held lines under it.
    """

    LOG = 2 * KEEP
    """Lines kept of all streams."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.active: set[Tail] = set()   # tails that took lines of one character this cell
        self.seq = 0   # pieces taken by all tails (their order)
        self.lines: list[tuple[Tail, int, str]] = []   # (stream, offset, the character)
        self.marks: dict[Tail, set[int]] = {}

    def log(self, tail: Tail, text: str, piece: str) -> bool:
        """Log the lines of one character of ``piece`` (``text``: ``tail``'s held lines and
        it) once two streams take such lines; whether a value read over two streams was found
        (its lines are then in ``marks``)."""
        active, self.seq = self.active, self.seq + 1
        tail.pieces.append((self.seq, tail.taken, piece))
        if tail not in active:
            active.add(tail)
            if len(active) < 2:
                return False
            # just mixed: the recent pieces of each stream, in the order they were taken
            before = len(self.lines)
            taken = sorted((q, e, p, one) for one in active for q, e, p in one.pieces)
            for _, end, p, one in taken:
                self._add(one, p, end)
            n = len(self.lines) - before
        elif len(active) < 2:
            return False
        else:
            n = self._add(tail, piece, tail.taken)
        if not n:
            return False
        lines = self.lines
        window = lines[-(KEEP + n):]
        off = len(lines) - len(window)
        if all(t is tail for t, _, _ in window):   # one stream: its own reading holds
            return self._trim()
        hit = _char_hits([c for _, _, c in window], len(window) - n)
        i = 0
        while i < len(hit):
            if not hit[i]:
                i += 1
                continue
            j = i
            while j < len(hit) and hit[j]:
                j += 1
            if any(window[k][0] is not window[i][0] for k in range(i, j)):
                for k in range(i, j):
                    t, at, _ = window[k]
                    self.marks.setdefault(t, set()).add(at)
                    lines[off + k] = (t, at, _MARK)
            i = j
        self._trim()
        return bool(self.marks)

    def _add(self, tail: Tail, text: str, end: int) -> int:
        """Log ``text``'s lines of one character (it ends at offset ``end`` of ``tail``'s)."""
        start = end - len(text)
        before = len(self.lines)
        self.lines.extend((tail, start + m.start(1), m.group(1)) for m in _LINE.finditer(text))
        return len(self.lines) - before

    def _trim(self) -> bool:
        if len(self.lines) > self.LOG:
            del self.lines[:len(self.lines) - self.LOG]
        return False

    def masked(self, tail: Tail, text: str) -> str:
        """``text`` (``tail``'s held lines and the piece just logged) and every other stream's
        held lines with the lines in ``marks`` masked."""
        for other in [t for t in self.marks if t is not tail]:
            other.held = self._mark(other, other.held)
        return self._mark(tail, text)

    def _mark(self, tail: Tail, text: str) -> str:
        marks = self.marks.pop(tail, None)
        if not marks or not text:
            return text
        start = tail.taken - len(text)   # (``text`` ends where ``tail`` has taken to)
        chars = list(text)
        for at in marks:
            if 0 <= at - start < len(chars) and chars[at - start] not in "\r\n":
                chars[at - start] = _MARK
        return "".join(chars)

    def forget(self, tail: Tail) -> None:
        """The cell is over for ``tail``'s stream: its lines leave the log."""
        self.active.discard(tail)
        self.lines = [e for e in self.lines if e[0] is not tail]
        self.marks.pop(tail, None)
        tail.taken = 0
        tail.pieces.clear()


_LAST = 64
"""The characters of the last lines emitted kept for the next (an e-mail's head)."""
_LAST_LINES = 4
"""Lines of one word each kept for the next (an e-mail cut over up to five lines)."""


def _last_words(last: str, out: str) -> str:
    """The word that ends ``out``'s last line, joined to those of the lines of one word
    before it (``_LAST_LINES`` at most; ``last`` too when ``out`` is all such lines)."""
    lines = out[-(_LAST_LINES + 1) * (_LAST + 2):].splitlines()
    words: list[str] = []
    for ln in reversed(lines[-_LAST_LINES:]):
        if not ln or ln.split() != [ln]:
            break
        words.append(ln)
    if not words:
        words = out[-_LAST - 1:].split()
        return words[-1] if words and not out[-2:-1].isspace() else ""
    joined = "".join(reversed(words))
    if len(words) == len(lines) and len(out) <= (_LAST_LINES + 1) * (_LAST + 2):
        joined = last + joined   # (the whole piece was such lines: the run goes on)
    return joined[-_LAST:]
_HEAD = re.compile(r"[^\s]{1,64}")


def _cut(last: str, piece: str) -> str:
    """``piece`` with the word that begins it masked when ``last`` (the word that ended the
    line before) and it read as a known value across the line break ('@' in them: C search)."""
    m = _HEAD.match(piece)
    if m is None or "@" not in last + m.group():
        return piece
    joined = last + m.group()
    if any(a < len(last) < b for a, b, _ in exits.known_spans(joined)):
        return BLOCK + piece[m.end():]
    return piece


def char_rows(text: str) -> str:
    """A pandas frame's or Series' text with a column of one character a row that spells a
    known value (``pd.Series(list(email))``) masked whole: its rows are each no value, so
    the frame's own masking passes them (``respelt`` reads them joined, once an e-mail is
    known and the text holds an '@': a C search)."""
    if exits.known and (exits.numbers[0] or _texts_known()):
        text = _cells(text, _ROW_TEXT)
    if not (_texts_known() and "@" in text):
        return text
    found = sorted(respelt.spans(text, exits.known, exits.email_domains))
    for a, b, _ in reversed(found):
        text = text[:a] + BLOCK + "\n" + text[b:].lstrip("\n")
    return text


def char_cells(html: str) -> str:
    """A frame's HTML with a column of one character a row that spells a known value masked
    cell by cell (``pd.DataFrame({'c': list(ssn)})``)."""
    if exits.known and (exits.numbers[0] or _texts_known()):
        return _cells(html, _ROW_HTML)
    return html


# a row of a frame's text or HTML whose one cell is one character (``pd.DataFrame({'c':
# list(ssn)})``): the character is group 1
_ROW_TEXT = re.compile(r"(?m)^[ \t]*\S+[ \t]+(\S)[ \t]*$")
_ROW_HTML = re.compile(r"<tr[^>]*>\s*(?:<th[^>]*>[^<]*</th>\s*)*<td[^>]*>([^<])</td>\s*</tr>")
_ONE_CELL = re.compile(r"<td[^>]*>[^<]</td>")
_CELLS_MIN = 7
"""Rows of one character in a run before it is read (a known number has 7+ digits)."""


def _cells(text: str, row: re.Pattern[str]) -> str:
    """``text`` (a frame's text or HTML, ``row`` its row of one character) with each run of
    such rows whose characters spell a known value masked cell by cell."""
    if row is _ROW_HTML and _ONE_CELL.search(text) is None:   # (no such cell: one pass)
        return text
    runs: list[list[re.Match[str]]] = []
    for m in row.finditer(text):
        if runs and not text[runs[-1][-1].end():m.start()].strip():
            runs[-1].append(m)
        else:
            runs.append([m])
    cut = [(m.start(1), m.end(1)) for run in runs if len(run) >= _CELLS_MIN
           for m, h in zip(run, _hits([m.group(1) + "\n" for m in run])) if h]
    for a, b in reversed(cut):
        text = text[:a] + BLOCK + text[b:]
    return text


def _texts_known() -> bool:
    """Whether an e-mail is known (``exits.emails``: one flag, no walk over the values)."""
    return bool(exits.known) and exits.emails[0]


def _may_hold(text: str, gate: object = _GATE, gate_py: re.Pattern[str] = _GATE_PY) -> bool:
    """Whether ``text`` holds a line of one digit (``gate``: of one character; one RE2 pass)."""
    if len(text) >= 2 and text[1] in "\r\n" and (gate is not _GATE or text[0] in _ONE):
        return True
    try:
        return gate.search(text) is not None  # type: ignore[attr-defined]  # an RE2 or re pattern
    except UnicodeEncodeError:   # a lone surrogate (RE2 reads UTF-8): Python's engine
        return gate_py.search(text) is not None


def _hits(lines: list[str]) -> list[bool]:
    """Which of ``lines`` (one character each) belong to a known number their digits spell, or
    to a known value their characters spell."""
    return _char_hits([ln[0] if len(ln) == 2 or ln[1:] == "\r\n" else "" for ln in lines])


def _char_hits(chars: list[str], start: int = 0) -> list[bool]:
    """``_hits`` of lines by their characters (``''``: a line of another shape); of the known
    numbers, those that end at ``start`` or later (the lines before were read already)."""
    hit = [False] * len(chars)
    joined = "".join(chars)
    if _texts_known() and joined.isdigit():   # one token: a known value only if it is one
        if joined in exits.known:              # (numbers inside it: read below)
            hit = [bool(c) for c in chars]
    elif _texts_known():
        ones = [i for i, c in enumerate(chars) if c]
        for a, b, _ in exits.known_spans(joined):
            hit[ones[a]:ones[b - 1] + 1] = [True] * (ones[b - 1] + 1 - ones[a])
    if not exits.numbers[0]:
        return hit
    where = [i for i, c in enumerate(chars) if c.isdigit()]
    digits = "".join(chars[i] for i in where)
    first = bisect.bisect_left(where, start)   # the first digit at ``start`` or later
    for n in sorted(exits.digit_lengths):
        if SHORTEST <= n <= min(WIDEST, len(digits)):
            for s in range(max(0, first - n + 1), len(digits) - n + 1):
                if digits[s:s + n] in exits.known:
                    hit[where[s]:where[s + n - 1] + 1] = [True] * (where[s + n - 1] + 1 - where[s])
    return hit


def _render(lines: list[str], hit: list[bool]) -> str:
    """``lines`` with each stretch of lines of a known number replaced by one mask line."""
    if not any(hit):
        return "".join(lines)
    return "".join(ln if not h else BLOCK + "\n" if i == 0 or not hit[i - 1] else ""
                   for i, (ln, h) in enumerate(zip(lines, hit)))
