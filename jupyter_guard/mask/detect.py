"""Value detectors for sensitive data: precompiled, pure (stdlib; pandas only for Series input).

Each detector finds spans in free text (``find``) and scores a column on a sample of its
values (``column_matches``). Validators (Luhn, mod-97, IP parsing, entropy) run only on
regex candidates, so plain data costs one regex scan.

>>> list(DETECTORS["card"].find("pay 4111 1111 1111 1111 now"))
[(4, 23)]
>>> import pandas as pd
>>> DETECTORS["card"].column_matches(pd.Series(["4111111111111111", "order 12"]))
0.5
"""
from __future__ import annotations

import fnmatch
import functools
import ipaddress
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice, pairwise
from typing import TYPE_CHECKING, Any

from .patterns import CANDIDATE, LEAN, PRECISE, VALUE_GROUP, compile_precise
from .patterns import IBAN_LENGTHS as _IBAN_LENGTHS

if TYPE_CHECKING:
    import pandas as pd

SAMPLE_SIZE = 200
"""How many non-null values of a column ``column_matches`` looks at."""


_DOUBLED = str.maketrans("0123456789", "0246813579")
"""Each digit as Luhn counts it in a doubled place (2d, less 9 when that has two digits)."""


def luhn_ok(digits: str) -> bool:
    """Luhn checksum of an ASCII digit string. ``luhn_ok("4111111111111111")`` is True.

    Every second digit from the right is doubled (through a table); the digits are summed as
    bytes, in C (text dense with card numbers validates one per value).
    """
    kept, doubled = digits[-1::-2], digits[-2::-2].translate(_DOUBLED)
    return (sum(kept.encode()) + sum(doubled.encode()) - 48 * len(digits)) % 10 == 0


_CARD_PREFIX = re.compile(
    r"4|5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)|3[47]|3(?:0[0-5]|[68])|6(?:011|5|4[4-9]|2)|35(?:2[89]|[3-8])"
)


def _card_ok(text: str) -> bool:
    digits = text.replace(" ", "").replace("-", "")
    return 13 <= len(digits) <= 19 and _CARD_PREFIX.match(digits) is not None and luhn_ok(digits)




def _iban_ok(text: str) -> bool:
    iban = text.replace(" ", "").upper()
    if _IBAN_LENGTHS.get(iban[:2]) != len(iban):
        return False
    moved = iban[4:] + iban[:4]
    return int(moved.translate(_IBAN_DIGITS)) % 97 == 1


_IBAN_DIGITS = {ord(c): str(int(c, 36)) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
"""Letters as the numbers mod-97 reads them (A = 10 … Z = 35); digits stay."""


def _phone_ok(text: str) -> bool:
    if not text.startswith("+"):   # the US form: three, three and four digits, always ten
        return True
    return 8 <= sum(map(str.isdigit, text)) <= 15


def _ipv6_ok(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return sum(c.isalnum() for c in text) >= 4


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    n = len(text)
    return -sum(k / n * math.log2(k / n) for k in Counter(text).values()) if n else 0.0


_KEY_PREFIX = re.compile(
    r"sk-|sk_live_|rk_live_|gh[pousr]_|github_pat_|glpat-|xox[bpars]-|AKIA|ASIA|AIza|eyJ|-----BEGIN"
)


def _secret_ok(text: str) -> bool:
    """Prefixed keys pass; bare tokens need 2+ lower, upper and digits and high entropy."""
    if _KEY_PREFIX.match(text):
        return True
    if text.islower() or text.isupper() or text.isalpha():   # one case, or no digit (a UUID,
        return False                                         # a digest): in C, before counting
    counts = (sum(map(str.islower, text)), sum(map(str.isupper, text)))
    digits = sum(map(str.isdigit, text))
    if min(*counts, digits) < 2:
        return False
    kinds = [c.islower() - c.isupper() for c in text]  # 1 lower, -1 upper, 0 other
    switches = sum(a != b for a, b in pairwise(kinds))
    if switches < 0.4 * len(text) or len(re.findall(r"\d+", text)) < 3:
        return False  # CamelCase words switch case rarely and keep digits together
    return entropy(text) >= (4.5 if "/" in text else 4.2)


@dataclass(frozen=True)
class Detector:
    """One kind of sensitive value: a candidate regex plus an optional validator."""

    name: str
    pattern: re.Pattern[str]
    validate: Callable[[str], bool] | None = None
    group: str | None = None  # the group holding the value when a key word names the kind
    candidate: str = ""  # the same shape for a linear-time engine (see ``patterns``)
    lean: re.Pattern[str] | None = None  # without its key-word alternative (see ``LEAN``)
    words: tuple[str, ...] = ()  # what that alternative needs, lower case
    full: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        full = re.compile(rf"\s*(?:{self.pattern.pattern})\s*", self.pattern.flags)
        object.__setattr__(self, "full", full)

    def find(self, text: str) -> Iterator[tuple[int, int]]:
        """Spans ``(start, end)`` of validated values in ``text``."""
        yield from self.find_in(text, 0, len(text))

    def find_at(self, text: str, pos: int, endpos: int) -> Iterator[tuple[int, int]]:
        """The value starting at ``pos``, if any (``find_in`` anchored at ``pos``)."""
        m = self.pattern.match(text, pos, endpos)
        if m is None:
            return
        if self.group and m.group(self.group) is not None:
            yield m.span(self.group)
        elif self.validate is None or self.validate(m.group()):
            yield m.span()

    def find_in(self, text: str, pos: int, endpos: int) -> Iterator[tuple[int, int]]:
        """``find`` on ``text[pos:endpos]`` (look-behinds still see what comes before ``pos``)."""
        for _, a, b in self.matches_in(text, pos, endpos):
            yield a, b

    def matches_in(self, text: str, pos: int, endpos: int) -> Iterator[tuple[int, int, int]]:
        """``(match start, value start, value end)`` of each validated value in the range."""
        search = self.pattern.search
        m = search(text, pos, endpos)
        while m is not None:
            if self.group and m.group(self.group) is not None:
                yield (m.start(), *m.span(self.group))  # key=value: the key name says it
            elif self.validate is None or self.validate(m.group()):
                yield (m.start(), *m.span())
            else:  # rejected: a value may still start inside it ('1111 … 4111 1111 …')
                m = search(text, m.start() + 1, endpos)
                continue
            m = search(text, max(m.end(), m.start() + 1), endpos)

    def spans_in(self, text: str, pos: int, endpos: int) -> list[tuple[int, int]]:
        """``find_in`` as a list, for text dense with values: one ``finditer`` pass in C while
        every match is accepted; from the first rejected one on, ``matches_in`` goes on (it
        searches again one character later, as ``find_in`` does), so the spans are the same.
        Where none of its key words occur, the lean pattern makes that pass."""
        pattern = self.pattern
        if self.lean is not None:
            lower = text[max(pos - 1, 0):endpos].lower()
            if not any(w in lower for w in self.words):
                pattern = self.lean
        it = pattern.finditer(text, pos, endpos)
        if self.validate is None and self.group is None:
            return [m.span() for m in it]
        out: list[tuple[int, int]] = []
        add, group, ok = out.append, self.group, self.validate
        for m in it:
            if group and m.group(group) is not None:
                add(m.span(group))
            elif ok is None or ok(m.group()):
                add(m.span())
            else:
                out += [(a, b) for _, a, b in self.matches_in(text, m.start() + 1, endpos)]
                break
        return out

    def matches(self, value: str) -> bool:
        """Whether the whole value (surrounding spaces aside) is one detected value."""
        if self.full.fullmatch(value) is None:
            return False
        return self.validate is None or any(True for _ in self.find(value))

    def count_matches(self, values: Iterable[str]) -> int:
        """How many of ``values`` match (the regex pass in C, ``matches`` only on candidates)."""
        return sum(map(self.matches, filter(self.full.fullmatch, values)))

    def column_matches(self, series: pd.Series) -> float:
        """Fraction of a sample (first ``SAMPLE_SIZE`` non-null values) that fully matches."""
        sample = sample_strings(series)
        if not sample:
            return 0.0
        return sum(map(self.matches, sample)) / len(sample)


def sample_strings(series: pd.Series | Any, size: int = SAMPLE_SIZE) -> list[str]:
    """First ``size`` non-null values as strings; floats, bools and datetimes give none.

    ``series`` may also be a column's array (``series.array``): the same values, no Series built.
    """
    kind = series.dtype.kind
    if kind in "fcbmMT":
        return []
    import numpy as np
    import pandas as pd  # a column exists, so pandas is loaded

    values_ = series._values if isinstance(series, pd.Series) else series
    if kind in "iu" and isinstance(values_, np.ndarray):  # numpy integers: nothing missing to skip
        values = list(map(str, values_[:size].tolist()))
    else:
        head: list[Any] = values_[: size * 2].tolist()  # ``series.iloc[:n].tolist()``, faster
        if set(map(type, head)) == _STR_ONLY:   # only str (no missing value): taken as they are
            return head[:size]   # (fewer than ``size`` only when the column is that short)
        na = pd.NA
        kept = (v if isinstance(v, str) else str(v) for v in head
                if not (v is None or v is na or (isinstance(v, float) and v != v)))
        values = list(islice(kept, size))
    if len(values) < size and len(series) > size * 2:  # sparse column: look further
        values += sample_strings(_rest(series, values_, size).dropna(), size - len(values))
    return values


_STR_ONLY = {str}


def _rest(series: Any, values_: Any, size: int) -> Any:
    """The values after the first ``2 * size`` (a sparse column is sampled further)."""
    import pandas as pd

    if isinstance(series, pd.Series):
        return series.iloc[size * 2:]
    return pd.Series(values_[size * 2:])


def _detector(name: str, validate: Callable[[str], bool] | None = None) -> Detector:
    lean, words = LEAN.get(name, (None, ()))
    return Detector(name, compile_precise(PRECISE[name]), validate, VALUE_GROUP.get(name),
                    CANDIDATE[name], None if lean is None else compile_precise(lean), words)


DETECTORS: dict[str, Detector] = {
    d.name: d
    for d in (
        _detector("email"), _detector("ssn"), _detector("card", _card_ok),
        _detector("phone", _phone_ok), _detector("iban", _iban_ok), _detector("ipv4"),
        _detector("ipv6", _ipv6_ok), _detector("secret", _secret_ok),
    )
}

DEFAULT_DETECTORS: tuple[str, ...] = ("email", "ssn", "card", "phone", "iban", "secret")


def get_detectors(names: Iterable[str]) -> tuple[Detector, ...]:
    """Detectors by name; an unknown name raises ``KeyError`` naming the known ones."""
    try:
        return tuple(DETECTORS[n] for n in names)
    except KeyError as exc:
        raise KeyError(f"unknown detector {exc.args[0]!r}; known: {', '.join(DETECTORS)}") from None


@functools.lru_cache(maxsize=64)
def _glob_regex(globs: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(fnmatch.translate(g.lower()) for g in globs) or "(?!)")


def name_matches(name: object, globs: Iterable[str]) -> bool:
    """Case-insensitive glob match of a column name: ``name_matches("Email_2", ["*email*"])``."""
    text = "_".join(map(str, name)) if isinstance(name, tuple) else str(name)
    return _glob_regex(tuple(globs)).match(text.lower()) is not None
