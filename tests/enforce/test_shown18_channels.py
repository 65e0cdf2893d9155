"""A known SSN or e-mail sent out a few characters at a time over the channels the guard did not
join up (issue 15, red team 17 "Displays"): chunks of two or three characters a line, a list of
characters in ``application/json``, one character per ``Javascript``/``HTML``/``Markdown``
display or ``publish_display_data``, the value in display ``metadata``, ``update_display`` of one
display id, ``clear_output(wait=True)`` between displays, a dict of index -> character on one
line, per-character ``warnings.warn`` padded against de-duplication, a pandas Series of
characters. ``kernel.sent_pieces`` reads every iopub message of a cell as one joined stream:
the messages that spell a known value leave masked.

Judged by effect: every message the kernel sent for the cell (iopub and the shell reply) is read
as a reader would (every text of every mimetype, metadata, transient, tags and entities dropped,
the short tokens of each message joined in order, every other one, a warning's text), for the
raw value and its digits-only form. Benign twins: masked values, a spinner, a progress bar,
JSON of ordinary data, warnings with ordinary text, digits that spell no known value.
"""
from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.enforce.test_red15c_corpus import SETUP, run_wire
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel

SSNS = [f"{100000000 + n:09d}" for n in range(60)]
EMAILS = [f"user{n}@example.com" for n in range(60)]

LEAKS = {
    "print-chunks-2": "for i in range(0, len(v), 2):\n    print(v[i:i + 2])",
    "print-chunks-4": "for i in range(0, len(v), 4):\n    print(v[i:i + 4])",
    "print-chunks-3-flushed": "for i in range(0, len(v), 3):\n    print(v[i:i + 3], flush=True)",
    "display-chunks-3": "for i in range(0, len(v), 3):\n    display(v[i:i + 3])",
    "json-list": "display({'application/json': list(v)}, raw=True)",
    "javascript": "from IPython.display import Javascript\nfor c in v:\n"
                  "    display(Javascript(c))",
    "html": "from IPython.display import HTML\nfor c in v:\n    display(HTML(c))",
    "markdown": "from IPython.display import Markdown\nfor c in v:\n    display(Markdown(c))",
    "publish": "from IPython.display import publish_display_data\nfor c in v:\n"
               "    publish_display_data({'text/plain': c})",
    "metadata": "display('x', metadata={'x': v})",
    "metadata-chars": "for c in v:\n    display('x', metadata={'k': c})",
    "update-display": "from IPython.display import update_display\n"
                      "display('.', display_id='u18')\nfor c in v:\n"
                      "    update_display(c, display_id='u18')",
    "clear-wait": "from IPython.display import clear_output\nfor c in v:\n"
                  "    clear_output(wait=True)\n    display(c)",
    "dict-index": "print({i: c for i, c in enumerate(v)})",
    "warnings": "import warnings\nfor i, c in enumerate(v):\n    warnings.warn(c + ' ' * i)",
    "print-end-unflushed": "for c in v:\n    print(c, end='')",
    "series": "import pandas as pd\ndisplay(pd.Series(list(v)))",
    "result-list": "list(v)",
    "print-label": "for c in v:\n    print('char', c)",
    "error-spaced": "raise ValueError(' '.join(v))",
    "stdout-write-chunks": "import sys\nfor i in range(0, len(v), 2):\n"
                           "    sys.stdout.write(v[i:i + 2] + '\\n'); sys.stdout.flush()",
    "print-and-display-chunks": "for i in range(0, len(v), 2):\n"
                                "    (display if i % 4 else print)(v[i:i + 2])",
    "display-markdown-fn": "from IPython.display import display_markdown\nfor c in v:\n"
                           "    display_markdown(c, raw=True)",
    "html-span": "from IPython.display import HTML\nfor c in v:\n"
                 "    display(HTML(f'<span style=\"x\">{c}</span>'))",
    "stderr-chunks": "import sys\nfor i in range(0, len(v), 3):\n"
                     "    print(v[i:i + 3], file=sys.stderr, flush=True)",
    "foreign-parents": "import sys\np = sys.stdout.parent_header\n"
                       "for i in range(0, len(v), 2):\n"
                       "    sys.stdout.set_parent({'header': {'msg_id': f'x{i}', 'msg_type':"
                       " 'execute_request'}} if i % 4 else p)\n"
                       "    print(v[i:i + 2], flush=True)\nsys.stdout.set_parent(p)",
    "frame-chunks": "import pandas as pd\n"
                    "display(pd.DataFrame({'c': [v[i:i + 2] for i in range(0, len(v), 2)]}))",
    "list-of-chunks": "print([v[i:i + 3] for i in range(0, len(v), 3)])",
    "logging-chunks": "import logging, sys\nlog = logging.getLogger('s18')\n"
                      "log.propagate = False\nlog.addHandler(logging.StreamHandler(sys.stderr))\n"
                      "for i in range(0, len(v), 2):\n    log.warning(v[i:i + 2])",
    "json-chars": "import json\nfor c in v:\n"
                  "    display({'application/json': {'c': c}}, raw=True)",
}
SOME_FAIL = ("error-spaced", "html", "javascript", "markdown")
"""Cases that may raise (``HTML('.')`` reads a file named ``.``): their pieces sent before count."""
VALUES = {"ssn": ("S", SSNS), "email": ("E", EMAILS)}


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    with guarded_kernel(tmp_path_factory.mktemp("shown18"), warehouse=200,
                        connect=True) as k:
        k.ok(SETUP)
        yield k


# ---- the reader ----

_TAG = re.compile(r"<[^>]*>")
_TOKEN = re.compile(r"[^\s'\",:;\[\]{}()<>=|`*$\\^~]+")
_WARNED = re.compile(r"Warning: (\S+)")


def _strings(x: Any) -> Iterator[str]:
    if isinstance(x, str):
        yield x
    elif isinstance(x, dict):
        for k, v in x.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(x, (list, tuple)):
        for v in x:
            yield from _strings(v)
    elif x is not None:
        yield str(x)


def _messages(wire: bytes) -> list[list[Any]]:
    seen = json.loads(wire.split(b"\n", 1)[0])
    return [m for m in seen if isinstance(m, list) and m[0] not in ("status", "execute_input")]


def readings(wire: bytes) -> list[str]:
    """What a reader joins: every message's short tokens (each text of it on its own), in
    order; every other one of them; each warning's text; all the wire as it is."""
    first: list[str] = []
    last: list[str] = []
    warned: list[str] = []
    for kind, content, meta in _messages(wire):
        texts = [html.unescape(_TAG.sub(" ", t)) for t in _strings([content, meta])]
        pieces = [tokens for tokens in map(_TOKEN.findall, texts)
                  if tokens and all(len(tok) <= 4 for tok in tokens)]
        if pieces:   # (a bundle's first text of pieces, and its last: metadata)
            first += pieces[0]
            last += pieces[-1]
        warned += _WARNED.findall(" ".join(texts)) if kind == "stream" else []
    joined = [j for short in (first, last)
              for j in ("".join(short), "".join(short[0::2]), "".join(short[1::2]))]
    return [*joined, "".join(warned), wire.decode("utf-8", "replace")]


def leaked(wire: bytes, value: str) -> bool:
    digits = re.sub(r"\D", "", value)
    for text in readings(wire):
        if value in text or (value.isdigit() and digits in re.sub(r"\D", "", text)):
            return True
    return False


CASES = [pytest.param(name, value, 10 + i, id=f"{name}-{value}")
         for i, name in enumerate(LEAKS) for value in VALUES]


@pytest.mark.parametrize(("name", "value", "n"), CASES)
def test_value_in_pieces_over_iopub_leaves_masked(kernel: Kernel, name: str, value: str,
                                                  n: int) -> None:
    var, values = VALUES[value]
    ok, wire = run_wire(kernel, f"v = {var}[{n}]\n" + LEAKS[name])
    assert ok or name in SOME_FAIL, wire[:2000]
    assert not leaked(wire, values[n]), f"{name}: {values[n]}\n{wire[:4000]!r}"


# ---- benign twins ----

def _sent(wire: bytes) -> list[list[Any]]:
    return _messages(wire)


def _stream(wire: bytes, name: str = "stdout") -> str:
    return "".join(c["text"] for k, c, _ in _sent(wire) if k == "stream" and c["name"] == name)


def test_masked_value_prints_masked(kernel: Kernel) -> None:
    ok, wire = run_wire(kernel, "print(S[1]); print(E[1])")
    assert ok and not leaked(wire, SSNS[1]) and not leaked(wire, EMAILS[1])
    assert "\u2588" in _stream(wire)


def test_spinner_and_progress_show_unchanged(kernel: Kernel) -> None:
    ok, wire = run_wire(kernel, "for _ in range(100):\n    print('.', end='', flush=True)\n"
                                "print()\nfor i in range(20):\n    print(i)")
    assert ok, wire[:2000]
    assert _stream(wire) == "." * 100 + "\n" + "".join(f"{i}\n" for i in range(20))


def test_digits_of_no_known_value_unchanged(kernel: Kernel) -> None:
    """Digits that begin a known SSN (``100000…``) are held, then shown: the run goes on
    otherwise, or the cell ends."""
    ok, wire = run_wire(kernel, "for i in range(0, 9, 3):\n    print('123456789'[i:i + 3])\n"
                                "for c in '1000123':\n    print(c)\nprint('10')\n"
                                "for c in '987654321':\n    display(c)")
    assert ok, wire[:2000]
    assert _stream(wire) == "123\n456\n789\n1\n0\n0\n0\n1\n2\n3\n10\n"
    shown = [c["data"]["text/plain"] for k, c, _ in _sent(wire) if k == "display_data"]
    assert shown == [repr(c) for c in "987654321"]


def test_held_output_keeps_its_order(kernel: Kernel) -> None:
    """A piece that may begin a known value is held with what follows: all leave in order."""
    ok, wire = run_wire(kernel, "print('10', flush=True)\ndisplay('a longer text')\n"
                                "print('100', flush=True)\ndisplay('1')\nprint('done')")
    assert ok, wire[:2000]
    seen = [(c.get("text") or c["data"]["text/plain"]) for k, c, _ in _sent(wire)
            if k in ("stream", "display_data")]
    assert "".join(seen) == "10\n'a longer text'100\n'1'done\n", seen


def test_json_of_ordinary_data_unchanged(kernel: Kernel) -> None:
    ok, wire = run_wire(kernel, "display({'application/json': {'a': [1, 2, 3], 'b': list('xyz')}},"
                                " raw=True, metadata={'k': 'v'})")
    assert ok, wire[:2000]
    (msg,) = [c for k, c, _ in _sent(wire) if k == "display_data"]
    assert msg["data"]["application/json"] == {"a": [1, 2, 3], "b": ["x", "y", "z"]}
    assert msg["metadata"] == {"k": "v"}


def test_progress_bar_updates_all_arrive(kernel: Kernel) -> None:
    ok, wire = run_wire(kernel, "from IPython.display import update_display\n"
                                "display('0%', display_id='p18')\nfor i in range(1, 11):\n"
                                "    update_display(f'{10 * i}%', display_id='p18')")
    assert ok, wire[:2000]
    shown = [c["data"]["text/plain"] for k, c, _ in _sent(wire)
             if k in ("display_data", "update_display_data")]
    assert shown == [repr(f"{10 * i}%") for i in range(11)]


def test_ordinary_warnings_show(kernel: Kernel) -> None:
    ok, wire = run_wire(kernel, "import warnings\nfor i in range(3):\n"
                                "    warnings.warn(f'disk {i} almost full')")
    assert ok, wire[:2000]
    err = _stream(wire, "stderr")
    assert all(f"disk {i} almost full" in err for i in range(3)), err


def test_frame_of_short_codes_unchanged(kernel: Kernel) -> None:
    ok, wire = run_wire(kernel, "import pandas as pd\n"
                                "display(pd.DataFrame({'code': ['CA', 'NY', 'TX'], 'n': [10, 0, 5]}))")
    assert ok, wire[:2000]
    (msg,) = [c for k, c, _ in _sent(wire) if k == "display_data"]
    plain = msg["data"]["text/plain"]
    assert all(x in plain for x in ("CA", "NY", "TX", "10")) and "\u2588" not in plain, plain


# ---- text under a picture's mimetype (red team 18) ----

PNG = ("import base64, struct, zlib\n"
       "def _chunk(t, d):\n"
       "    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))\n"
       "png = (b'\\x89PNG\\r\\n\\x1a\\n' + _chunk(b'IHDR', struct.pack('>IIBBBBB', 2, 2, 8, 2, 0, 0, 0))"
       " + _chunk(b'IDAT', zlib.compress(b'\\x00' + b'\\xff\\x00\\x00' * 2 + b'\\x00' + b'\\x00' * 6))"
       " + _chunk(b'IEND', b''))\n")


def _pictures(wire: bytes) -> list[bytes]:
    """Every image/* value the cell sent, base64-decoded."""
    import base64
    out = []
    for _kind, content, _meta in _sent(wire):
        for mime, v in (content.get("data") or {}).items() if isinstance(content, dict) else ():
            if mime.startswith("image/") and isinstance(v, str):
                out.append(v.encode())   # (as sent, and decoded where it is base64)
                try:
                    out.append(base64.b64decode(v + "=" * (-len(v) % 4)))
                except ValueError:
                    pass
    return out


@pytest.mark.parametrize("code", [
    "display({'image/png': v, 'text/plain': 'img'}, raw=True)",
    "display({'image/gif': e, 'text/plain': 'img'}, raw=True)",
    "display({'image/jpeg': v + ' ' + e, 'text/plain': 'img'}, raw=True)",
    PNG + "display({'image/png': base64.b64encode(png).decode(), 'text/plain': 'p'}, raw=True,"
          " metadata={'image/png': {'alt': e, 'width': 2}})",
    PNG + "display({'image/png': base64.b64encode(png + e.encode()).decode(),"
          " 'text/plain': 'p'}, raw=True)",
], ids=["png-ssn", "gif-email", "jpeg-both", "metadata-under-image-key", "png-with-text-after"])
def test_text_under_a_picture_mimetype_leaves_masked(kernel: Kernel, code: str) -> None:
    ok, wire = run_wire(kernel, f"v, e = S[20], E[20]\n{code}")
    assert ok, wire[:2000]
    assert not leaked(wire, SSNS[20]) and not leaked(wire, EMAILS[20]), wire[:4000]
    assert not any(SSNS[20].encode() in p or EMAILS[20].encode() in p
                   for p in _pictures(wire)), _pictures(wire)


def test_image_of_text_bytes_leaves_masked(kernel: Kernel) -> None:
    ok, wire = run_wire(kernel, "from IPython.display import Image\n"
                                "display(Image(data='\\n'.join(E[:8]).encode(), format='png'))")
    assert ok, wire[:2000]
    assert not any(EMAILS[i].encode() in p for p in _pictures(wire) for i in range(8))
    assert not any(leaked(wire, EMAILS[i]) for i in range(8))


def test_a_real_picture_passes_unchanged(kernel: Kernel) -> None:
    ok, wire = run_wire(kernel, PNG + "print(base64.b64encode(png).decode())\n"
                                      "display({'image/png': base64.b64encode(png).decode(),"
                                      " 'text/plain': 'p'}, raw=True)")
    assert ok, wire[:2000]
    sent = _stream(wire).strip()
    pics = [c["data"]["image/png"] for k, c, _ in _sent(wire) if k == "display_data"]
    assert pics == [sent], (pics, sent)
