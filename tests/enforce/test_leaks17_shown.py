"""A known value spelt one character at a time over every channel a person sees (issue 15 item
2, leaks17): its characters alternate between ``print`` (stdout, stderr, the process's own
stdout, ``os.write(1, …)``, ``logging``) and displays of every kind (``display(c)``, Markdown,
HTML with tags or entities, LaTeX, a raw bundle, ``update_display``, with ``clear_output`` in
between), or end in an error. No channel alone holds the value; a reader joining every message
in order does. ``shown_order`` reads displays and errors in one order with the streams' lines:
the value leaves masked. Judged by effect: every message the kernel sent for the cell (every
text of every mimetype, tags, entities and quotes dropped), read joined in order and each two
channels taken in turn. Benign twins: one-character displays and prints that spell no known
value, and ordinary Markdown/HTML displays, show unchanged."""
from __future__ import annotations

import html
import json
import re
from itertools import zip_longest

import pytest

from tests.enforce.test_red15c_corpus import RAW, raw_in, run_wire
from tests.enforce.test_streams15_order import kernel  # noqa: F401  # the module's kernel, reused
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

TURN = "for i, c in enumerate({v}):\n    ({a}) if i % 2 else ({b})\n"
PRINT = "print(c, flush=True)"
LEAKS = {
    "display": ("", "display(c)", PRINT),
    "markdown": ("from IPython.display import Markdown\n", "display(Markdown(c))", PRINT),
    "markdown-bold": ("from IPython.display import Markdown\n",
                      "display(Markdown(f'**{c}**'))", PRINT),
    "html-tags": ("from IPython.display import HTML\n", "display(HTML(f'<p><b>{c}</b></p>'))",
                  PRINT),
    "html-entity": ("from IPython.display import HTML\n", "display(HTML(f'&#{ord(c)};'))", PRINT),
    "latex": ("from IPython.display import Latex\n", "display(Latex(f'${c}$'))", PRINT),
    "raw-bundle": ("", "display({'text/plain': c, 'text/html': f'<i>{c}</i>'}, raw=True)",
                   PRINT),
    "update-display": ("from IPython.display import update_display\n"
                       "display('.', display_id='d17')\n",
                       "update_display(c, display_id='d17')", PRINT),
    "clear-output": ("from IPython.display import clear_output\n",
                     "clear_output(), display(c)", "clear_output(), print(c)"),
    "stderr": ("import sys\n", "display(c)", "print(c, file=sys.stderr)"),
    "dunder-stdout": ("import sys\n", "display(c)",
                      "sys.__stdout__.write(c + '\\n'), sys.__stdout__.flush()"),
    "os-write": ("import os\n", "display(c)", "os.write(1, (c + '\\n').encode())"),
    "logging": ("import logging, sys\nlog = logging.getLogger('l17')\nlog.propagate = False\n"
                "h = logging.StreamHandler(sys.stderr)\nlog.addHandler(h)\n",
                "display(c)", "log.warning(c)"),
}
VALUES = {"ssn": "S[{n}]", "email": "E[{n}]"}


def _code(name: str, value: str, n: int) -> str:
    head, a, b = LEAKS[name]
    return head + TURN.format(v=VALUES[value].format(n=n), a=a, b=b)


_TAG = re.compile(r"<[^>]*>")


def _texts(content: dict) -> list[str]:
    """Every text a message carries for a person: stream text, every mimetype of a display,
    an error's value and traceback."""
    if "text" in content:
        return [content["text"]]
    data = content.get("data") or {}
    out = [v if isinstance(v, str) else json.dumps(v) for v in data.values()]
    return out + [str(content.get("evalue", ""))] + list(content.get("traceback") or [])


def _chars(text: str) -> list[str]:
    text = html.unescape(_TAG.sub("\n", text))
    lines = (ln.strip().strip("*$'\"").strip() for ln in text.split("\n"))
    return [ln for ln in lines if len(ln) == 1]


def leaked(wire: bytes) -> list[str]:
    """Raw values in any message, or in the one-character texts of every message read joined
    in order, or two channels' taken in turn (either first)."""
    seen = json.loads(wire.split(b"\n", 1)[0])
    chars: list[str] = []
    by: dict[str, list[str]] = {}
    for m in seen:
        if not isinstance(m, list) or m[0] in ("status", "execute_input"):
            continue
        channel = m[1].get("name", m[0]) if isinstance(m[1], dict) else m[0]
        for t in _texts(m[1] if isinstance(m[1], dict) else {}):
            ones = _chars(t)
            if ones:   # (the first text of a bundle that has one: mimetypes repeat it)
                chars += ones
                by.setdefault(channel, []).extend(ones)
                break
    texts = ["".join(chars)] + ["".join(a + b for a, b in zip_longest(x, y, fillvalue=""))
                                for x in by.values() for y in by.values() if x is not y]
    return raw_in([wire]) + [v for v in RAW if any(v in t for t in texts)]


CASES = [pytest.param(name, value, 30 + i, id=f"{name}-{value}")
         for i, name in enumerate(LEAKS) for value in VALUES]


@pytest.mark.parametrize(("name", "value", "n"), CASES)
def test_value_over_prints_and_displays_leaves_masked(kernel: Kernel,  # noqa: F811 - fixture
                                                      name: str, value: str,
                                                      n: int) -> None:
    ok, wire = run_wire(kernel, _code(name, value, n))
    assert ok, wire[:2000]
    assert not leaked(wire), f"{name}: {leaked(wire)[:3]}\n{wire[:3000]!r}"


def test_error_that_ends_a_value_is_masked(kernel: Kernel) -> None:  # noqa: F811 - fixture
    """All but the last digit printed one a line, the last one an error's value."""
    ok, wire = run_wire(kernel, "for c in S[50][:-1]:\n    print(c)\nraise ValueError(S[50][-1])")
    assert not ok
    assert not leaked(wire), f"{leaked(wire)[:3]}\n{wire[:3000]!r}"


BENIGN = ("from IPython.display import Markdown, HTML, update_display\n"
          "for i, c in enumerate('123456789'):\n"
          "    display(c) if i % 2 else print(c, flush=True)\n"
          "display(Markdown('**total**: 7')), display(HTML('<b>x</b>'))\n"
          "display('step 0', display_id='p17')\n"
          "for i in range(1, 4):\n    update_display(f'step {i}', display_id='p17')\n")


def test_benign_displays_and_prints_unchanged(kernel: Kernel) -> None:  # noqa: F811 - fixture
    ok, wire = run_wire(kernel, BENIGN)
    assert ok, wire[:2000]
    seen = [m for m in json.loads(wire.split(b"\n", 1)[0]) if isinstance(m, list)]
    out = "".join(m[1]["text"] for m in seen if m[0] == "stream")
    shown = [m[1]["data"] for m in seen if m[0] in ("display_data", "update_display_data")]
    assert out == "1\n3\n5\n7\n9\n", out
    assert [d.get("text/plain") for d in shown[:4]] == ["'2'", "'4'", "'6'", "'8'"], shown
    assert shown[4]["text/markdown"] == "**total**: 7" and shown[5]["text/html"] == "<b>x</b>"
    assert [d["text/plain"] for d in shown[6:]] == [f"'step {i}'" for i in range(4)], shown
    assert "\u2588" not in wire.decode()
