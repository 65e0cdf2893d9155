"""Messages a cell hands ``Session.send`` in forms the wire net did not read (red team 19):
content already packed (``bytes`` or JSON text, which the session sends as it is), a made-up
message type named with a value, and a made-up ``execute_input`` echo whose forged request
"holds" the same code. Each sent whole values raw past every mask; ``kernel.replies`` now
unpacks such content and masks what it packs, masks the type, and masks every echo.

Judged by effect: every message the client received on iopub, shell and stdin (with its
type), read with ``test_chan19_channels``' reader. Twins: ordinary content packed by hand
arrives as it was sent, the kernel's own echo of the code is unchanged, a made-up type of
ordinary name keeps its name.
"""
from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.enforce.test_chan19_channels import EMAILS, SEND, SSNS, leaked, run_all
from tests.enforce.test_red15c_corpus import SETUP
from tests.kernelutil import Kernel, guarded_kernel

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    with guarded_kernel(tmp_path_factory.mktemp("wire19"), warehouse=200,
                        connect=True) as k:
        k.ok(SETUP + "\nimport json\n" + SEND)
        yield k


def _whole(seen: list[list[object]], values: list[str]) -> list[str]:
    """The values that reach the client raw, in any message (its type included)."""
    wire = json.dumps(seen, default=str, ensure_ascii=False)
    return [v for v in values if v in wire or leaked(seen, v)]


PACKED = {
    "stream-bytes": "send('stream', json.dumps({'name': 'stdout', 'text': T}).encode())",
    "stream-text": "send('stream', json.dumps({'name': 'stdout', 'text': T}))",
    "display-bytes": "send('display_data', json.dumps({'data': {'text/html': T},"
                     " 'metadata': {}}).encode())",
    "comm-bytes": "send('comm_msg', json.dumps({'comm_id': 'cc', 'data': {'v': T}}).encode())",
    "made-up-bytes": "send('x_p', json.dumps({'t': T}).encode())",
    "list-bytes": "send('x_p', json.dumps([T, 1]).encode())",
    "not-json-bytes": "send('x_p', T.encode())",
}


@pytest.mark.parametrize("name", list(PACKED))
def test_content_handed_packed_leaves_masked(kernel: Kernel, name: str) -> None:
    code = "T = '\\n'.join(E[30:35] + S[30:35])\n" + PACKED[name]
    reply, seen = run_all(kernel, code)
    assert _whole(seen, EMAILS[30:35] + SSNS[30:35]) == [], f"{name}\n{seen!r:.4000}"
    assert reply["status"] in ("ok", "error"), reply


@pytest.mark.parametrize("n", [3, 4])
def test_a_made_up_type_named_with_a_value_leaves_masked(kernel: Kernel, n: int) -> None:
    msg_id = kernel.kc.execute(f"send('x_' + E[{n}], {{}})\nsend('x_' + S[{n}], {{}})")
    types = []
    while True:
        m = kernel.kc.get_iopub_msg(timeout=60)
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        types.append(m["msg_type"])
        if m["msg_type"] == "status" and m["content"].get("execution_state") == "idle":
            break
    assert not any(EMAILS[n] in t or SSNS[n] in t for t in types), types
    made_up = [t for t in types if t not in ("status", "execute_input", "stream", "error")]
    assert len(made_up) == 2, types   # still sent, masked


@pytest.mark.parametrize("value", ["E", "S"])
def test_a_forged_code_echo_leaves_masked(kernel: Kernel, value: str) -> None:
    n = 6
    code = (f"v = {value}[{n}]\n"
            "k.session.send(k.iopub_socket, 'execute_input', {'code': v, 'execution_count': 1},"
            " parent={'header': k.get_parent()['header'], 'content': {'code': v}})")
    reply, seen = run_all(kernel, code)
    assert reply["status"] == "ok", reply
    target = (EMAILS if value == "E" else SSNS)[n]
    assert _whole(seen, [target]) == [], f"{target}\n{seen!r:.4000}"


# ---- benign twins ----

def test_ordinary_content_handed_packed_arrives_as_sent(kernel: Kernel) -> None:
    reply, seen = run_all(kernel, "send('stream', json.dumps({'name': 'stdout',"
                                  " 'text': 'rows: 42\\n'}).encode())\n"
                                  "send('x_p', json.dumps({'done': 3, 'of': 10}))")
    assert reply["status"] == "ok", reply
    assert [c["text"] for k, c, _m in seen if k == "stream"] == ["rows: 42\n"], seen
    assert [c for k, c, _m in seen if k == "x_p"] == [{"done": 3, "of": 10}], seen


def test_the_kernels_own_echo_and_a_made_up_type_keep_their_text(kernel: Kernel) -> None:
    code = "x = 6 * 7\nsend('x_progress', {'step': 1})\nprint('answer', x)"
    msg_id = kernel.kc.execute(code)
    echo, types, out = None, [], ""
    while True:
        m = kernel.kc.get_iopub_msg(timeout=60)
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        types.append(m["msg_type"])
        if m["msg_type"] == "execute_input":
            echo = m["content"]["code"]
        if m["msg_type"] == "stream":
            out += m["content"]["text"]
        if m["msg_type"] == "status" and m["content"].get("execution_state") == "idle":
            break
    assert echo == code and out == "answer 42\n" and "x_progress" in types, (echo, out, types)
