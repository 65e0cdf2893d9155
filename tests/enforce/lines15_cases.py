"""lines15's cases for ``test_red15c_corpus`` (issue 15): known values printed one character a
line with other lines between them, past the hold or over two streams; an e-mail cut over three
lines (in writes, in one write, in a file); a frame of one character a row; numbers backwards
with a zero at an end, e-mails upper-cased, backwards in their local part, without their '@',
interleaved, as UTF-16 bytes; one or two numbers enciphered. Names as in ``red15c_cases``."""
from __future__ import annotations

from tests.enforce.red15c_cases import Case, Twin

FILES = [
    Case("email-three-lines-file", "e = E[40]\nwith open(OUT, 'w') as f:\n"
         "    f.write(e[:3] + '\\n' + e[3:9] + '\\n' + e[9:])", decode="lines"),
    Case("respelt-file", "with open(OUT, 'w') as f:\n"
         "    f.write(repr([s[::-1] for s in S[10:60:10]]) + repr([e.replace('@', '') "
         "for e in E[5:10]]) + ''.join(a + b for a, b in zip(S[41], S[42])))"),
    Case("frame-of-ssn-chars-html", "import pandas as pd\n"
         "pd.DataFrame({'c': list(S[43])}).to_html(OUT)", decode="lines"),
]

FILE_TWINS = [
    Twin("plain-lines15-file", "with open(OUT, 'w') as f:\n"
         "    f.write('som\\neone@ex\\nample.org\\n' + '010000245'[::-1] + ' '"
         " + ''.join(a + b for a, b in zip('1234567890', '0987654321')))",
         ("som\neone@ex\nample.org", "542000010", "10293847566574839201")),
]

WIRE = [
    Case("utf16-be-bytes-repr", "print(E[47].encode('utf-16-be'), E[48].encode('utf-16'))",
         decode="nul"),
    # one character a line, with lines between, past the hold, over streams (lines15)
    Case("digits-lines-between", "for c in S[32]:\n    print(c)\n    print('step')",
         decode="lines"),
    Case("digits-lines-bar-between", "for c in S[33]:\n    print(c)\n    print('|')",
         decode="lines"),
    Case("digits-past-64-lines", "print(*('x' * 70 + S[34]), sep='\\n')", decode="lines"),
    Case("digits-past-64-flushed", "for c in '1' * 70 + S[35]:\n    print(c, flush=True)",
         decode="lines"),
    Case("digits-over-two-streams", "import sys\nfor i, c in enumerate(S[36]):\n"
         "    print(c, file=sys.stderr if i % 2 else sys.stdout, flush=True)", decode="lines"),
    Case("email-three-writes", "e = E[37]\nprint(e[:3])\nprint(e[3:9])\nprint(e[9:])",
         decode="lines"),
    Case("email-three-lines-one-write", "e = E[38]\nprint(e[:3] + '\\n' + e[3:9] + '\\n' "
         "+ e[9:])", decode="lines"),
    Case("frame-of-ssn-chars", "import pandas as pd\npd.DataFrame({'c': list(S[39])})",
         decode="lines"),
    Case("frame-of-email-chars", "import pandas as pd\npd.DataFrame({'c': list(E[39])})",
         decode="lines"),
    # respelt values (lines15)
    Case("ssns-reversed-zero-ends", "print([s[::-1] for s in S[10:60:10]])"),
    Case("email-locals-reversed", "print([e.split('@')[0][::-1] + '@' + e.split('@')[1] "
         "for e in E[5:10]])"),
    Case("emails-upper", "print([e.upper() for e in E[10:15]])"),
    Case("emails-without-at", "print([e.replace('@', '') for e in E[15:20]])\n"
         "print([e.replace('@', ' at ') for e in E[20:25]])"),
    Case("emails-interleaved", "print(''.join(a + b for a, b in zip(E[26], E[27])))"),
    Case("ssns-interleaved", "print(''.join(a + b for a, b in zip(S[26], S[27])))"),
    Case("one-ssn-as-letters", "print(S[52].translate(str.maketrans('0123456789', "
         "'abcdefghij')))\nprint(S[51].translate(str.maketrans('0123456789', 'bcdefghija')))",
         decode="letters", leak="one number spelt in letters is no key: "
         "MIN_TOKENS (3) words must read as known numbers under one key"),
    Case("two-ssns-as-letters", "print(' '.join(s.translate(str.maketrans('0123456789', "
         "'jabcdefghi')) for s in S[53:55]))", decode="letters",
         leak="two numbers spelt in letters are no key (MIN_TOKENS is 3)"),
]

WIRE_TWINS = [
    Twin("plain-lines15", "for c in '2026':\n    print(c)\n    print('step')\n"
         "print(*('x' * 70 + 'Lyon'), sep='\\n')\nprint('PARIS-LYON', 'noyl@', "
         "''.join(a + b for a, b in zip('1234567890', '0987654321')), '010000245'[::-1])\n"
         "print('someone@exa')\nprint('mple.org')\nimport pandas as pd\n"
         "display(pd.DataFrame({'c': list('Paris-Lyon')}))",
         ("2026", "xxxxLyon", "PARIS-LYON",
          "10293847566574839201", "542000010", "someone@exa", "mple.org",
          "<td>L</td>")),
    # a progress counter on stderr beside results on stdout, one digit a line (streams15)
    Twin("progress-over-two-streams", "import sys\nfor i in range(10):\n"
         "    print(i, file=sys.stderr, flush=True)\n    print(i % 3, flush=i % 2)\n"
         "print('total', sum(range(10)))", ("0123456789", "0120120120", "total 45")),
]
