"""Pieces encoded one by one, decoded before the joined stream reads them.

A value sent a few characters a message, each piece encoded (``s[i:i+3].encode().hex()``,
``base64.b64encode(piece)``, ``ord(c)`` or ``print(*map(ord, s))``, ``hex(ord(c))``, digit
words ``eight nine seven``), is in no message and spells nothing joined as written.
``lines(lines)`` gives, for the token line of a message read in line (``shown_pieces.
output_lines``, ``other_lines``: key None), one more line per encoding under which some of its
tokens decode: the decoded pieces only, in order (tokens that do not decode are left out: an
index beside each piece, a label; ``BREAK`` where a word or more lies between two pieces, and a
message of text with nothing decoding ends the encoding's runs: ids beside cities are no
value). ``shown_pieces.Run.read_lines`` reads each such line in its
own place, keyed by the encoding, so decoded pieces join only with pieces decoded the same way.

A token decodes only to a piece (at most ``PIECE`` characters of those values are written
with: letters, digits, ``@._+()#-``): a hash, a
UUID, a picture's base64 is longer and stays as it is; a short token that decodes to control
bytes (most words read as base64) is no piece. What decodes is looked up only as the joined
stream looks up pieces: among the known values, so honest hex or character codes (``hello``)
are read and let through.

>>> lines([(None, ['313030', 'x'])])
[(('hex', None), ['100'])]
>>> [k for k, _ in lines([(None, ['MTIz'])])], lines([(None, ['49', '50', '45'])])[-1]
([('base64', None)], (('ord', None), ['1', '2', '-']))
>>> lines([(None, ['eight', 'nine', 'words'])]), lines([(None, ['0x31'])])
([(('words', None), ['8', '9'])], [(('hex', None), ['1'])])
>>> lines([(None, ['deadbeef' * 8, 'Epoch', '7'])])
[]
>>> decoy(['3f2a9c1e-77b0-4c1d-9e6a-5b2f0c8d1e4a']), decoy(['a-longer-line-ends-every-run'])
(True, False)
"""
from __future__ import annotations

import base64
import binascii
import re
from typing import Any

PIECE = 4
"""Decoded pieces at most this long (``shown_pieces.PIECE``: a longer one would end a run)."""
_HEX = re.compile(rf"(?:0x)?((?:[0-9a-fA-F]{{2}}){{1,{PIECE}}})")
_B64 = re.compile(rf"[A-Za-z0-9+/]{{2,{4 * -(-PIECE // 3)}}}")
_PRINTABLE = re.compile(rf"[0-9A-Za-z@._+()#-]{{1,{PIECE}}}")
"""What a decoded piece may hold: what SSNs, phones, cards and e-mails are written with."""
WORDS = {w: str(i) for i, w in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])}
_DECOY = re.compile(r"[A-Za-z0-9+/_.-]{12,}")
_DIGIT = re.compile(r"\d")
_LETTER = re.compile(r"[A-Za-z]")


def _piece(raw: bytes) -> str | None:
    text = raw.decode("latin-1")
    return text if _PRINTABLE.fullmatch(text) else None


def hexed(token: str) -> str | None:
    """``'313233'`` (or ``'0x31'``) as the piece it encodes, else None."""
    m = _HEX.fullmatch(token)
    return _piece(bytes.fromhex(m.group(1))) if m else None


def b64(token: str) -> str | None:
    """``'MTIz'`` (its ``=`` padding cut off by the tokens or not) as its piece, else None."""
    if len(token) % 4 == 1 or not _B64.fullmatch(token):
        return None
    try:
        return _piece(base64.b64decode(token + "=" * (-len(token) % 4), validate=True))
    except (binascii.Error, ValueError):
        return None


def code(token: str) -> str | None:
    """A decimal character code of a printable character (``'49'`` is ``'1'``), else None."""
    if not (1 < len(token) < 4 and token.isdigit()):
        return None
    c = chr(int(token))
    return c if _PRINTABLE.fullmatch(c) else None


def word(token: str) -> str | None:
    """A digit's English word as the digit, else None."""
    return WORDS.get(token.lower()) if len(token) < 6 else None


DECODERS = (("hex", hexed), ("base64", b64), ("ord", code), ("words", word))
KEYS = tuple((name, None) for name, _ in DECODERS)
"""The places of the decoded lines (``lines``)."""


_NONE = (None, None, None, None)
_SEEN: dict[str, tuple[str | None, ...]] = {}
SEEN = 1 << 16
"""Tokens whose decodings are kept (output repeats its numbers and words): one dict lookup a
token instead of four decoders; the table starts again when full."""


def decoded(token: str) -> tuple[str | None, ...]:
    """``token`` under each of ``DECODERS`` (None where it does not decode)."""
    got = _SEEN.get(token)
    if got is None:
        got = tuple(decode(token) for _, decode in DECODERS) if len(token) <= 10 else _NONE
        if got == _NONE:
            got = _NONE
        if len(_SEEN) >= SEEN:
            _SEEN.clear()
        _SEEN[token] = got
    return got


def lines(got: list[tuple[Any, list[str]]]) -> list[tuple[Any, list[str]]]:
    """One line per encoding under which a token of the line read in line (key None: every
    message's in one) decodes: the decoded pieces in order, ``BREAK`` between two of them
    with a word or more than one token between their tokens (``{3031: 'Paris', 3032: 'Lyon'}``
    is no ``'12'``): only pieces next to one another, or with an index between them
    (``{0: '353537', 3: '2d3333'}``), are joined."""
    tokens = next((t for key, t in got if key is None), None)
    if not tokens:
        return []
    each = list(map(decoded, tokens))
    where = [i for i, d in enumerate(each) if d is not _NONE]
    if not where:
        return []
    out: list[tuple[Any, list[str]]] = []
    for at, (name, _) in enumerate(DECODERS):
        pieces: list[str] = []
        last = -1
        for i in where:
            p = each[i][at]
            if p is None:
                continue
            if pieces and (i - last > 2 or (i - last == 2 and not _index(tokens[i - 1]))):
                pieces.append(BREAK)   # (a word, or more than one token, between the two)
            pieces.append(p)
            last = i
        if pieces:
            out.append(((name, None), pieces))
    return out


def end_undecoded(places: dict[Any, Any], got: list[tuple[Any, list[str]]],
                  decoded: list[tuple[Any, list[str]]]) -> None:
    """A message with text but no token decoding under an encoding (``3099``: no piece in
    hex) ends that encoding's runs in ``places`` (``shown_pieces.Run.texts``), as a long token
    ends a run of pieces; a decoy does not."""
    main = next((t for key, t in got if key is None), None)
    if not main or decoy(main):
        return
    found = {key for key, _ in decoded}
    for key in KEYS:
        place = places.get(key)
        if place is not None and place.any_live and key not in found:
            place.reset()


BREAK = "\x00 not a piece"
"""Put between two decoded pieces not read together (``shown_pieces.Run.feed`` ends its runs
there)."""


def _index(token: str) -> bool:
    """A small number beside a piece (an index, a dict's key): read through."""
    return len(token) <= 3 and token.isdigit()


def decoy(tokens: list[str]) -> bool:
    """Whether a line is only random-looking long tokens (a UUID, a hash, a key printed
    between pieces): it neither ends a run nor takes part in one. A word, a path or a sentence
    holds other characters or too few digits."""
    return bool(tokens) and all(
        _DECOY.fullmatch(t) and len(_DIGIT.findall(t)) >= 3 and len(_LETTER.findall(t)) >= 3
        for t in tokens)
