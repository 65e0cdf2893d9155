"""Issue 15, channels (red team 19): pieces spread over cells, and pieces a cell puts beside a
message's content rather than in it. ``kernel.sent_pieces`` reads every message the kernel
sends as one joined stream; across a cell's start a run goes on only when made of whole
messages (a value printed three digits a cell is still masked; short numbers of an earlier
cell's table no longer complete a known value with this cell's). Made-up header fields, a
made-up ``parent``, a made-up message type, a forged ``execute_input`` echo and a piece glued
to text in ``transient.display_id`` are read too, each in its own place.

Judged by effect on every message the client received (iopub and shell, headers included):
each field's short values joined in order, as a reader would, hold no known value (or its
digits). Benign twins: the same channels with ordinary values arrive exactly as sent.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.enforce.test_red15c_corpus import SETUP
from tests.kernelutil import Kernel, guarded_kernel
from tests.kernelutil import every_message as run

pytestmark = pytest.mark.kernel

SSNS = [f"{100000000 + n:09d}" for n in range(60)]
RESET = "print('a-longer-line-ends-every-run')"
SEND = ("import itertools\nk = get_ipython().kernel\nN = itertools.count()\n"
        "def H(i, t='x_note'):   # (a new session each: a client refuses a repeated signature)\n"
        "    return {'msg_id': i, 'msg_type': t, 'username': 'u',"
        " 'session': f'{k.session.session}{next(N)}', 'date': '2026-01-01T00:00:00Z',"
        " 'version': '5.3'}\n")


@pytest.fixture(scope="module")
def k(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    with guarded_kernel(tmp_path_factory.mktemp("chan20"), warehouse=200,
                        connect=True) as kernel:
        kernel.ok(SETUP + "\n" + SEND)
        yield kernel


def _text(m: dict[str, Any]) -> list[str]:
    c = m["content"]
    if m["msg_type"] == "stream":
        return [c.get("text", "")]
    if m["msg_type"] == "comm_msg":
        return [str(v) for v in (c.get("data") or {}).values()]
    return []


FIELDS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "type": lambda m: [m["msg_type"]],
    "header": lambda m: [str(v) for k, v in m["header"].items() if k != "date"],
    "parent": lambda m: [str(v) for k, v in m["parent_header"].items() if k != "date"],
    "echo": lambda m: [m["content"].get("code", "")] if m["msg_type"] == "execute_input" else [],
    "display_id": lambda m: [re.sub(r"^bar-", "", str(
        (m["content"].get("transient") or {}).get("display_id", "")))],
    "text": _text,
}


def leaked(msgs: list[dict[str, Any]], value: str) -> str:
    """The field whose short values joined in order (or their digits) spell ``value``."""
    for name, field in FIELDS.items():
        short = [t for m in msgs for v in field(m) for t in re.findall(r"[^\s'\"]+", v)
                 if len(t) <= 4]
        joined = "".join(short)
        if value in joined or value in re.sub(r"\D", "", joined):
            return name
    return ""


# ---- 1. a value spread over cells; honest short numbers over cells ----

@pytest.mark.parametrize("per", [3, 1])
def test_a_value_printed_a_few_digits_a_cell_is_masked(k: Kernel, per: int) -> None:
    n = 20 + per
    run(k, RESET)
    msgs: list[dict[str, Any]] = []
    for i in range(0, 9, per):
        reply, got = run(k, f"print(S[{n}][{i}:{i + per}])")
        assert reply["status"] == "ok", reply
        msgs += got
    assert not leaked(msgs, SSNS[n]), [_text(m) for m in msgs]
    assert "████" in "".join(t for m in msgs for t in _text(m))


def test_a_value_sent_three_digits_a_cell_over_a_comm_is_refused(k: Kernel) -> None:
    run(k, RESET + "\nfrom comm import create_comm\nc = create_comm(target_name='c20')")
    msgs: list[dict[str, Any]] = []
    for i in range(0, 9, 3):
        reply, got = run(k, f"c.send({{'t': S[26][{i}:{i + 3}]}})")
        msgs += got
    assert reply["status"] == "error" and reply["ename"] == "GuardBlocked", reply
    assert not leaked(msgs, SSNS[26]), [_text(m) for m in msgs]


def test_short_numbers_of_an_earlier_cell_complete_no_value_with_this_one(k: Kernel) -> None:
    """The suite's false positive: digits ``100000`` shown by one cell (an id and counts), the
    next printing rows of short digit strings: ``100000`` + ``011`` is a known SSN."""
    run(k, RESET)
    _, got = run(k, "print(1000, 0, 0)")
    assert "1000 0 0\n" in [t for m in got for t in _text(m)], got
    _, got = run(k, "print([(0, '1', '1'), (1, '2', '2'), (2, '3', '3')])")
    text = "".join(t for m in got for t in _text(m))
    assert text == "[(0, '1', '1'), (1, '2', '2'), (2, '3', '3')]\n", text
    _, got = run(k, "for i in range(3):\n    print(i, i + 1)")
    assert "".join(t for m in got for t in _text(m)) == "0 1\n1 2\n2 3\n"


# ---- 2. pieces beside a message's content ----

BESIDE = {
    "header-msg-id": ("for ch in v:\n    k.session.send(k.iopub_socket, 'x_note', {},"
                      " parent=k.get_parent(), header=H(ch))", True),
    "made-up-parent": ("for ch in v:\n    k.session.send(k.iopub_socket, 'x_note', {'n': 1},"
                       " parent={'header': {'msg_id': ch, 'msg_type': 'execute_request'}})",
                       True),
    "made-up-parent-of-a-status": ("for ch in v:\n    k.session.send(k.iopub_socket, 'status',"
                                   " {'execution_state': 'busy'}, parent={'msg_id': ch})", True),
    "type-name": ("for ch in v:\n    k.session.send(k.iopub_socket, ch, {},"
                  " parent=k.get_parent())", True),
    "forged-echo": ("for ch in v:\n    k.session.send(k.iopub_socket, 'execute_input',"
                    " {'code': ch, 'execution_count': 1}, parent={'header': {'msg_id':"
                    " 'forged-request'}, 'content': {'code': ch}})", False),
    "display-id-glued": ("for ch in v:\n    display('x', display_id='bar-' + ch)", False),
}


@pytest.mark.parametrize("name", list(BESIDE))
def test_pieces_beside_the_content_leave_masked(k: Kernel, name: str) -> None:
    code, refused = BESIDE[name]
    n = 30 + list(BESIDE).index(name)
    run(k, RESET)
    reply, msgs = run(k, f"v = S[{n}]\n" + code)
    where = leaked(msgs, SSNS[n])
    assert not where, (where, [(m["msg_type"], m["header"]["msg_id"], m["content"])
                              for m in msgs])
    if refused:   # no person reads these: the send that completed the value is refused
        assert reply["status"] == "error" and reply["ename"] == "GuardBlocked", reply
        assert "exfiltration" in reply["evalue"] or "sensitive" in reply["evalue"], reply
    else:
        assert reply["status"] == "ok", reply


def test_ordinary_headers_parents_types_echoes_and_display_ids_arrive_as_sent(k: Kernel) -> None:
    run(k, RESET)
    reply, msgs = run(k, "from uuid import uuid4\nids = [uuid4().hex for _ in range(20)]\n"
                         "for i in ids:\n    k.session.send(k.iopub_socket, 'x_note', {'i': 7},"
                         " parent={'header': {'msg_id': 'req-' + i}}, header=H(i))\n"
                         "for i in range(30):\n    k.session.send(k.iopub_socket, 'tick',"
                         " {'n': i}, parent=k.get_parent())\n"
                         "print(len(ids))")
    assert reply["status"] == "ok", reply
    notes = [m for m in msgs if m["msg_type"] == "x_note"]
    assert len(notes) == 20 and all(re.fullmatch(r"[0-9a-f]{32}", m["header"]["msg_id"])
                                    for m in notes), notes[:2]
    assert [m["parent_header"]["msg_id"] for m in notes] == [
        "req-" + m["header"]["msg_id"] for m in notes]
    assert [m["content"]["n"] for m in msgs if m["msg_type"] == "tick"] == list(range(30))
    code = "for i in range(30):\n    display(i, display_id=f'row-{i}')\n" \
           "h = display('a', display_id=True)\nfor i in range(20):\n    h.update(i)"
    reply, msgs = run(k, code)
    assert reply["status"] == "ok", reply
    echo = [m["content"]["code"] for m in msgs if m["msg_type"] == "execute_input"]
    assert echo == [code], echo
    ids = [m["content"]["transient"]["display_id"] for m in msgs
           if m["msg_type"] in ("display_data", "update_display_data")]
    assert ids[:30] == [f"row-{i}" for i in range(30)], ids[:30]
    assert len(set(ids[30:])) == 1 and len(ids) == 51, ids[30:]
    shown = [m["content"]["data"]["text/plain"] for m in msgs
             if m["msg_type"] in ("display_data", "update_display_data")]
    assert shown == [str(i) for i in range(30)] + ["'a'"] + [str(i) for i in range(20)], shown
