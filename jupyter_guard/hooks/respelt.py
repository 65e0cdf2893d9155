"""Known values a user loop spelt out another way, read back from the text on its way out.

The exits (``exits.scan``) look for values known to come from sensitive columns token by token
and with one automaton pass; a value spelt character by character is no token of its own. This
module undoes the common spellings once per exit, each found by one linear regex pass and only
where a cheap C-level test (``in``) says the text may hold it, and returns what they read as, one
per line, for the same known-value check:

- code points as decimal numbers (``[ord(ch) for ch in e]``) and as bits
  (``format(b, '08b')``, ``bin(b)``): runs of 4+ small numbers read as characters;
- octal escapes (``'\\\\%03o' % b``);
- quoted-printable (``=40``, ``'=%02X' % b``): the words holding one, decoded;
- uuencoded lines (``binascii.b2a_uu``): a line whose length character matches its length;
- letters spaced out (``' '.join(e)``, ``'.'.join(e)``, ``', '.join(e)``): runs of 8+ single
  characters with the same separator of one or two characters between them, alone or quoted
  (a printed list), and its letters as a printed list (``list(e)``: ``'u', 's', …``);
- the '@' written as a word (``e.replace('@', ' AT ')``, ``[at]``, dots maybe as ``DOT``):
  looked for only where the text holds one (C searches), one short read around each;
- UTF-16 bytes printed (``print(e.encode('utf-16-le'))``: ``b'u\\x00s\\x00...'``);
- an e-mail cut over lines of one word each (``print(e[:3]); print(e[3:9]); ...``), and two
  e-mails interleaved (``''.join(a + b for a, b in zip(x, y))``: each half read);
- base85 and Ascii85 runs too short to hold the rare punctuation ``encoded85.runs`` needs
  (``b85encode`` of two e-mails), or led by a query string's ``d=``: ``encoded85.loose``,
  each piece of what they decode to read as a value.

``spans`` gives where such a spelling reads as a known value, for masking printed text (the
display and stream path), named ``SPELT`` (masked whole: ``partial`` keeps no domain of an
e-mail spelt out); ``respelt`` what they read as, for the exits' check.

Each is looked for only where the text holds what an e-mail spelt that way holds around its
``@`` (``64, 101``, ``01000000``, ``\\100``, ``=40``, `` @ ``) or a uuencoded line: one RE2
pass decides (~2 ms per MB), so text with none costs nothing more. Names spelt out without an
e-mail are not looked for (numbers are: ``known_grouped``).

Only known values are looked for in what comes out (not the detectors): decoded noise never
matches a value read from a column by chance. Shifted letters (rot13, Caesar) keep an e-mail's
shape and are found by the e-mail detector; encryption with a key is not undone by anything here.

>>> respelt("[117, 115, 101, 114, 49, 64, 120, 46, 105, 111] u s e r 1 @ x . i o")
'user1@x.io'
>>> respelt("['u', 's', '1', '@', 'x', '.', 'i', 'o'] u, s, 1, @, x, ., i, o")
'us1@x.io'
>>> respelt("user1=40x=2Eio \\\\165\\\\163\\\\100\\\\170")
'us@x\\nuser1@x.io'
>>> respelt("b85: b#rBMF+gQ_VQp}1WiDfHZ7g+jWpXk=Wq4t2aBO8RV{dH").split()[1:]
['user1@example.com', 'user2@example.com']
>>> respelt("plain words, 1,200 and 3 4 5 6 7 8 9 0 1, 64, 64")
''
"""
from __future__ import annotations

import binascii
import re
import sys
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from typing import Any

from jupyter_guard.hooks import encoded85, known_emails
from jupyter_guard.mask.strategy import SPELT

MAX = 1 << 24
"""Texts longer than this are not respelt (the other checks still read them)."""

_Q = "['\"]?"
_SEP = rf"{_Q}[,;\s]\s*{_Q}"
_GATES = (
    rf"64{_SEP}(?:9[7-9]|1[01]\d|12[0-2])\b"                      # code points: '@' then a-z
    rf"|01000000{_SEP}(?:0b)?01[16][01]{{5}}|0b1000000{_SEP}0b1[16][01]{{5}}",   # its bits
    r"\\100\\1[4-7][0-7]",                                        # octal escapes
    r"=40",                                                        # quoted-printable
    r"(?m:^[!-M][ -`]{4,60}$)",                                    # uuencoded lines
    r"\\(?:u0040|U00000040|x40)",                                  # \\u escapes of its '@'
    r"(?m:^ *\d+ +@$)",                                            # a Series of its characters
    r"\S[ .,;:|_/\t-]{1,2}@[ .,;:|_/\t-]{1,2}\S"                    # spaced out
    r"|'@', '|\"@\", \"",                                             # a list of its letters
    # cut over lines (``print(e[:3]); print(e[3:9]); ...``): a line of one word holding an
    # '@' beside one holding none (a column of whole e-mails has none such)
    r"(?m:^[^\s@]{1,63}\r?\n[^\s@]{0,63}@[^\s@]{0,63}$|^[^\s@]{0,63}@[^\s@]{0,63}\r?\n"
    r"[^\s@]{1,63}$)",
    r"[^\s@,;'\"]{3,}@[^\s,;'\"]{0,2}@[^\s@,;'\"]{3,}",                 # two interleaved
    r"(?:[^\\\s]\\x00){4}|(?:\\x00[^\\\s]){4}",              # UTF-16 bytes' repr
)
try:  # google-re2: one linear pass (~2 ms per MB); Python's re takes ~25 ms for the same
    import re2 as _engine
except ImportError:  # pragma: no cover - no wheel here: the same patterns in Python's re
    _engine = re
# what an e-mail spelt out holds around its '@': one pass over the text decides whether to
# look further, then one per spelling (a hit is rare) picks the spellings to undo
_GATE_RE = _engine.compile("|".join(_GATES))
_EACH = tuple(_engine.compile(g) for g in _GATES)
_GATE_PY = re.compile("|".join(_GATES))
_EACH_PY = tuple(re.compile(g) for g in _GATES)

_ORDS = re.compile(rf"(?<![\d.])(?:(?:0b)?[01]{{7,8}}|\d{{2,3}}){_Q}(?:{_SEP}(?:(?:0b)?[01]{{7,8}}|"
                   r"\d{2,3})){3,}(?![\d.])")
_NUM = re.compile(r"(?:0b)?[01]{7,8}|\d{2,3}")
_OCTAL = re.compile(r"(?:\\[0-3][0-7]{2}){4,}")
_QP = re.compile(r"(?<![^\s=])[^\s=]*(?:=[0-9A-F]{2}[^\s=]*){2,}")
_UU = re.compile(r"(?m)(?:^[!-M][ -`]{4,60}(?:\r?\n|\Z))+")
# ``\\uXXXX``/``\\UXXXXXXXX``/``\\xXX`` escapes (``'\\u%04x' % ord(c)``), 4+ in a row
_UESC = re.compile(r"(?:\\{1,2}(?:u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2})){4,}")
_UHEX = re.compile(r"\\[uUx]([0-9a-fA-F]+)")
# a column of one character a row (``pd.Series(list(e))``): index, spaces, the character
_ROWS = re.compile(r"(?m)(?:^ *\d+ +\S\r?\n){4,}(?:^ *\d+ +\S$)?")
# spaced letters, alone or quoted in a repr (``['u s e r 1 @ x . i o', ...]``), one or two
# separator characters between them (``', '.join(e)``)
_SPACED = re.compile(r"(?<![^\s'\"(\[])(\S)([ .,;:|_/\t-]{1,2})(?:\S\2){6,}\S"
                     r"(?![^\s'\",)\]])")
# its letters as a printed list (``list(e)``, ``[c for c in e]``, ``json.dumps(list(e))``)
_LETTERS = re.compile(r"'[^'\\]'(?:, '[^'\\]'){7,}|\"[^\"\\]\"(?:, \"[^\"\\]\"){7,}")
# the '@' written as a word (``e.replace('@', ' AT ')``, ``[at]``), dots maybe as words: one
# RE2 pass. Given the domains of the known e-mails (a few, usually), only those are candidates:
# an honest ``help at python.org`` costs no Python step then
_AT_WORD = r"(?:\s(?:at|AT|At)\s|\s?[\[({<](?:at|AT)[\])}>]\s?)"
_DOT_WORD = r"(?:\.|\s(?:dot|DOT)\s|\s?[\[(](?:dot|DOT)[\])]\s?)"
_ANY_DOMAIN = rf"[\w-]+(?:{_DOT_WORD}[\w-]+){{1,6}}"
_PIECES = re.compile(r"[\s,;|\"'<>()\[\]{}=&?/\\:\x00]+")
_DOTS = re.compile(r"\s?[\[(]?(?:dot|DOT)[\])]?\s?")
DOMAINS_MAX = 64
"""The most domains named in the pattern (more: any domain is a candidate)."""
_AT_PATTERNS: dict[frozenset[str], tuple[Any, Any]] = {}


def _at_pattern(domains: frozenset[str]) -> tuple[Any, Any]:
    """The '@'-as-a-word form before ``domains`` (RE2's and Python's)."""
    if domains not in _AT_PATTERNS:
        named = "|".join(_DOT_WORD.join(map(re.escape, d.split("."))) for d in sorted(domains))
        form = rf"([\w.+-]{{1,64}}){_AT_WORD}({named if named else _ANY_DOMAIN})\b"
        if len(_AT_PATTERNS) > 16:
            _AT_PATTERNS.clear()
        _AT_PATTERNS[domains] = (_engine.compile(form), re.compile(form, re.ASCII))
    return _AT_PATTERNS[domains]


def respelt(text: str, domains: AbstractSet[str] = frozenset()) -> str:
    """What the spellings above in ``text`` read as, one per line ('' when none); ``domains``:
    those of the known e-mails, if any (the '@' as a word is looked for before them only)."""
    got = dict.fromkeys(v for _, _, v in _found(text, domains))
    exits = sys.modules.get("jupyter_guard.hooks.exits")   # (the known values' module, loaded
    if exits is not None and len(text) <= MAX:            # before any exit calls this one)
        got.update(dict.fromkeys(v for _, _, v in known_emails.found(text, exits.known)))
    return "\n".join(got)


def spans(text: str, known: AbstractSet[str],
          domains: AbstractSet[str] = frozenset()) -> list[tuple[int, int, str]]:
    """Where ``text`` spells a ``known`` value one of the ways above (for masking printed
    text: ``[' '.join(e) for e in emails]``, ``e.replace('@', ' AT ')``).

    >>> [t[:2] for t in spans("['u s e r 1 @ x . i o'] user1 AT x.io, meet AT noon",
    ...                       {"user1@x.io"})]
    [(24, 37), (2, 21), (2, 11), (24, 29)]
    >>> spans("user1 [at] x [dot] io, help at python.org", {"user1@x.io"}, {"x.io"})
    [(0, 21, 'known-spelt'), (0, 5, 'known-spelt')]
    """
    out = [(a, b, SPELT) for a, b, v in _found(text, domains) if v in known]
    if len(text) <= MAX:   # any case, '@' and dots as words, reordered, ... (``known_emails``)
        out += [(a, b, SPELT) for a, b, _ in known_emails.found(text, known)]
    return list(dict.fromkeys(out))


def _found(text: str, domains: AbstractSet[str]) -> Iterator[tuple[int, int, str]]:
    """Each spelling in ``text`` and what it reads as."""
    if len(text) > MAX:
        return
    at_re2, at_py = _at_pattern(frozenset(domains) if len(domains) <= DOMAINS_MAX
                                else frozenset())
    try:   # (one pattern of both is slower: RE2's automaton for it grows large)
        gate, each, at = _GATE_RE.search(text), _EACH, at_re2
    except UnicodeEncodeError:   # a lone surrogate (RE2 reads UTF-8): Python's engine
        gate, each, at = _GATE_PY.search(text), _EACH_PY, at_py
    for m in at.finditer(text):   # e-mails with their '@' as a word (``user1 AT x DOT io``)
        yield m.start(), m.end(), m.group(1) + "@" + _DOTS.sub(".", m.group(2))
    for a, b, got in encoded85.loose(text):   # ``b85encode(b'a@x.io,b@x.io')``
        yield a, b, got
        for piece in _PIECES.split(got):
            if piece and piece != got:
                yield a, b, piece
    if gate is None:
        return
    ords, octal, qp, uu, uesc, rows, spaced, cut, woven, nuls = (
        g.search(text) is not None for g in each)
    for m in _ORDS.finditer(text) if ords else ():
        yield from _codes(m, [int(n[2:] if n.startswith("0b") else n, 2 if len(n) > 6 else 10)
                              for n in _NUM.findall(m.group())])
    for m in _OCTAL.finditer(text) if octal else ():
        yield from _codes(m, [int(m.group()[i + 1:i + 4], 8)
                              for i in range(0, len(m.group()), 4)])
    for m in _QP.finditer(text) if qp else ():
        yield from _bytes(m, binascii.a2b_qp(m.group()))
    for m in _UU.finditer(text) if uu else ():   # a block of lines, read as one text
        yield from _pieces(m, _uu_block(m.group()))
    for m in _UESC.finditer(text) if uesc else ():
        yield from _pieces(m, _codes_text([int(h, 16) for h in _UHEX.findall(m.group())]))
    for m in _ROWS.finditer(text) if rows else ():
        yield from _pieces(m, "".join(ln.rstrip()[-1:] for ln in m.group().splitlines()))
    for m in _SPACED.finditer(text) if spaced else ():
        yield m.start(), m.end(), m.group()[::1 + len(m.group(2))]
    for m in _LETTERS.finditer(text) if spaced else ():
        yield m.start(), m.end(), m.group()[1::5]
    if cut:
        yield from _cut_lines(text, each[7], tuple(domains) if 0 < len(domains) <= DOMAINS_MAX
                              else ())
    for m in _NULS.finditer(text) if nuls else ():   # ``print(e.encode('utf-16-le'))``
        yield from _pieces(m, m.group().replace("\\x00", ""))
    for m in _WOVEN.finditer(text) if woven else ():
        w = m.group()   # ``''.join(a + b for a, b in zip(x, y))``: each half (the shorter whole)
        yield m.start(), m.end(), w[0::2]
        yield m.start(), m.end(), w[1::2]


_NULS = re.compile(r"(?:\\x00)?(?:[^\\\s'\"]\\x00){4,}[^\\\s'\"]?")
_WOVEN = re.compile(r"(?<![^\s,;'\"\[(])[^\s,;'\"]*@[^\s,;'\"]{0,2}@[^\s,;'\"]*")
CUT_LINES = 4
"""Lines of one word read before and after a line holding an '@' (an e-mail cut over up to
``2 * CUT_LINES + 1`` printed lines)."""


def _cut_lines(text: str, gate: Any, named: tuple[str, ...]) -> Iterator[tuple[int, int, str]]:
    """The lines of one word holding an '@' beside a line of one word holding none (``gate``'s
    matches: one RE2 pass; a column of whole e-mails has one at most, below its header), read
    with the lines of one word around them (``_joined_lines``); given ``named`` (the known
    e-mails' domains), only where what follows the '@' begins one of them or is one."""
    for m in gate.finditer(text):
        at = m.start() + m.group().find("@")
        a, b = text.rfind("\n", 0, at) + 1, text.find("\n", at)
        line = text[a:len(text) if b < 0 else b].rstrip("\r")
        after = line.partition("@")[2]
        if not named or any(d.startswith(after) or after.startswith(d) for d in named):
            yield from _joined_lines(text, a, a + len(line))


def _joined_lines(text: str, a: int, b: int) -> Iterator[tuple[int, int, str]]:
    """The joins of the lines of one word around the line ``text[a:b]`` (which holds an
    '@') that hold it: each may be a value cut over lines."""
    before: list[tuple[int, str]] = []
    at = a
    while len(before) < CUT_LINES and at > 0:
        start = text.rfind("\n", 0, at - 1) + 1
        line = text[start:at - 1].rstrip("\r")
        if not line or len(line) > 63 or line.split() != [line] or "@" in line:
            break
        before.append((start, line))
        at = start
    after: list[tuple[int, str]] = []
    at = b
    while len(after) < CUT_LINES and at < len(text):
        end = text.find("\n", at + 1)
        end = len(text) if end < 0 else end
        line = text[at + 1:end].rstrip("\r")
        if not line or len(line) > 63 or line.split() != [line] or "@" in line:
            break
        after.append((end, line))
        at = end
    mid = text[a:b]
    for i in range(len(before) + 1):
        head = "".join(ln for _, ln in reversed(before[:i]))
        first = before[i - 1][0] if i else a
        for j in range(len(after) + 1):
            if i or j:
                yield first, after[j - 1][0] if j else b, head + mid + "".join(
                    ln for _, ln in after[:j])


def _uu_block(block: str) -> str:
    """The text uuencoded lines decode to, joined (``codecs``' 'uu' cuts a value over lines)
    and line by line (``b2a_uu`` of each value), '' when one is no uuencoded line."""
    out = []
    for line in block.splitlines():
        if len(line) - 1 != 4 * -(-(ord(line[0]) - 32) // 3):
            return ""
        try:
            out.append(binascii.a2b_uu(line).decode("latin-1"))
        except binascii.Error:
            return ""
    return "".join(out) + ("\n" + "\n".join(out) if len(out) > 1 else "")


def _codes_text(codes: list[int]) -> str:
    return "".join(map(chr, codes)) if all(32 <= c < 0x110000 for c in codes) else ""


def _pieces(m: re.Match[str], got: str) -> Iterator[tuple[int, int, str]]:
    """What a run decoded to, whole and cut at separators (each may be a value)."""
    if got and got.isprintable():
        yield m.start(), m.end(), got
    for piece in _PIECES.split(got) if got else ():
        if piece and piece != got and piece.isprintable():
            yield m.start(), m.end(), piece


def _codes(m: re.Match[str], codes: list[int]) -> Iterator[tuple[int, int, str]]:
    if all(32 <= c < 127 for c in codes):
        yield m.start(), m.end(), "".join(map(chr, codes))


def _bytes(m: re.Match[str], raw: bytes) -> Iterator[tuple[int, int, str]]:
    text = raw.decode("latin-1")
    if text.isprintable():
        yield m.start(), m.end(), text
