"""A known SSN or e-mail sent a few characters a message over channels red team 18 found not
joined: comm and widget messages, message types a cell made up or borrowed (``x_progress``,
``clear_output``, ``debug_event``, a ``status`` with more fields, a made-up ``busy`` between
pieces), ``input()`` prompts on stdin, a reply's ``user_expressions``. ``kernel.sent_pieces``
reads every message the kernel sends, whatever its type or channel, as one joined stream.
(Integer pieces in JSON and metadata, one a display, and a first piece in ``transient`` were
already read by the output reading of red team 17's fix: no case here, they pass on ``main``.)

Judged by effect: every message the client received for the cell on iopub, shell and stdin is
read with ``test_shown18_channels``' reader (every text, short tokens joined in order and every
other one, digits) and with the values of each message joined on their own (pieces of one
reply). Benign twins: an ``IntSlider`` moved, a progress bar of numbers, a ``Label`` of
ordinary text, ``input()`` answered, ``user_expressions`` of ordinary values, comm messages of
ordinary data.
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.enforce.test_red15c_corpus import SETUP
from tests.enforce.test_shown18_channels import _TOKEN, readings
from tests.kernelutil import Kernel, guarded_kernel, ready_messages

pytestmark = pytest.mark.kernel

SSNS = [f"{100000000 + n:09d}" for n in range(60)]
EMAILS = [f"user{n}@example.com" for n in range(60)]
VALUES = {"ssn": ("S", SSNS), "email": ("E", EMAILS)}
SEND = ("k = get_ipython().kernel\n"
        "def send(kind, content, **kw):\n"
        "    k.session.send(k.iopub_socket, kind, content, parent=k.get_parent(), **kw)\n")


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    with guarded_kernel(tmp_path_factory.mktemp("chan19"), warehouse=200,
                        connect=True) as k:
        k.ok(SETUP)
        yield k


def run_all(k: Kernel, code: str, *, user_expressions: dict[str, str] | None = None,
            answer: str = "typed") -> tuple[dict[str, Any], list[list[Any]]]:
    """Run ``code`` with stdin allowed (each ``input_request`` answered with ``answer``):
    the reply's content and every message of every channel (iopub, shell, stdin) in the order
    received, as ``[type, content, metadata]``; the kernel's own ``status`` and code echo are
    named ``status``/``execute_input`` (the shown18 reader leaves them), any other is read."""
    msg_id = k.kc.execute(code, user_expressions=user_expressions or {}, allow_stdin=True)
    seen: list[list[Any]] = []
    reply: dict[str, Any] | None = None
    idle = False
    deadline = time.monotonic() + 120
    while not (idle and reply is not None):
        assert time.monotonic() < deadline, f"no idle status and reply for: {code[:60]}"
        for _channel, m in ready_messages((k.kc.stdin_channel, k.kc.iopub_channel,
                                           k.kc.shell_channel)):
            kind, content = m["msg_type"], m["content"]
            own = (kind == "status" and set(content) == {"execution_state"}) or (
                kind == "execute_input" and content.get("code") == code)
            seen.append([kind if own or kind not in ("status", "execute_input") else kind + "*",
                         content, m.get("metadata")])
            if kind == "input_request":
                k.kc.input(answer)
            mine = m["parent_header"].get("msg_id") == msg_id
            if mine and kind == "status" and content.get("execution_state") == "idle" and own:
                idle = True
            if mine and kind == "execute_reply":
                reply = content
    return reply or {}, seen


def _values(x: Any) -> Iterator[str]:
    if isinstance(x, str):
        yield x
    elif isinstance(x, dict):
        for v in x.values():
            yield from _values(v)
    elif isinstance(x, (list, tuple)):
        for v in x:
            yield from _values(v)
    elif isinstance(x, (int, float)) and not isinstance(x, bool):
        yield str(x)


NOISE = frozenset({"ok", "True", "None"})


def leaked(seen: list[list[Any]], value: str) -> bool:
    """Whether ``value`` (or an SSN's digits) can be read back from the messages: the shown18
    reader, and each message's values (not keys) joined, short tokens joined across messages
    in order, every other one."""
    wire = json.dumps(seen, default=str, ensure_ascii=False).encode()
    texts = readings(wire + b"\n")
    short = [t for _kind, content, meta in seen if _kind not in ("status", "execute_input")
             for v in _values([content, meta]) for t in _TOKEN.findall(v)
             if len(t) <= 4 and t not in NOISE]
    texts += ["".join(short), "".join(short[0::2]), "".join(short[1::2])]
    digits = re.sub(r"\D", "", value)
    return any(value in t or (value.isdigit() and digits in re.sub(r"\D", "", t))
               for t in texts)


LEAKS = {
    "comm-chars": ("from comm import create_comm\nc = create_comm(target_name='t19')\n"
                   "for ch in v:\n    c.send({'t': ch})", "both"),
    "comm-open-each": ("from comm import create_comm\nfor ch in v:\n"
                       "    create_comm(target_name='t19', data={'t': ch})", "both"),
    "ipykernel-comm-pairs": ("from ipykernel.comm import Comm\nc = Comm(target_name='t19')\n"
                             "for i in range(0, len(v), 2):\n    c.send({'p': v[i:i + 2]})",
                             "both"),
    "comm-ints": ("from comm import create_comm\nc = create_comm(target_name='t19')\n"
                  "for ch in v:\n    c.send({'n': int(ch)})", "ssn"),
    "comm-key": ("from comm import create_comm\nc = create_comm(target_name='t19')\n"
                 "for ch in v:\n    c.send({ch: 1})", "both"),
    "x-progress": (SEND + "for ch in v:\n    send('x_progress', {'text': ch})", "both"),
    "clear-output-carrier": (SEND + "for ch in v:\n"
                             "    send('clear_output', {'wait': True, 'text': ch})", "both"),
    "debug-event": (SEND + "for i, ch in enumerate(v):\n    send('debug_event', {'seq': i,"
                    " 'type': 'event', 'event': 'output', 'body': {'output': ch}})", "both"),
    "status-extra": (SEND + "for ch in v:\n"
                     "    send('status', {'execution_state': 'busy', 'x': ch})", "both"),
    "status-reset": (SEND + "for i in range(0, len(v), 2):\n    print(v[i:i + 2], flush=True)\n"
                     "    k.session.send(k.iopub_socket, 'status', {'execution_state': 'busy'},"
                     " parent={'header': {'msg_id': f'f{i}', 'msg_type': 'execute_request'}})",
                     "ssn"),
    "widget-label": ("import ipywidgets as w\nl = w.Label('x')\ndisplay(l)\n"
                     "for ch in v:\n    l.value = ch\n    l.value = ''", "both"),
    "widget-text-chunks": ("import ipywidgets as w\nt = w.Text()\n"
                           "for i in range(0, len(v), 3):\n    t.value = v[i:i + 3]", "both"),
    "input-chars": ("for ch in v:\n    input(ch)", "both"),
}
REFUSED = {"comm-chars", "comm-open-each", "ipykernel-comm-pairs", "comm-ints", "comm-key",
           "x-progress", "debug-event", "status-extra", "widget-label", "widget-text-chunks"}
"""Cases whose last piece goes in a message no person reads: the cell is refused."""

CASES = [pytest.param(name, value, 10 + i, id=f"{name}-{value}")
         for i, (name, (_code, which)) in enumerate(LEAKS.items())
         for value in VALUES if which in ("both", value)]


@pytest.mark.parametrize(("name", "value", "n"), CASES)
def test_value_in_pieces_over_any_channel_leaves_masked(kernel: Kernel, name: str, value: str,
                                                        n: int) -> None:
    var, values = VALUES[value]
    reply, seen = run_all(kernel, f"v = {var}[{n}]\n" + LEAKS[name][0])
    assert not leaked(seen, values[n]), f"{name}: {values[n]}\n{seen!r:.6000}"
    if name in REFUSED:
        assert reply["status"] == "error" and "[exfiltration]" in reply["evalue"], reply
    else:
        assert reply["status"] == "ok", reply


@pytest.mark.parametrize("value", list(VALUES))
def test_user_expressions_of_pieces_leave_masked(kernel: Kernel, value: str) -> None:
    var, values = VALUES[value]
    n = 40 if value == "ssn" else 41
    exprs = {f"e{i}": f"v[{i}]" for i in range(len(values[n]))}
    reply, seen = run_all(kernel, f"v = {var}[{n}]", user_expressions=exprs)
    assert reply["status"] == "ok", reply
    assert not leaked(seen, values[n]), f"{values[n]}\n{seen!r:.6000}"


# ---- benign twins ----

def _of(seen: list[list[Any]], kind: str) -> list[dict[str, Any]]:
    return [c for k, c, _m in seen if k == kind]


def test_int_slider_moves(kernel: Kernel) -> None:
    reply, seen = run_all(kernel, "import ipywidgets as w\ns = w.IntSlider()\ndisplay(s)\n"
                                  "for i in range(0, 101, 10):\n    s.value = i")
    assert reply["status"] == "ok", reply
    sent = [c["data"]["state"]["value"] for c in _of(seen, "comm_msg")
            if c["data"].get("method") == "update" and "value" in c["data"]["state"]]
    assert sent == list(range(10, 101, 10)), sent


def test_progress_of_numbers_over_a_comm(kernel: Kernel) -> None:
    reply, seen = run_all(kernel, "from comm import create_comm\n"
                                  "c = create_comm(target_name='p19')\n"
                                  "for i in range(1000):\n    c.send({'done': i, 'of': 1000})")
    assert reply["status"] == "ok", reply
    sent = [c["data"]["done"] for c in _of(seen, "comm_msg")]
    assert sent == list(range(1000)), sent[:20]


def test_label_of_ordinary_text(kernel: Kernel) -> None:
    reply, seen = run_all(kernel, "import ipywidgets as w\nl = w.Label('start')\ndisplay(l)\n"
                                  "for word in ['step 1', 'loading', 'ok', 'a', 'b', 'done']:\n"
                                  "    l.value = word")
    assert reply["status"] == "ok", reply
    sent = [c["data"]["state"]["value"] for c in _of(seen, "comm_msg")
            if "value" in c["data"].get("state", {})]
    assert sent == ["step 1", "loading", "ok", "a", "b", "done"], sent


def test_input_returns_typed_text(kernel: Kernel) -> None:
    reply, seen = run_all(kernel, "got = [input('Your name: '), input('y/n? ')]\nprint(got)",
                          answer="ada")
    assert reply["status"] == "ok", reply
    assert [c["prompt"] for c in _of(seen, "input_request")] == ["Your name: ", "y/n? "]
    assert "".join(c["text"] for c in _of(seen, "stream")) == "['ada', 'ada']\n"


def test_ordinary_user_expressions_and_masked_values(kernel: Kernel) -> None:
    reply, seen = run_all(kernel, "xs = list('abc')", user_expressions={
        "a": "xs[0]", "b": "1 + 1", "c": "S[5]"})
    assert reply["status"] == "ok", reply
    got = {k: v["data"]["text/plain"] for k, v in reply["user_expressions"].items()}
    assert got["a"] == "'a'" and got["b"] == "2", got
    assert SSNS[5] not in got["c"] and not leaked(seen, SSNS[5]), got


def test_made_up_types_of_ordinary_data_pass(kernel: Kernel) -> None:
    reply, seen = run_all(kernel, SEND + "for i in range(20):\n"
                                  "    send('x_progress', {'text': str(i), 'pct': i * 5})")
    assert reply["status"] == "ok", reply
    assert [c["text"] for c in _of(seen, "x_progress")] == [str(i) for i in range(20)]


def test_digits_over_a_comm_that_spell_no_value(kernel: Kernel) -> None:
    """Digits that begin a known SSN (``1000…``) are held, then sent unchanged."""
    reply, seen = run_all(kernel, "from comm import create_comm\n"
                                  "c = create_comm(target_name='d19')\n"
                                  "for ch in '100012345':\n    c.send({'t': ch})")
    assert reply["status"] == "ok", reply
    assert "".join(c["data"]["t"] for c in _of(seen, "comm_msg")) == "100012345"


def test_progress_widget_and_clear_output(kernel: Kernel) -> None:
    """A progress bar widget of changing numbers and ``clear_output(wait=True)`` between
    printed steps: every update arrives, in order, unchanged."""
    reply, seen = run_all(kernel, "import ipywidgets as w\n"
                                  "from IPython.display import clear_output\n"
                                  "p = w.IntProgress(max=10)\ndisplay(p)\n"
                                  "for i in range(1, 11):\n    p.value = i\n"
                                  "    p.description = f'{10 * i}%'\n"
                                  "    clear_output(wait=True)\n    print(f'step {i}')")
    assert reply["status"] == "ok", reply
    states = [c["data"]["state"] for c in _of(seen, "comm_msg")
              if c["data"].get("method") == "update"]
    assert [s["value"] for s in states if "value" in s] == list(range(1, 11)), states
    assert [s["description"] for s in states if "description" in s] == [
        f"{10 * i}%" for i in range(1, 11)], states
    assert len(_of(seen, "clear_output")) == 10
    assert "".join(c["text"] for c in _of(seen, "stream")) == "".join(
        f"step {i}\n" for i in range(1, 11))
