"""Base64, base32 and hex shown in the notebook: a run that hides sensitive values is masked.

``print(b64encode(str(rows).encode()))``, ``.hex()`` of an e-mail column, ``display(HTML(...))``
of either, an error message holding one: the masker sees letters and digits, not the values.
``shown(text, settings)`` is this and then ``mask_text``: the runs of 12+ base64 characters of
a text (``encoded.runs``: a few vectorised passes, so text with none costs little) are decoded
(hex, base64 and its URL-safe form, each alignment: a run may be glued to other characters or
cut by the stream masker; base32 from its first character), and when what is readable among
them holds a value masking would hide (a known value or a detector's match), every readable
run of the text is replaced by ``MARKER``. Runs that decode to binary (a PNG, a hash, a UUID,
a git id) and runs of plain text are shown as they are.

A person sees a marker, not a refusal: the output is for the person, the rest of it stays
useful, and a print cannot be refused half-written. Files, the network and children refuse
encoded values instead (``hooks.exits.scan(..., decode=True)``).

>>> from jupyter_guard.mask.text import MaskSettings
>>> shown("id " + b64encode(b"jane@example.com,ann@example.org").decode(), MaskSettings())
'id [encoded sensitive values masked]'
>>> shown("ok " + b64encode(b"Paris,Lyon,Nice,Lille").decode(), MaskSettings())
'ok UGFyaXMsTHlvbixOaWNlLExpbGxl'
"""
from __future__ import annotations

import binascii
import re
from base64 import b64encode  # noqa: F401 - the doctest's

from jupyter_guard.hooks import encoded, encoded85
from jupyter_guard.kernel.run_shapes import EVERY, Shapes, shapes
from jupyter_guard.mask.text import KNOWN, MaskSettings, mask_text

MARKER = "[encoded sensitive values masked]"
CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-="
KEEP = 4096
"""Characters of a run cut by the stream masker kept to be judged with its continuation."""
SHORTEST = 12
"""Runs of fewer characters are not decoded (base64 of a 9-digit SSN is 12 long; the exits,
which refuse rather than mask, start at 16)."""
_RUN = re.compile(r"[A-Za-z0-9+/_-]{12,}={0,2}")
_ANY = re.compile(r"[A-Za-z0-9+/_-]{12}")
_HEX_PART = re.compile(r"[^-]{12,}")
"""The parts of a hex run between dashes long enough to decode (``'1-' * n`` is one run of
n parts: going through each in Python cost 74 ms per MB)."""
# ``str.strip(chars)`` looks each character up in ``chars``: a regex class reads a MB of a run
# four times faster (the run's end is read as the start of the reversed piece)
_CHARS_RUN = re.compile(r"[A-Za-z0-9+/_=-]*")
# a run holding nothing but these is hex (base32): ``bytes.translate`` deletes them in one C pass
_HEX_BYTES = b"0123456789abcdefABCDEF-"
_B32_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_URL = bytes.maketrans(b"-_", b"+/")
SHORT_TEXT = 2048
"""Below this length a text is searched for a run with one regex (numpy costs more there)."""


_LAYERED = re.compile(
    r"%25[0-9A-Fa-f]{2}|&(?:#0*(?:173|820[3-5]|8288|65279);|#[xX]0*(?:[aA][dD]|200[bBcCdD]|"
    r"2060|[fF][eE][fF][fF]);|ZeroWidthSpace;|shy;|NoBreak;|zwn?j;)")
"""What a second layer of spelling leaves after the first is undone: URL escapes of URL
escapes (``%2540``: a server decodes both) and HTML references to zero-width characters
(``u&#8203;s&#8203;e…``: the browser shows the value whole)."""


def shown(text: str, settings: MaskSettings, depth: int = 3) -> str:
    """``text`` as a person may see it: values masked, encoded values too. Where a second layer
    of spelling (``_LAYERED``) hides a value, the text is shown with that layer undone and the
    value masked; text whose layers hide nothing is shown as it was."""
    out = mask_text(mask_runs(text, settings)[0], settings)
    if depth and settings.active and _LAYERED.search(out):
        peeled = _LAYERED.sub(_peel, out)
        masked = shown(peeled, settings, depth - 1)
        if masked != peeled:
            return masked
    return out


def _peel(m: re.Match[str]) -> str:
    token = m.group()
    return "%" + token[3:] if token.startswith("%25") else ""


def mask_runs(text: str, settings: MaskSettings) -> tuple[str, frozenset[str]]:
    """``text`` with its readable runs replaced by ``MARKER`` when any of them holds a value
    masking would hide; and the runs replaced. The passes that cannot find anything in it
    (``run_shapes``, one RE2 pass) are skipped."""
    if not settings.active or not text:
        return text, frozenset()
    found = shapes(text, SHORTEST)
    text, spaced = _mask_separated(text, settings, found)
    # (a marker put in holds no run: the base64 shape of the text before it still holds)
    text, runs_masked = _mask_b64(text, settings) if found.base64 else (text, frozenset())
    return text, spaced | runs_masked


def _mask_separated(text: str, settings: MaskSettings,
                    found: Shapes = EVERY) -> tuple[str, frozenset[str]]:
    """``text`` with its runs of separated hex bytes (``':'.join(f'{b:02x}' ...)``), Ascii85 and
    base85 that hold a value masking would hide replaced by ``MARKER``."""
    spaced = encoded.separated(text) if found.separated else []
    spelt = encoded85.runs(text) if found.ascii85 else []
    hidden = frozenset([run for run, raw in spaced
                        if (got := _text(_narrow(raw))) and _holds_values(got, settings)]
                       + [run for run, got in spelt if _holds_values(got, settings)])
    for run in sorted(hidden, key=len, reverse=True):
        text = text.replace(run, MARKER)
    return text, hidden


def _narrow(raw: bytes) -> bytes:
    """UTF-16 or UTF-32 bytes (``e.encode('utf-16-le').hex(':')``) without their NULs."""
    return raw.replace(b"\0", b"") if raw.count(0) * 3 > len(raw) else raw


def _mask_b64(text: str, settings: MaskSettings) -> tuple[str, frozenset[str]]:
    if len(text) < SHORT_TEXT:   # one regex search; numpy costs more on short texts
        if _ANY.search(text) is None:
            return text, frozenset()
        runs = list(dict.fromkeys(m.group().rstrip("=") for m in _RUN.finditer(text)))
    else:
        runs = encoded.runs(text, SHORTEST)
    readable = {}
    if len(runs) > 8:   # base32's alphabet is base64's too: its runs are tried as themselves
        runs = encoded.plausible(runs, 6) + [r for r in runs if not r.strip(encoded.B32_CHARS)]
    for run in runs:
        got = _readable(run)
        if got:
            readable[run] = got
    if not readable or sum(map(len, readable.values())) > encoded.MAX:
        return text, frozenset()
    if not _holds_values("\n".join(readable.values()), settings):
        return text, frozenset()
    out = _RUN.sub(lambda m: MARKER if m.group().rstrip("=") in readable else m.group(), text)
    return out, frozenset(readable)


def _holds_values(text: str, settings: MaskSettings) -> bool:
    """Whether masking would hide anything in ``text`` (a known value, a detector's match)."""
    from jupyter_guard.mask.normalize import normalize
    from jupyter_guard.mask.scan import first

    norm = normalize(text).text   # the detectors first: they stop at the first value
    return bool(first(norm, settings.enabled)) or any(find(norm) for find in KNOWN)


def _readable(run: str) -> str:
    """What ``run`` decodes to as readable text, at any alignment ('' when nothing does)."""
    out = []
    raw = run.encode("ascii")
    if not raw.translate(None, _HEX_BYTES):   # hex digits (and a UUID's dashes): hex only
        for part in _hex_parts(run, raw):   # (shorter parts decode to nothing)
            for a in (0, 1):
                n = (len(part) - a) // 2 * 2
                if n >= SHORTEST:
                    got = _text(bytes.fromhex(part[a:a + n]))
                    if got:
                        out.append(got)
                        break
        return "\n".join(out)
    if not raw.translate(None, _B32_BYTES):
        got = _text(encoded.base32(run))
        if got:
            return got
    if b"-" in raw or b"_" in raw:
        if b"+" in raw or b"/" in raw:   # both alphabets: neither decodes it (a path)
            return ""
        raw = raw.translate(_URL)
    for a in range(4):
        body = raw[a:]
        if len(body) < SHORTEST:
            break
        if len(body) > 96 and not _text(_b64(body[:96])):   # a sample first (whole quanta)
            continue
        got = _text(_b64(body))
        if got:
            return got
    return ""


def _hex_parts(run: str, raw: bytes) -> list[str]:
    """The parts of a hex run between its dashes long enough to decode: one regex on a short
    run, a few numpy passes on a long one (``'1-' * n``: the regex tries every character)."""
    if len(raw) < SHORT_TEXT or b"-" not in raw:
        return _HEX_PART.findall(run)
    import numpy as np

    chars = np.frombuffer(raw, np.uint8)
    long = chars != ord("-")
    for step in (1, 2, 4, SHORTEST - 8):   # long[i]: ``SHORTEST`` characters from i, no dash
        long = long[:-step] & long[step:]
    if not long.any():   # (``'1-' * n``: none, in a few passes)
        return []
    dash = np.flatnonzero(chars == ord("-"))
    bounds = np.concatenate(([-1], dash, [len(raw)]))
    return [run[bounds[i] + 1:bounds[i + 1]]
            for i in np.flatnonzero(np.diff(bounds) > SHORTEST).tolist()]


def _b64(body: bytes) -> bytes:
    """``body`` decoded; its last quantum padded (its bytes read) or, one character long,
    dropped (b'' when it does not decode)."""
    cut = len(body) % 4
    try:
        return binascii.a2b_base64(body[:-1] if cut == 1 else body + b"=" * (-cut % 4))
    except binascii.Error:
        return b""


def _text(raw: bytes) -> str:
    """``raw`` as text when it reads as text: valid UTF-8 but for a character cut at either
    end, at least 90% printable or white space."""
    text = raw.decode("utf-8", "replace")
    if text.count("\ufffd") > 2 or not text.strip():
        return ""
    return text if encoded.readable(text) else ""


class Carry:
    """``mask_runs`` over a stream cut into pieces: a run cut at the end of one piece is judged
    with its continuation, and the rest of a masked run is masked too."""

    def __init__(self) -> None:
        self.open: str | None = None   # the raw end of the last piece's last run, if it may go on
        self.masked = False            # that run was masked

    def mask(self, piece: str, settings: MaskSettings, more: bool) -> str:
        """``piece`` (already masked by ``mask_text``) with its encoded values masked; ``more``:
        the text goes on after it (a run may continue)."""
        if not settings.active:
            self.open = None
            return piece
        head = ""
        if self.open is not None:
            n = _CHARS_RUN.match(piece).end()  # type: ignore[union-attr]  # (``*``: matches)
            if n:
                lead, piece = piece[:n], piece[n:]
                whole = self.open + lead
                hidden = self.masked or bool(mask_runs(whole, settings)[1])
                head = "" if hidden else lead
                if not piece:   # the run may go on still
                    self.open, self.masked = (whole[-KEEP:], hidden) if more else (None, False)
                    return head
        body, masked = mask_runs(piece, settings)
        tail = _tail(piece)
        if more and tail:
            run = piece[-tail:]
            last = run.rstrip("=").rsplit("=", 1)[-1]   # the regex's last run in it
            self.open, self.masked = run[-KEEP:], last in masked
        else:
            self.open, self.masked = None, False
        return head + body


def _tail(piece: str) -> int:
    """How many characters of a run end ``piece`` (its end read as the start of the reversed
    text: of its last ``KEEP`` + 1 characters first, of all of it only when they are all run)."""
    tail = _CHARS_RUN.match(piece[:-KEEP - 2:-1]).end()  # type: ignore[union-attr]  # (``*``)
    return tail if tail <= KEEP else _CHARS_RUN.match(piece[::-1]).end()  # type: ignore[union-attr]
