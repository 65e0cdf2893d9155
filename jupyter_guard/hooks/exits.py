"""One data-aware check at the file and network exits: bytes leaving the kernel are scanned with
the masking detectors and for values known to come from sensitive columns.

- ``known`` holds values read out of sensitive columns (``tolist``, ``to_dict``, ``values``,
  iteration: ``enforce.df_lineage`` registers them), and each spelt backwards, so a 9-digit SSN
  joined into a string by hand is recognised even though no detector matches it; a value
  holding a separator printed text is cut at is known by its pieces too (``known_forms.pieces``).
- ``scan`` finds a sensitive value in a text: every detector over the whole text (the RE2
  prefilter of ``mask.scan`` reads it once; chunks without candidates cost nothing more), known
  values token by token in short texts and with one automaton pass (``known_match``) in long
  ones.
- ``refuse`` decides through the policy (rule ``exfiltration``) and raises ``GuardBlocked``.
Masked output passes: masked values match no detector and are no known value.
"""
from __future__ import annotations

import re
import sys
from itertools import compress, filterfalse, islice, repeat
from operator import itemgetter
from typing import Any
from urllib.parse import unquote_plus

from jupyter_guard.hooks import (
    cipher_digits,
    edge_pieces,
    encoded,
    exit_bytes,
    known_forms,
    known_grouped,
    printed,
    respelt,
)
from jupyter_guard.hooks.known_match import Matcher, Packed, Values, spaced_joined
from jupyter_guard.mask.normalize import normalize
from jupyter_guard.mask.scan import first
from jupyter_guard.mask.strategy import SPELT, canonical
from jupyter_guard.model import Intent

MAX_KNOWN = 2_000_000
"""Values remembered at most (their numeric and reversed forms are kept beside them, uncounted)."""
MAX_KNOWN_BYTES = 4 << 30
"""The memory the known values, their forms and their automata may take at most (``held``):
past it, as past ``MAX_KNOWN``, no more values are remembered and ``full`` says so."""
BYTES_PER_CHAR, BYTES_PER_VALUE = 48, 64
"""What ``held`` counts for each character and each string remembered: an upper estimate of
what the set, the levels' lists and their automata take (measured: ~49 bytes a character for
values of 50-500 random characters once built, ~480 a value for the 1.47 million SSNs and forms
of a fetch, whose 12.6 characters count 669)."""
SHORTEST = 4   # the shortest value remembered (shorter ones are too common to find by value)
_TOKEN = re.compile(r"[^\s,;|\"'<>()\[\]{}=&?/\\:\x00]{4,}")
_CUT = str.maketrans(dict.fromkeys(",;|\"'<>()[]{}=&?/\\:\x00\x7f"
                                   # control bytes of a binary format (latin-1 decoded)
                                   + "".join(map(chr, range(0x80, 0xa0))), " "))
known = Values()
_MATCH = Matcher(known)
# the 8-byte forms of known numbers (``struct.pack('<q', n)``), found anywhere in binary data
packed = Packed()
# whether an e-mail is known: spelt-out forms (``respelt``) are looked for only then
emails = [False]
# the domains of the known e-mails (past ``respelt.DOMAINS_MAX``, any domain is a candidate)
email_domains: set[str] = set()
# a known e-mail's own base85 and Ascii85 (``known_forms.encoded_forms``): looked for in short
# texts only, as whole words (in the automaton they tripled its build time)
encoded_alone: set[str] = set()
# the known strings that are a value spelt otherwise than it was read (reversed, a float or hex
# form, a piece, an e-mail's local part, a value whose tail is no canonical tail): printed, they
# are masked whole (``strategy.SPELT``), as their tail would show other characters
spelt: set[str] = set()
_FORMS_OF = [0]   # ``known.resets`` the three above were made for (``known`` cleared: dropped)
ALONE_MAX = 4096


def _forms_follow() -> None:
    if _FORMS_OF[0] != known.resets:
        _FORMS_OF[0] = known.resets
        packed.clear()
        encoded_alone.clear()
        spelt.clear()
        emails[0] = False
        email_domains.clear()
        numbers[0] = False
        digit_lengths.clear()
        edge_pieces.reset()
_DENSE = exit_bytes.DENSE      # marks text decoded from UTF-16/32 (numpy string arrays)
DENSE_MAX = 65_536


# the lengths of the values and forms remembered (a test restores them with ``known``)
lengths: set[int] = set()

# the values remembered (``MAX_KNOWN`` bounds it), not the forms kept beside them; a list, changed
# in place (self-protection puts back a module global rebound between cells)
counted = [0]
held = [0]
"""The bytes the known values take (``BYTES_PER_CHAR``, ``BYTES_PER_VALUE``; 0 again once
``known`` is emptied)."""
numbers = [False]
"""Whether a known value is a number (an SSN, phone or card number): only then are digit
groups read (``known_grouped``)."""
digit_lengths: set[int] = set()
"""The lengths of the known values (and forms) made of digits: the only chains read."""


def full() -> bool:
    """Whether no more values can be remembered: ``MAX_KNOWN`` values, or ``MAX_KNOWN_BYTES``
    of memory (a fetch of long values fills it with fewer)."""
    if not known:
        held[0] = 0   # (emptied: nothing is held)
    return counted[0] >= MAX_KNOWN or held[0] >= MAX_KNOWN_BYTES


def remember(values: Any) -> None:
    """Values read out of a sensitive column (strings of 4+ characters, bounded). Each step is
    one C-level set or string operation over the batch (250,000 values in ~1 s, not 3-10)."""
    if full():
        return
    try:
        new = _strings(values)
    except Exception:  # noqa: BLE001 - values that cannot be listed: the detectors still look at the bytes
        return
    # a new value cut into a number by a user loop (``int(ssn.replace('-', ''))``)
    _forms_follow()
    fresh = new.difference(known)
    read = set(fresh)   # as read (the others are forms of these)
    joined = "\x01".join(fresh)
    cuts = bool(fresh) and known_forms.CUT_ANY.search(joined) is not None
    if cuts:   # most values hold no cut
        cut = known_forms.pieces(fresh)
        fresh |= cut - known
        new |= cut
    local: set[str] = set()
    has_at = "@" in joined
    if has_at:   # an e-mail's local part printed alone
        local = known_forms.local_parts(fresh) - known
        fresh |= local
        new |= local
    # whether a value holds a separator (``Matcher.has_spaced``): only one holding a cut can,
    # and what joins it to others is a comma (the forms below hold none: digits, ``, . _ e +``
    # between digits, hex; a value backwards holds what the value does)
    spaced = cuts and spaced_joined("\x01".join(fresh))
    spelt.update(fresh - read)
    # (a tail that is no canonical tail; a string of digits always has one)
    spelt.update(known_forms.not_canonical(v for v in read if not (v.isascii() and v.isdigit())))
    digits = known_forms.number_digits(fresh)
    lens = set(map(len, filter(str.isdigit, fresh)))
    ints: list[int] = []
    forms = known_forms.numeric_forms(fresh, spelt, digits, lens, ints)   # (adds its digits')
    edge_pieces.remember(fresh, joined)   # (``332-20-``: a piece that ends in punctuation)
    if lens:   # numbers a print may cut in digit groups
        numbers[0] = True
        digit_lengths.update(lens)
    if has_at:
        encoded_alone.update(known_forms.encoded_forms(fresh))
    packed.update_array(known_forms.packed_array(ints))
    emails[0] = emails[0] or has_at
    if emails[0] and len(email_domains) <= respelt.DOMAINS_MAX:
        email_domains.update(s.rpartition("@")[2] for s in fresh if "@" in s)
    counted[0] += len(fresh)
    known.update_checked(new, spaced)
    known.update_checked(forms, False)
    # spelt backwards too (``[e[::-1] for e in df.email]``): one set, so every check that looks
    # a token up finds a reversed value at no extra cost. Not bare digit strings: a reversed
    # 9-digit number is as likely to be some other honest number as a hidden SSN
    # (not a local part's: ``'0001resu'`` made the automaton 6 times slower on digit-dense text)
    backwards = set(map(_BACKWARDS, set(filterfalse(str.isdigit, new)) - local)) - new
    spelt.update(backwards.difference(known))   # (not a value read as itself before)
    known.update_checked(backwards, spaced)
    sizes = list(map(len, new))
    lengths.update(sizes)
    form_sizes = list(map(len, forms))
    lengths.update(form_sizes)
    held[0] += (BYTES_PER_CHAR * (sum(sizes) + sum(form_sizes) + sum(map(len, backwards)))
                + BYTES_PER_VALUE * (len(new) + len(forms) + len(backwards))
                + 32 * len(ints))   # (4 packed forms of 8 bytes a number)


_BACKWARDS = itemgetter(slice(None, None, -1))
_SHORT = SHORTEST - 1
_LEAVES = frozenset({str, int, float, bool, type(None)})


def _strings(values: Any) -> set[str]:
    """The text of each value (``_flat``) of 4+ characters, but ``None`` and ``nan``. A list of
    plain values (what ``tolist`` gives) is read in C."""
    types = set(map(type, values)) if isinstance(values, (list, tuple)) else None
    if types is not None and types <= _LEAVES:
        flat: Any = values if types <= {str} else list(map(str, values))
    else:
        flat = list(map(str, _flat(values, 3)))
    new = set(compress(flat, map(_SHORT.__lt__, map(len, flat))))   # (C, not a loop)
    new.discard("None")   # ("nan" is shorter than ``SHORTEST``)
    return new


def _flat(values: Any, depth: int) -> Any:
    """Each value; of a list, tuple, set or dict value (a struct, ``row(email, ssn)``, a map, a
    list) its members instead, ``depth`` levels down; bytes (a BLOB) also as text."""
    for v in values:
        if isinstance(v, (list, tuple, set, frozenset, dict)):
            if depth:   # the members, not the container's own text (it would mask a stretch)
                yield from _flat(islice(v.values() if isinstance(v, dict) else v, 1000),
                                 depth - 1)
            continue
        yield v
        if isinstance(v, (bytes, bytearray)):
            yield bytes(v[:4096]).decode("latin-1")


_text, _inflated, _pickled, _control = (exit_bytes.text_of, exit_bytes.inflated,
                                        exit_bytes.pickled, exit_bytes.control)


def scan(data: Any, settings: Any, *, decode: bool = False) -> str:
    """The kind of a sensitive value in ``data`` ('' if none): every detector over the whole
    text (normalised as for masking: entities, escapes, zero-width characters), then known
    values token by token. ``decode``: base64 and hex runs too (``encoded``: for what goes to
    the network, a child or a file; text with no run of 16+ base64 characters costs little)."""
    for inner in (_inflated(data), _pickled(data)):
        found = scan(inner, settings, decode=decode) if inner else ""
        if found:
            return found
    _forms_follow()
    text = _text(data)
    if not text:
        return ""
    # binary (a control byte text never holds): no query string, no e-mail spelt out in it
    binary = (packed or emails[0] or "%" in text or "+" in text) and _control(data)
    if binary and packed.found(bytes(data)):   # ``struct.pack('<q', n)``, ``array('q')``
        return "values read from a sensitive column (packed as binary numbers)"
    if not binary and ("%" in text or "+" in text):
        text = text + "\n" + unquote_plus(text)   # URL-encoded values (query strings, bodies)
    found = _known(text)
    shared = None
    if not found:
        norm = normalize(text).text
        # the detectors' candidates and the encoded gate in one pass (``exit_bytes``)
        shared = exit_bytes.candidates(text, settings.enabled) if decode and norm is text \
            else None
        if shared is None or shared.detectors:
            found = first(norm, settings.enabled)
    if not found and emails[0] and not binary:   # ``[ord(c) for c in e]``, ``' '.join(e)``, ...
        spelt = respelt.respelt(text, email_domains)
        found = "values read from a sensitive column (spelt out)" if spelt and _known(
            spelt) else ""
    if found or not decode or (shared is not None and not shared.encoded):
        return found
    hidden = encoded.decoded(text, gated=shared is not None)   # base64 or hex runs
    return (_known(hidden) or first(normalize(hidden).text, settings.enabled)) if hidden else ""


def _known(text: str) -> str:
    if not known:
        return ""
    if text.startswith(_DENSE):   # fixed-width values with no separator between them
        body = text[len(_DENSE):DENSE_MAX]
        if _MATCH.anywhere(body):   # one automaton pass (a Python step per offset and length
            return "values read from a sensitive column"   # cost 130-250 ms per MB)
    radix = known_forms.radix_values(text)   # ``hex(n)``, ``oct(n)``, ``bin(n)``
    if radix and not known.isdisjoint(radix):
        return "values read from a sensitive column (as a hex, octal or binary number)"
    if numbers[0] and cipher_digits.spans(text, known, digit_lengths):   # digits as letters
        return "values read from a sensitive column (digits spelt as letters)"
    if encoded_alone and len(text) < ALONE_MAX and not encoded_alone.isdisjoint(
            map(str.strip, text.split(), repeat("\"',[]()"))):
        return "values read from a sensitive column (encoded)"
    if len(text) < 200:   # short: the whole text may be one value
        if text.strip().strip("\"'") in known:
            return "values read from a sensitive column"
        if ("," in text or "_" in text) and _MATCH.find(text):   # ``f'{n:,}'``: no token
            return "values read from a sensitive column"
    else:   # one C pass over a long text (Aho-Corasick); the token check where there is none
        hit = _MATCH.find(text)
        if hit is not None:
            return "values read from a sensitive column" if hit else _grouped(text)
    # the runs ``_TOKEN`` finds (and shorter ones, which are no known value), each step in C
    tokens = text.translate(_CUT).split()
    if not known.isdisjoint(tokens) or not known.isdisjoint(map(str.strip, tokens, repeat(
            ".-+@"))) or edge_pieces.found(tokens):
        return "values read from a sensitive column"
    if len(text) < 200 and known_spans(text):   # values glued to each other or to other text
        return "values read from a sensitive column"
    return _grouped(text)


def _grouped(text: str) -> str:
    """Known numbers cut in digit groups (``100-00-0058``), values spelt (``' '.join(name)``)."""
    if known_grouped.read(text, known, digit_lengths if numbers[0] else None):
        return "values read from a sensitive column"
    return "values read from a sensitive column (respelt)" if numbers[0] and _fuzzy(text) else ""


def _fuzzy(text: str) -> list[tuple[int, int, str]]:   # (numpy: not for a child's first write)
    from jupyter_guard.hooks import known_fuzzy
    return known_fuzzy.spans(text, known, spelt)


def grouped_spans(text: str) -> list[tuple[int, int, str]]:
    """Where known numbers written in digit groups (``100-00-0058``) occur in ``text``."""
    return known_grouped.grouped(text, known, digit_lengths) if numbers[0] else []


def known_columns(frame: Any, rows: int = 64) -> set[str]:
    """Columns of a pandas frame whose first ``rows`` values hold a value read from a sensitive
    column (a renamed copy that lost its lineage, an Arrow table converted back)."""
    if not known:
        return set()
    head = frame.head(rows)
    return {str(c) for i, c in enumerate(head.columns)
            if any(str(v) in known for v in head.iloc[:, i].tolist() if isinstance(v, (str, int)))}


_SEP = r"\s,;|\"'<>()\[\]{}=&?/\\:\x00"
# a printed token: 4+ characters between separators, not starting or ending with . - + @
# linear (tests/enforce/test_known_values.py)
_PRINTED = re.compile(rf"[^{_SEP}.+@$#%*!~^`-][^{_SEP}]{{2,}}(?<=[^{_SEP}.+@$#%*!~^`-])")
# after an escape a repr writes (``'a\\n100000011'``): the token starts past it
_ESCAPED = re.compile(rf"(?<=\\[ntrfv0])[^{_SEP}.+@$#%*!~^`-][^{_SEP}]{{2,}}"
                      rf"(?<=[^{_SEP}.+@$#%*!~^`-])")


PRINTED_MIN = 4096
"""Texts at least this long have their tokens cut in numpy (``printed``)."""


def known_spans(text: str) -> list[tuple[int, int, str]]:
    """Where values read from sensitive columns occur in ``text`` (for masking printed text).
    One C-level pass finds the tokens and one set operation decides; spans only on a hit. An
    '@' the tokens did not account for, or a long token that is no value, may be values glued
    to each other or to other text (``Matcher.glued``)."""
    if not known:
        return []
    tokens = _PRINTED.findall(text)
    # where the tokens are, in a long text: cut in numpy (one set test each, in C)
    got = printed.known_in(text, tokens, known) if len(text) >= PRINTED_MIN else None
    if got is not None:
        spans, covered = got
        if spans and spelt and not spelt.isdisjoint(tokens):   # (one C pass decides)
            spans = [(a, b, SPELT if text[a:b] in spelt else k) for a, b, k in spans]
    else:
        spans = ([] if known.isdisjoint(tokens) else
                 [(m.start(), m.end(), SPELT if m.group() in spelt else "known")
                  for m in _PRINTED.finditer(text) if m.group() in known])
        covered = sum(text.count("@", a, b) for a, b, _ in spans)
    if "\\" in text:
        escaped = [(m.start(), m.end(), SPELT if m.group() in spelt else "known")
                   for m in _ESCAPED.finditer(text) if m.group() in known]
        spans += escaped
        covered += sum(text.count("@", a, b) for a, b, _ in escaped)
    spans += edge_pieces.spans(text, known)
    glued = "@" in text and text.count("@") > covered
    if glued or _MATCH.has_spaced() or not known.issuperset(t for t in tokens if len(t) >= 12):
        spans += [(a, b, SPELT if text[a:b] in spelt or not canonical(text[a:b]) else "known")
                  for a, b in _MATCH.glued(text)]
    return spans + respelt_spans(text)


def respelt_spans(text: str) -> list[tuple[int, int, str]]:
    """Where ``text`` spells a known value otherwise: a number in hex, octal or binary, respelt by
    one character (``known_fuzzy``), an e-mail spelt out (``respelt``), a value one character at a
    time (``' '.join(name)``; ``grouped_spans`` where a number is known). Only once one is known."""
    _forms_follow()
    out = known_forms.radix_spans(text, known, digit_lengths) + _fuzzy(text) if numbers[0] \
        else known_grouped.joined(text, known)
    return out + respelt.spans(text, known, email_domains) if emails[0] else out


def refuse(guard: Any, rt: Any, kind: str, dest: str, how: str, *, host: str | None = None,
           data: Any = None) -> None:
    """Decide (rule ``exfiltration``) on sensitive data leaving to ``dest``; raise if refused.
    Data the policy lets out (an approval, a rule, audit mode) is counted against the budget."""
    from dataclasses import replace

    from jupyter_guard.guard.judge import refuse_verdict, verdict
    from jupyter_guard.hooks.state import Busy

    label = kind if " " in kind else f"{kind} values"
    if host is not None:
        intent = Intent("net.upload", "host", host, remote=True, detail=dest,
                        source=f"{how}: sends {label} to {dest[:120]}")
    else:
        intent = Intent("df.export", "file", dest, columns=(label,), detail=how,
                        source=f"{how}({dest!r})")
    err = None
    with Busy():
        if rt is not None and rt.protect is not None:
            rt.protect.restore_guard()
        ctx = replace(guard.context(), sensitive_columns=frozenset({label.lower()}))
        code = f"{how}({dest[:200]!r}) holds {label}"
        v = verdict(guard, intent, ctx, code)
        if v.refuses:
            if host is not None:
                v = replace(v, reason=f"sends {label} to {host}, which is not in "
                            "network.allow_hosts")
            err = refuse_verdict(guard, v, kind="runtime", code=code, intents=(intent,))
    if err is not None:
        raise err
    if data is not None:   # loaded with the guard (a class made from user code is tampering)
        sys.modules["jupyter_guard.hooks.exit_budget"].spend(guard, rt, data, how)
