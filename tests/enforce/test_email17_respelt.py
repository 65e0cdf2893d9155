"""A fetched e-mail respelt by a user loop (issue 15, red team 16): another case, its '@' or dots
as words or symbols, its parts reordered, separators between its characters, fullwidth or
look-alike letters, backwards, rot13, encodings. Each is printed for two rows in a real guarded
kernel, and no message the kernel sent holds either value in a form that reads back to it
(``_recoverable``: the text folded as ``known_emails`` folds it, then each way a reader would
undo). The same spellings written to a file are refused. Benign twins: non-sensitive columns,
a user's own literal e-mail never fetched, counts per domain, print unchanged."""
from __future__ import annotations

import base64
import binascii
import codecs
import html
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from jupyter_guard.mask.text import MaskSettings, mask_text
from tests.conftest import make_warehouse, new_workspace
from tests.enforce.known_values import remembering
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

FETCH = ("import codecs, base64, urllib.parse\n"
         "es = [r[0] for r in con.execute('SELECT email FROM customers ORDER BY id').fetchall()]\n"
         "ss = [r[0] for r in con.execute('SELECT ssn FROM customers ORDER BY id').fetchall()]\n")
OPEN = pytest.mark.xfail(strict=True, reason="open: a respelling the guard does not read back")


@pytest.fixture(scope="module")
def k(work_root: Path) -> Iterator[Kernel]:
    d = new_workspace(work_root)
    make_warehouse(d / "wh.duckdb", rows=300)
    with guarded_kernel(d, connect=True) as kernel:
        kernel.ok(FETCH)
        yield kernel


def _recoverable(text: str, raws: list[str]) -> list[str]:
    """The ``raws`` a reader gets back from ``text``: the text decoded (URL, HTML entities,
    base64 runs), folded (NFKC, casefold, only letters and digits), looked at as read,
    backwards and in rot13; an e-mail counts by its local part (``user0``: the domain is
    everybody's)."""
    texts = [text, unquote(text), html.unescape(text)]
    for run in re.findall(r"[A-Za-z0-9+/]{8,}={0,2}", text):
        try:
            texts.append(base64.b64decode(run + "=" * (-len(run) % 4)).decode("latin-1"))
        except (binascii.Error, ValueError):
            pass
    folded = ["".join(c for c in unicodedata.normalize("NFKC", t).casefold().replace(
        "\u0435", "e").replace("\u043e", "o") if c.isalnum()) for t in texts]
    seen = "\n".join(folded + [f[::-1] for f in folded] + [codecs.encode(f, "rot13")
                                                             for f in folded])
    keys = [r.split("@")[0] if "@" in r else r.replace("-", "") for r in raws]
    return [r for r, key in zip(raws, keys) if re.search(rf"{key}(?!\d)", seen)]


EMAIL_SPELLINGS = [
    pytest.param("e.upper()", id="upper"),
    pytest.param("e.title()", id="title"),
    pytest.param("e.swapcase()", id="swapcase"),
    pytest.param("e.casefold()", id="casefold"),
    pytest.param("e.upper().replace('@', ' AT ')", id="upper-at-word"),
    pytest.param("e.replace('@', '[at]')", id="bracket-at"),
    pytest.param("e.replace('@', '(at)')", id="paren-at"),
    pytest.param("e.replace('@', ' at ')", id="at-word"),
    pytest.param("e.replace('@', '\\uff20')", id="fullwidth-at"),
    pytest.param("e.replace('@', '%40')", id="percent-at"),
    pytest.param("e.replace('@', '&#64;')", id="entity-at"),
    pytest.param("e.replace('@', ' at ').replace('.', ' dot ')", id="at-dot-words"),
    pytest.param("e.replace('.', '[dot]')", id="bracket-dot"),
    pytest.param("'@'.join(reversed(e.split('@')))", id="domain-first"),
    pytest.param("e.split('@')", id="parts-as-list"),
    pytest.param("' '.join(reversed(e.upper().split('@')))", id="domain-first-upper"),
    pytest.param("' '.join(e)", id="spaced"),
    pytest.param("'-'.join(e)", id="dashed"),
    pytest.param("' '.join(e.upper())", id="spaced-upper"),
    pytest.param("''.join(chr(ord(c) + 0xFEE0) for c in e)", id="fullwidth"),
    pytest.param("e.replace('e', '\\u0435').replace('o', '\\u043e')", id="cyrillic-lookalikes"),
    pytest.param("e[::-1]", id="reversed"),
    pytest.param("e[::-1].upper()", id="reversed-upper"),
    pytest.param("urllib.parse.quote(e)", id="url-quoted"),
    pytest.param("''.join(f'&#{ord(c)};' for c in e)", id="html-entities"),
    pytest.param("''.join(f'\\\\u{ord(c):04x}' for c in e)", id="unicode-escapes"),
    pytest.param("codecs.encode(e, 'rot13')", id="rot13"),
    pytest.param("codecs.encode(e, 'rot13').upper().replace('@', ' AT ')", id="rot13-upper-at"),
    pytest.param("base64.b64encode(e.encode()).decode()", id="base64"),
    pytest.param("e.split('@')[0].upper()", id="local-part-upper"),
]


@pytest.mark.parametrize("spell", EMAIL_SPELLINGS + [
    # other words for '@', letters interleaved: the local part alone (``user0``) is found
    pytest.param("e.replace('@', ' arroba ')", id="arroba"),
    pytest.param("e.replace('@', '(a)')", id="a-in-brackets"),
    pytest.param("''.join(c + 'x' for c in e)", id="letters-interleaved"),
    pytest.param("base64.b64encode(e.upper().encode()).decode()", id="base64-upper"),
])
def test_a_fetched_email_respelt_prints_no_raw_value(k: Kernel, spell: str) -> None:
    r = k.run(f"print('ANSWER', [{spell} for e in es[:2]])")
    assert "ANSWER" in r.stream, r.everything()
    assert _recoverable(r.everything(), ["user0@example.com", "user1@example.com"]) == [], \
        r.everything()


WRITTEN = ["e.upper().replace('@', ' AT ')", "'@'.join(reversed(e.split('@')))",
           "''.join(chr(ord(c) + 0xFEE0) for c in e)", "e[::-1].upper()", "'-'.join(e.upper())",
           "e.replace('@', '[at]').replace('.', '[dot]')"]


@pytest.mark.parametrize("spell", WRITTEN)
def test_a_fetched_email_respelt_is_not_written_to_a_file(k: Kernel, spell: str) -> None:
    r = k.run(f"open('respelt.txt', 'w').write('\\n'.join({spell} for e in es[:10]))\n"
              "print('WROTE')")
    assert "WROTE" not in r.stream and "[exfiltration]" in r.everything(), r.everything()


SSN_SPELLINGS = [
    pytest.param("''.join(chr(ord(c) + 0xFEE0) for c in s)", id="fullwidth-digits"),
    pytest.param("'-'.join(s)", id="dashed"),
    pytest.param("' '.join(s)", id="spaced"),
    pytest.param("s[::-1]", id="reversed"),
]


@pytest.mark.parametrize("spell", SSN_SPELLINGS)
def test_a_fetched_ssn_respelt_prints_no_raw_value(k: Kernel, spell: str) -> None:
    r = k.run(f"print('ANSWER', [{spell} for s in ss[5:7]])")
    assert "ANSWER" in r.stream, r.everything()
    assert _recoverable(r.everything(), ["100000005", "100000006"]) == [], r.everything()


@OPEN
@pytest.mark.parametrize("spell", [
    pytest.param("e.replace('@', ' arroba ')", id="arroba"),
    pytest.param("e.replace('@', '(a)')", id="a-in-brackets"),
])
def test_a_plain_word_local_part_respelt_otherwise_is_masked(spell: str) -> None:
    """A local part that is a plain word (``jane``) is not looked for alone (it would mask the
    word everywhere), so only the forms of the whole e-mail are: an '@' spelt as another word
    than ``at`` leaves the e-mail readable."""
    emails = ["jane@corp-mail.example", "omar@corp-mail.example"]
    with remembering(emails):
        printed = str([eval(spell, {"e": e}) for e in emails])
        masked = mask_text(printed, MaskSettings())
    assert "jane" not in masked and "omar" not in masked, masked


# --- benign twins: honest work prints unchanged once the e-mails are known ---------------

def test_non_sensitive_columns_print_unchanged(k: Kernel) -> None:
    r = k.ok("print(con.execute('SELECT id, city, amount FROM customers ORDER BY id LIMIT 4')"
             ".fetchall())")
    assert "[(0, 'Paris', Decimal('0.0')), (1, 'Lyon', Decimal('1.5')), (2, 'Nice', " \
        "Decimal('3.0')), (3, 'Paris', Decimal('4.5'))]" in r.stream, r.everything()


def test_a_users_own_email_never_fetched_prints_unchanged(k: Kernel) -> None:
    """Respelt as the tests above respell a fetched one (a literal e-mail itself is masked by
    the e-mail detector whoever wrote it)."""
    mine = ["ME.MYSELF AT MYCOMPANY DOT ORG", "me.myself[at]mycompany[dot]org",
            "MYCOMPANY.ORG ME.MYSELF", "gro ynapmocym flesym em", "m e . m y s e l f @ x . i o",
            "USER 0 EXAMPLE COM", "user0x AT other.org"]
    r = k.ok(f"print({mine!r})")
    assert str(mine) in r.stream, r.everything()


def test_counts_per_domain_print_unchanged(k: Kernel) -> None:
    r = k.ok("from collections import Counter\n"
             "print(Counter(e.split('@')[1].upper() for e in es), len(es))\n"
             "print(sorted({e.split('@')[1] for e in es}), 'USER 0 of 300')")
    assert "Counter({'EXAMPLE.COM': 300}) 300" in r.stream, r.everything()
    assert "['example.com'] USER 0 of 300" in r.stream, r.everything()


def test_a_name_like_the_local_part_prints_unchanged() -> None:
    """A local part of words (``jane.doe.smith``) is found alone in any case as one token, not
    as a name written with spaces (a name column is printed from other tables too)."""
    with remembering(["jane.doe.smith@corp-mail.example"]):
        settings = MaskSettings()
        assert mask_text("Jane Doe Smith, JANE DOE", settings) == "Jane Doe Smith, JANE DOE"
        assert "JANE" not in mask_text("JANE.DOE.SMITH", settings)


def test_the_check_reads_a_raw_value_back() -> None:
    """The twin of ``_recoverable``: it finds what the tests above must not see."""
    raws = ["user0@example.com", "100000005"]
    for text in ("USER0 AT EXAMPLE DOT COM", "moc.elpmaxe@0resu", "hfre0", "dXNlcjBAZXhh",
                 "u%73er0", "5 0 0 0 0 0 0 0 1"):
        assert _recoverable(text, raws), text
    assert _recoverable("user01, ex****@example.com, 100000050", raws) == []


@pytest.mark.parametrize("spell", ["e.upper().replace('@', ' AT ')",
                                   "'@'.join(reversed(e.split('@')))", "'-'.join(e.upper())"])
def test_a_fetched_email_respelt_in_a_frame_is_not_displayed_raw(k: Kernel, spell: str) -> None:
    """The same through a DataFrame's display (text/plain and text/html) and its repr."""
    r = k.run(f"import pandas as pd\nd = pd.DataFrame({{'x': [{spell} for e in es[:3]]}})\n"
              "display(d)\nd")
    assert "<table" in r.everything(), r.everything()
    assert _recoverable(r.everything(), ["user0@example.com", "user1@example.com"]) == [], \
        r.everything()
