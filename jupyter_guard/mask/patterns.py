"""The detectors' regular expressions, written to run in time linear in their input.

Each ``precise`` pattern starts with a left boundary that rejects every position inside a run of
the characters its value is made of, so at most one attempt starts per run, and the runs
themselves are matched possessively (``++``, ``*+``: no backtracking into them). An attempt
therefore costs at most the length of its run, and runs do not overlap: one pass over the text.
Bounded parts (``\\d{3}``, ``{1,5}``) cost a constant per attempt.

Each ``candidate`` is the same shape without look-arounds or back-references: what a
linear-time engine (RE2) can run. It matches wherever the precise pattern does (and more);
candidates are then confirmed by the precise pattern on a short window.

Python before 3.11 has no possessive quantifiers: ``compile_precise`` drops them there (same
matches, but adversarial input may then backtrack).
"""
from __future__ import annotations

import re
import sys

POSSESSIVE = sys.version_info >= (3, 11)
_DROP_POSSESSIVE = re.compile(r"(?<=[+*}?])\+")

# Values are ASCII (digits, letters): ``\d`` and ``\w`` mean ASCII here, as they do in RE2.
FLAGS = re.ASCII

IBAN_LENGTHS = dict(  # noqa: C408 - country codes read best as keyword arguments
    AD=24, AE=23, AL=28, AT=20, AZ=28, BA=20, BE=16, BG=22, BH=22, BR=29, BY=28, CH=21, CR=22,
    CY=28, CZ=24, DE=22, DK=18, DO=28, EE=20, EG=29, ES=24, FI=18, FO=18, FR=27, GB=22, GE=22,
    GI=23, GL=18, GR=27, GT=28, HR=21, HU=28, IE=22, IL=23, IQ=23, IS=26, IT=27, JO=30, KW=30,
    KZ=20, LB=28, LC=32, LI=21, LT=20, LU=20, LV=21, MC=27, MD=24, ME=22, MK=19, MR=27, MT=31,
    MU=30, NL=18, NO=15, PK=24, PL=28, PS=29, PT=25, QA=29, RO=24, RS=22, SA=24, SC=31, SE=24,
    SI=19, SK=24, SM=27, ST=25, SV=28, TL=23, TN=24, TR=26, UA=29, VA=22, VG=24, XK=20,
)
"""Length of an IBAN by country; an IBAN starts with one of these codes (the pattern says so,
so runs of other capitals and digits cost no validation: ``AB12 AB12 …``)."""
_IBAN_CC = "(?:" + "|".join(IBAN_LENGTHS) + ")"

CARD_START = (r"(?:4\d{3}|5[1-5]\d\d|2(?:2[2-9]|[3-6]\d|7[01])\d|2720|3[47]\d\d"
              r"|3(?:0[0-5]|[68]\d)\d|6(?:011|5\d\d|4[4-9]\d|2\d\d)|35(?:2[89]|[3-8]\d))")
"""The first four digits of a card number of a known network (the card validator's prefixes,
written out to four digits: a test checks all 10,000): ordinary numbers side by side
(``123456 789012 …``) are then no card candidates."""

_EMAIL_B = r"(?<![\w@.+%-])"  # not inside a word, address or number
_E = r"(?![\w@-]|\.\w)"  # right boundary: a trailing full stop is fine
_SSN_WORDS = r"(?i:ssn|social[ _-]?security(?:[ _-]?(?:number|no))?)"
SSN_KEYED = (r"(?<![A-Za-z])" + _SSN_WORDS
             + r"[^\w\n]{0,4}+(?:is[^\w\n]{1,3}+)?(?P<v>\d{9})(?!\w)")
"""The SSN pattern's key-word alternative (``ssn: 123456789``): its match starts with the word."""
_SSN_SHAPE = r"(?<![\w-])(?!000)\d{3}(?P<sep>[- ])(?!00)\d{2}(?P=sep)(?!0000)\d{4}(?![\w-])"

SECRET_KEYS = r"(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|auth)"
"""The key words a ``key=value`` secret is named by (``password=…``, ``api-key: …``)."""

PRECISE: dict[str, str] = {
    "email": _EMAIL_B + r"[A-Za-z0-9._%+-]++@[A-Za-z0-9-]++(?:\.[A-Za-z0-9-]++)*\.[A-Za-z]{2,}+"
    + _E,
    # area 666 and 9xx (ITINs) are not issued as SSNs but are still somebody's number
    "ssn": _SSN_SHAPE + "|" + SSN_KEYED,
    "card": r"(?<![\w.,-])(?:\d{4}(?P<s1>[ -]?)\d{4}(?P=s1)\d{4}(?P=s1)\d{1,7}"
    r"|\d{4}(?P<s2>[ -])\d{6}(?P=s2)\d{4,5})(?![\w-]|[.,]\d)",
    "phone": r"(?<![\w.+/:-])(?:\+\d{1,3}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{1,5}){1,5}"
    r"|(?:\(\d{3}\) ?|\d{3}[-. ])\d{3}[-. ]\d{4})(?![\w/:-]|[.,]\d)",
    "iban": r"(?<![\w-])(?=" + _IBAN_CC + r")[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}"
    r"(?: ?[A-Z0-9]{1,3})?(?![\w-])",
    "ipv4": r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}"
    r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w]|\.\d)",
    "ipv6": r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:.])",
    "secret": r"(?i:(?<![\w])" + SECRET_KEYS +
    r"[\"']?\s*+[:=]\s*+[\"']?(?P<v>[^\s\"',;]{4,4096}+))"
    r"|(?<![\w/+-])(?:sk-(?:proj-)?[A-Za-z0-9_-]{20,4096}+"
    r"|sk_live_\w{16,4096}+|rk_live_\w{16,4096}+"
    r"|gh[pousr]_[A-Za-z0-9]{30,4096}+|github_pat_\w{40,4096}+|glpat-[\w-]{20}"
    r"|xox[bpars]-[A-Za-z0-9-]{10,4096}+|(?:AKIA|ASIA)[0-9A-Z]{16}|AIza[\w-]{35}"
    r"|eyJ[\w-]{5,4096}+\.eyJ[\w-]{5,4096}+\.[\w-]{5,4096}+"
    r"|-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----[^-]*+-----END [A-Z ]{0,40}PRIVATE KEY-----"
    r"|[A-Za-z0-9_-]{32,4096}+|[A-Za-z0-9+/]{40,4096}+={0,2}+)(?![\w/+=-])",
}

SECRET_LEAD = "pPsStTaArgxe-"
"""The first characters of ``PRECISE["secret"]``'s key words (either case: the case-insensitive
part is ASCII only under ``FLAGS``) and of its prefixed keys."""
SECRET_RUN = ("[A-Za-z0-9_+/-]", 32)
"""Its bare tokens: at least this many of these characters (32 of ``[A-Za-z0-9_-]``, 40 of
``[A-Za-z0-9+/]``)."""
SECRET_FIRST = f"[{SECRET_LEAD}]|{SECRET_RUN[0]}{{{SECRET_RUN[1]}}}"
"""What every alternative of the secret pattern starts with (a test checks each): one of
``SECRET_LEAD``, or a run of ``SECRET_RUN``. Most digits and letters in text start neither."""

_BARE_TOKENS = r"|[A-Za-z0-9_-]{32,}|[A-Za-z0-9+/]{40,}={0,2}"
CANDIDATE: dict[str, str] = {
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    "ssn": r"\d{3}[- ]\d{2}[- ]\d{4}|" + _SSN_WORDS + r"[^\w\n]{0,4}(?:is[^\w\n]{1,3})?\d{9}",
    "card": CARD_START + r"(?:[ -]?\d{4}[ -]?\d{4}[ -]?\d{1,7}|[ -]\d{6}[ -]\d{4,5})",
    "phone": r"\+\d{1,3}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{1,5}){1,5}"
    r"|(?:\(\d{3}\) ?|\d{3}[-. ])\d{3}[-. ]\d{4}",
    "iban": _IBAN_CC + r"\d{2}(?: ?[A-Z0-9]{4}){2,7}",
    "ipv4": r"(?:\d{1,3}\.){3}\d{1,3}",
    "ipv6": r"(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}",
    "secret": r"(?i:" + SECRET_KEYS[3:-1] + ")"
    r"[\"']?\s*[:=]\s*[\"']?[^\s\"',;]{4,}"
    r"|sk-(?:proj-)?[A-Za-z0-9_-]{20,}|sk_live_\w{16,}|rk_live_\w{16,}|gh[pousr]_[A-Za-z0-9]{30,}"
    r"|github_pat_\w{40,}|glpat-[\w-]{20}|xox[bpars]-[A-Za-z0-9-]{10,}|(?:AKIA|ASIA)[0-9A-Z]{16}"
    r"|AIza[\w-]{35}|eyJ[\w-]{5,}\.eyJ[\w-]{5,}\.[\w-]{5,}"
    r"|-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----[^-]*-----END [A-Z ]{0,40}PRIVATE KEY-----"
    + _BARE_TOKENS,
}
"""Each matches wherever ``PRECISE`` does, at the same start and (greedy like it) to the same end,
so a short window past a candidate's end lets the precise pattern confirm it."""

PREFILTER: dict[str, str] = {
    # a card starts a number (the precise pattern's left boundary) with 2-6 (every network's)
    "card": r"(?:^|[^\w.,-])[2-6]\d{3}(?:[ -]?\d{4}[ -]?\d{4}[ -]?\d|[ -]\d{6}[ -]\d{4})",
    "iban": r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2}",
    # an address its validator accepts has '::' or eight groups (the pattern's right boundary
    # leaves out embedded IPv4): clock times ('10:30:00') are no candidates
    "ipv6": r"::|(?:[0-9A-Fa-f]{0,4}:){7}",
    # the two bare-token runs as one (two counted runs of overlapping classes multiply the
    # set's automaton states: text dense with base64 was read three times slower)
    "secret": CANDIDATE["secret"].replace(_BARE_TOKENS, r"|[A-Za-z0-9_+/-]{32}"),
}
"""Looser shapes for the one-pass set that picks the chunks to confirm (each matches wherever
its ``CANDIDATE`` does): the prefix alternations make the combined automaton slower."""

LEAN: dict[str, tuple[str, tuple[str, ...]]] = {
    "ssn": ("(?:" + _SSN_SHAPE + r")(?P<v>(?!))?", ("ssn", "social")),
}
"""Detectors whose precise pattern has an alternative that starts with a key word: the same
pattern without it (the value group kept as an optional group that never matches: no
top-level alternation, which ``re`` scans much more slowly), and the words, in lower case, that
alternative needs. Text whose lower-cased form holds none of the words is scanned by the lean
pattern: the same matches, and the costly case-insensitive alternative is not tried at every
position (a third of the time on text dense with SSNs)."""

VALUE_GROUP: dict[str, str] = {"ssn": "v", "secret": "v"}
"""Detectors whose match names a value group: a key word (``ssn:``, ``password=``) tells the
kind, so the value in that group is masked without a validator."""

MAX_VALUE = 4096
"""Longest value: runs longer than this are data (a base64 image), not keys, and are not
matched; a confirming window reaches this far past its chunk."""


def compile_precise(pattern: str) -> re.Pattern[str]:
    """Compile a ``PRECISE`` pattern (possessive quantifiers dropped where unsupported)."""
    return re.compile(pattern if POSSESSIVE else _DROP_POSSESSIVE.sub("", pattern), FLAGS)
