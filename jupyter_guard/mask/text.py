"""Masking settings and free-text masking: ``MaskSettings``, ``find_spans``, ``mask_text``.

Imports no pandas (the guard loads it when user code does), so audit redaction and stream
masking cost nothing at ``%load_ext``. The frame and Series maskers are in ``settings``.

>>> s = MaskSettings(columns=("*email*",), detectors=("email", "ssn"), strategy="partial")
>>> mask_text("mail jane@example.com, ssn 123-45-6789", s)
'mail █████@example.com, ssn ████6789'
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import filterfalse
from operator import itemgetter
from types import MappingProxyType

from . import bulk, decoded, gate, mixed, shapes
from .alone import alone
from .detect import DEFAULT_DETECTORS, Detector, get_detectors, name_matches
from .mixed import Values, mask_mixed, mask_upto
from .normalize import Normalized, normalize
from .quiet import quiet
from .scan import RE2_MIN, Span, scan
from .strategy import BLOCK, EMAIL_BLOCK, KEEP, SPELT, check_strategy, hash_values, masker

COLUMN_THRESHOLD = 0.5
"""A column whose sampled values fully match one detector at least this often is masked whole."""

PROBE_SIZE = 40
"""Values looked at first: a column where few of them could hold any value is not sampled."""

DEFAULT_COLUMNS: tuple[str, ...] = (
    "*email*", "*e_mail*", "*ssn*", "*social_security*", "*phone*", "*mobile*", "*card*",
    "*pan", "pan_*", "*password*", "*passwd*", "*secret*", "*token*", "*api_key*", "*salary*",
    "*birth*", "*dob*", "*address*", "*iban*",
)

# Every detector needs one of these in a value; text without them skips all regex scans.
_HINT = re.compile(
    r"[@\d]|::|sk[-_]|rk_|gh[pousr]_|github_|glpat|xox|AKIA|ASIA|AIza|eyJ|BEGIN"
    r"|(?i:pass|pwd|secret|token|api|key|auth)"
)
# ``_HINT`` in two passes, same answer: the common hint (a digit or ``@``) is one character class
# the engine scans fast; the case-insensitive words slow every position, so they run only when
# the first finds nothing.
_HINT_COMMON = re.compile(r"[@\d]")
_HINT_REST = re.compile(
    r"::|sk[-_]|rk_|gh[pousr]_|github_|glpat|xox|AKIA|ASIA|AIza|eyJ|BEGIN"
    r"|(?i:pass|pwd|secret|token|api|key|auth)"
)


_START, _END = itemgetter(0), itemgetter(1)


def hinted(text: str) -> bool:
    """Whether ``text`` holds anything a detector could match (``_HINT.search(text)``, faster)."""
    return _HINT_COMMON.search(text) is not None or _HINT_REST.search(text) is not None


def hinted_count(values: list[str]) -> int:
    """``len(list(filter(hinted, values)))``, each pass in C (no Python call per value)."""
    common = _HINT_COMMON.search
    n = len(list(filter(common, values)))
    if n == len(values):
        return n
    return n + len(list(filter(_HINT_REST.search, filterfalse(common, values))))


def hinted_values(values: list[str]) -> list[str]:
    """The values ``hinted`` keeps (order aside: callers only count matches), passes in C."""
    common = _HINT_COMMON.search
    out = list(filter(common, values))
    if len(out) < len(values):
        out += filter(_HINT_REST.search, filterfalse(common, values))
    return out


@dataclass(frozen=True)
class MaskSettings:
    """Masking configuration, built from the policy keys ``sensitive.*`` and the user's role."""

    columns: tuple[str, ...] = DEFAULT_COLUMNS
    detectors: tuple[str, ...] = DEFAULT_DETECTORS
    strategy: str = "partial"
    per_column: Mapping[str, str] = field(default_factory=dict)
    salt: str = ""
    may_unmask: bool = False
    unmasked: bool = False
    _enabled: tuple[Detector, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_strategy(self.strategy)
        for strat in self.per_column.values():
            check_strategy(strat)
        object.__setattr__(self, "columns", tuple(self.columns))
        object.__setattr__(self, "detectors", tuple(self.detectors))
        object.__setattr__(self, "per_column", MappingProxyType(dict(self.per_column)))
        # unknown names fail here, not at display time; kept: every masked text asks for them
        object.__setattr__(self, "_enabled", get_detectors(self.detectors))

    @property
    def active(self) -> bool:
        """False only for a user whose role may unmask and who turned unmasking on."""
        return not (self.may_unmask and self.unmasked)

    @property
    def enabled(self) -> tuple[Detector, ...]:
        return self._enabled

    def strategy_for(self, column: object = None, detector: str | None = None) -> str:
        """``per_column`` keys are column globs or detector names; else the default strategy."""
        for key, strat in self.per_column.items():
            if key == detector or (column is not None and name_matches(column, (key,))):
                return strat
        return self.strategy


KNOWN: list[Callable[[str], list[Span]]] = []
"""Finders of values known to be sensitive whatever their shape (the kernel registers one that
looks for values read out of sensitive columns); empty: detectors only."""


def _norm_spans(text: str, settings: MaskSettings, norm: Normalized | None = None,
                known: list[Span] | None = None) -> tuple[Normalized, list[Span]]:
    """Spans in the normalised text (``norm``, if given), non-overlapping, earliest and longest
    first (``known``: the ``KNOWN`` finders' spans in it, if already found)."""
    norm = normalize(text) if norm is None else norm
    if known is None:
        known = [s for find in KNOWN for s in find(norm.text)]
    if not known and len(norm.text) < RE2_MIN and not hinted(norm.text):
        return norm, []
    first = [s for s in known if s[2] == SPELT]   # (a tie: a known value spelt otherwise)
    return norm, resolve(first + scan(norm.text, settings.enabled) + known)


def resolve(spans: list[Span]) -> list[Span]:
    """Spans ordered by start, the longest first where two start together, and those that
    overlap an earlier kept one dropped."""
    spans.sort(key=_END, reverse=True)  # two stable sorts in C: start up, then end down
    spans.sort(key=_START)
    kept: list[Span] = []
    add, end = kept.append, -1
    for span in spans:
        if span[0] >= end:
            add(span)
            end = span[1]
    return kept


def find_spans(text: str, settings: MaskSettings) -> list[Span]:
    """Non-overlapping ``(start, end, detector)`` spans of ``text``, earliest and longest first.

    Detectors see the normalised text (entities and URL escapes decoded, zero-width characters
    dropped, dashes folded); spans are given in ``text`` itself.
    """
    norm, spans = _norm_spans(text, settings)
    return spans if norm.text is text else norm.spans(spans)


_URL_PASSWORD = re.compile(r"(?<=://)([^\s/:@]{1,256}+):[^\s/@]{1,1024}+@")
# ``?password=`` in a URL, ``password=`` in a libpq DSN (a quoted value may hold spaces)
_KEY_PASSWORD = re.compile(r"(?i)(?<![\w])(password\s{0,8}=\s{0,8})('(?:[^'\\]|\\.){0,1024}'"
                           r"|\"(?:[^\"\\]|\\.){0,1024}\"|[^\s&'\",;)]{1,1024})")


def strip_url_passwords(text: str) -> str:
    """Credentials in URLs and DSNs lose their password (``postgresql://bob:pw@db`` becomes
    ``postgresql://bob:****@db``, ``password=pw`` becomes ``password=****``): the audit records
    connection strings users type, and messages name the connection.

    >>> strip_url_passwords("%%guarded_sql postgresql://bob:s3cr3t@db:5432/sales")
    '%%guarded_sql postgresql://bob:****@db:5432/sales'
    >>> strip_url_passwords("host=db password='a b' dbname=x; pg://db/x?password=s3&ssl=1")
    'host=db password=**** dbname=x; pg://db/x?password=****&ssl=1'
    """
    if "://" in text:
        text = _URL_PASSWORD.sub(r"\1:****@", text)
    if "assword" in text or "ASSWORD" in text:
        text = _KEY_PASSWORD.sub(r"\1****", text)
    return text


def mask_text(text: str, settings: MaskSettings) -> str:
    """Mask every detected value in free text (all enabled detectors)."""
    if not settings.active or not text:
        return text
    if len(text) < QUIET_MIN:
        return _mask_text(text, settings)
    with quiet():  # (no collection of the call's many short-lived objects: ``mask.quiet``)
        return _mask_text(text, settings)


QUIET_MIN = 1 << 14
"""Texts at least this long are masked with the garbage collector held back (``quiet``)."""


def _mask_text(text: str, settings: MaskSettings) -> str:
    norm = normalize(text)
    # known values found in the text (the kernel's finder finds none until a cell has read
    # sensitive columns): only without any do the detectors' spans alone decide
    known = [s for find in KNOWN for s in find(norm.text)] if KNOWN else []
    spans: list[Span] | None = None
    if len(text) >= ALONE_MIN and norm.text is text:
        masked = mask_mixed(text, settings, known=known)  # values of several kinds, in numpy
        if masked is None and not known:
            det = alone(text, settings.enabled)
            if det is not None and gate.clear(text, det):
                return text  # (look-alikes of one kind, none a value: ``gate``)
            masked = None if det is None else bulk.mask_alone(det, text, settings)
        if masked is not None:
            return masked
    elif len(text) >= ALONE_MIN:  # values found in the decoded text, put back on the text
        found = mixed.dense_values(norm.text, settings, known=known)
        if found is None and not known:  # one kind alone: its values from one split pass
            det = alone(norm.text, settings.enabled)
            if det is not None and gate.clear(norm.text, det):
                return text  # (look-alikes of one kind, none a value: ``gate``)
            # (a kind the numpy finders read was declined: few values there)
            if det is not None and det.name in shapes.FINDERS:
                det = None
            got = None if det is None else bulk.arrays(det, norm.text)
            if det is not None and got is not None:
                found = decoded.masked(norm.text, *got, None, [det.name], settings)
        found = None if found is None else decoded.mapped(text, norm, found)
        if found is not None:
            return mask_upto(text, found, len(text))
        raw = scan(norm.text, settings.enabled, distinct=False) + known  # (resolved as
        # arrays where many: exact copies of a span are dropped there, as by ``resolve``)
        found = decoded.from_raw(norm.text, raw, settings)
        found = None if found is None else decoded.mapped(text, norm, found)
        if found is not None:
            return mask_upto(text, found, len(text))
        spans = resolve(raw)
    if spans is None:
        norm, spans = _norm_spans(text, settings, norm, known)
    if not spans:
        return text
    if norm.text is text:
        return mask_spans(text, spans, settings)
    if len(spans) >= decoded.SPANS_MANY:  # put back as arrays
        found = decoded.from_spans(norm.text, spans, settings)
        found = None if found is None else decoded.mapped(text, norm, found)
        if found is not None:
            return mask_upto(text, found, len(text))
    out, pos = [], 0
    hows = {n: masker(settings.strategy_for(detector=n), settings.salt, n) for _, _, n in spans}
    for (a, b, name), (x, y, _) in zip(spans, norm.spans(spans)):
        if x < pos:  # two values in one decoded token: the first one's mask covers it
            continue
        out += [text[pos:x], hows[name](norm.text[a:b])]
        pos = y
    out.append(text[pos:])
    return "".join(out)


def dense_values(text: str, settings: MaskSettings) -> Values | None:
    """The values ``mask_text`` masks in a long text dense with them (known values too), as
    arrays (``mixed``; read decoded and put back on the text where it has entities, escapes or
    characters to fold, as ``mask_text`` does), or None where ``find_spans`` must find them (a
    short text, a kind or strategy the arrays do not cover)."""
    if not settings.active or len(text) < ALONE_MIN:
        return None
    norm: list[Normalized] = []

    def known() -> list[Span] | None:  # asked once the text is found dense (None soon if not)
        norm.append(normalize(text))
        if norm[0].text is not text:
            return None   # (text to normalise: read decoded below)
        return [s for find in KNOWN for s in find(text)]

    found = mixed.dense_values(text, settings, known=known)
    if found is not None or not norm or norm[0].text is text:
        return found
    decoded_text = norm[0].text   # its values are those of the decoded text, put back on it
    found = mixed.dense_values(decoded_text, settings,
                               known=[s for find in KNOWN for s in find(decoded_text)])
    return None if found is None else decoded.mapped(text, norm[0], found)


ALONE_MIN = 1 << 16
"""Texts at least this long (and needing no normalising) are first asked whether one kind of
value is alone and dense in them (a column printed whole): then its values are masked from one
``split`` pass (no spans to resolve, no offsets)."""


def mask_spans(text: str, spans: list[Span], settings: MaskSettings, end: int | None = None) -> str:
    """``text[:end]`` with the values at ``spans`` (from ``find_spans``; those ending by
    ``end``) masked."""
    end = len(text) if end is None else end
    if spans and spans[-1][1] > end:
        spans = [s for s in spans if s[1] <= end]
    if not spans:
        return text[:end]
    starts = [a for a, _, _ in spans]
    ends = [b for _, b, _ in spans]
    pieces: list[str] = [""] * (2 * len(spans) + 1)
    pieces[0:-1:2] = [text[p:a] for p, a in zip([0, *ends], starts)]  # the text between
    pieces[-1] = text[ends[-1]:end]
    pieces[1::2] = _masked(text, spans, settings)
    return "".join(pieces)


# Values these detectors find never hold an '@' nor surrounding spaces and are at least
# MIN_PARTIAL long, so ``partial_value`` of them is the mask and their last four characters.
_LAST4 = frozenset({"ssn", "phone", "card", "iban"})


def _masked(text: str, spans: list[Span], settings: MaskSettings) -> list[str]:
    """The masked form of each value (``mask_value``, with the strategy chosen once per kind)."""
    names = {name for _, _, name in spans}
    strategies = {n: settings.strategy_for(detector=n) for n in names}
    if set(strategies.values()) == {"partial"} and names <= _LAST4 | {"email"}:
        return [EMAIL_BLOCK + text[text.rfind("@", a, b):b] if name == "email"
                else BLOCK + text[b - KEEP:b] for a, b, name in spans]
    if set(strategies.values()) == {"hash"}:  # (a digest per distinct value, remembered)
        return hash_values(list(map(text.__getitem__, map(slice, *list(zip(*spans))[:2]))),
                           settings.salt)
    if len(names) == 1 and SPELT not in names:  # one kind: its masks in C where they allow
        return bulk.masked_values([text[a:b] for a, b, _ in spans], next(iter(names)), settings)
    hows = {n: masker(s, settings.salt, n) for n, s in strategies.items()}
    return [hows[name](text[a:b]) for a, b, name in spans]
