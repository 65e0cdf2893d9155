"""Every channel a value can leave a real kernel by: each message the kernel sent on iopub, the
shell reply, and stdin requests are scanned for the raw value; each form has a benign twin."""
from __future__ import annotations

import json
import queue
from pathlib import Path
from typing import Any

import pytest

from tests.kernelutil import Kernel, Reply

pytestmark = pytest.mark.kernel

EMAIL, SSN, SSN_666 = "jane.doe@example.com", "123-45-6789", "666-12-3456"
RAW = (EMAIL, SSN, SSN_666, "jane.doe", "123456789", "666123456")
BENIGN = ("order 100000245", "amount 1,234.56", "at 2024-01-15 10:30:00",
          "id 550e8400-e29b-41d4-a716-446655440000", "SKU-12345-XL", "12 Main Street")
BENIGN_TEXT = ", ".join(BENIGN)


def wire(result: Reply) -> str:
    """Every message the kernel sent for one execution (content and metadata), and its reply.

    ``execute_input`` is left out: it echoes the code the user sent (which may spell a value).
    """
    msgs = [{"c": m["content"], "m": m.get("metadata", {})} for m in result.messages
            if m["msg_type"] != "execute_input"]
    return json.dumps([msgs, result.reply], ensure_ascii=False)


def assert_no_raw(text: str) -> None:
    leaked = [v for v in RAW if v in text]
    assert not leaked, f"raw values on the wire: {leaked}"


def assert_benign(text: str) -> None:
    missing = [v for v in BENIGN if v not in text]
    assert not missing, f"plain values changed: {missing}"


@pytest.fixture(scope="module")
def k(kernel: Kernel) -> Kernel:
    kernel.ok(f"import pandas as pd\ndf = pd.DataFrame({{'email': [{EMAIL!r}], "
              f"'ssn': [{SSN_666!r}], 'plain': [{BENIGN_TEXT!r}]}})\n"
              f"EMAIL = {EMAIL!r}\nSSN = {SSN!r}")
    return kernel


FORMS = [
    pytest.param("raise ValueError(EMAIL + ' {b} ' + SSN)", id="execute_reply-error"),
    pytest.param("raise KeyError(df.ssn.iloc[0] + ' {b}')", id="error-ssn-666"),
    pytest.param("print(df.ssn.tolist(), '{b}')", id="ssn-666-printed"),
    pytest.param("display({{'text/csv': 'email,note\\n' + EMAIL + ',{b}\\n'}}, raw=True)",
                 id="text-csv"),
    pytest.param("class X:\n    def _repr_mimebundle_(self, **kw):\n"
                 "        return ({{'application/json': {{'e': EMAIL, 'n': '{b}'}},\n"
                 "                 'text/markdown': EMAIL + ' {b}', 'text/latex': EMAIL}},\n"
                 "                {{'text/markdown': {{'note': EMAIL}}}})\nX()",
                 id="every-mimetype"),
    pytest.param("from IPython.display import Markdown\n"
                 "display(Markdown('{b}'), metadata={{'who': EMAIL, 'n': '{b}'}})",
                 id="display-metadata"),
    pytest.param("import sys\nfor c in EMAIL + ' ' + SSN + ' {b}':\n"
                 "    print(c, end='', flush=True)", id="one-char-flush"),
    pytest.param("import sys\nfor c in EMAIL + ' {b}\\n':\n"
                 "    sys.stderr.write(c); sys.stderr.flush()",
                 id="one-char-stderr"),
    pytest.param("from IPython.display import HTML\n"
                 "HTML('<p>jane.doe&#64;example.com {b}</p>"
                 "<img src=\"https://t.example/p?e=jane.doe%40"
                 "example.com\">')", id="html-entity-and-url-escape"),
    pytest.param("print('jane.doe\\u200b@example.com 123\\u201145\\u20116789 {b}')",
                 id="zero-width-and-unicode-dash"),
    pytest.param("print('ssn: 123456789 {b}')", id="ssn-digits-only-with-keyword"),
    pytest.param("from IPython.core import page\npage.page(EMAIL + ' {b}')", id="page-payload"),
    pytest.param("get_ipython().set_next_input('x = ' + repr(EMAIL) + '  # {b}')",
                 id="set-next-input"),
    pytest.param("import ipywidgets as w\nw.Text(value=EMAIL, description='{b}')",
                 id="widget-state"),
    pytest.param("print('x' * 5000 + EMAIL + 'y' * 70000, '{b}')", id="long-line"),
    pytest.param("_k = get_ipython().kernel\n"
                 "_k.session.send(_k.iopub_socket, 'stream', {{'name': 'stdout', "
                 "'text': EMAIL + ' {b}'}}, parent=_k.get_parent())", id="session-send-stream"),
    pytest.param("_k = get_ipython().kernel\n"
                 "_k.session.send(_k.iopub_socket, 'display_data', {{'data': {{'text/plain': "
                 "SSN + ' {b}'}}, 'metadata': {{}}}}, parent=_k.get_parent())",
                 id="session-send-display"),
    pytest.param("_k = get_ipython().kernel\n"
                 "_k.session.send(_k.iopub_socket, _k.session.msg('stream', {{'name': 'stderr', "
                 "'text': EMAIL + ' {b}'}}, parent=_k.get_parent()))", id="session-send-message"),
]


@pytest.mark.parametrize("code", FORMS)
def test_no_raw_value_in_any_message(k: Kernel, code: str) -> None:
    result = k.run(code.format(b=BENIGN_TEXT))
    text = wire(result)
    assert_no_raw(text)
    assert_benign(text)


def test_benign_error_reply_unchanged(k: Kernel) -> None:
    result = k.run(f"raise ValueError({BENIGN_TEXT!r})")
    assert result.reply["status"] == "error"
    assert result.reply["evalue"] == BENIGN_TEXT


def _shell_reply(k: Kernel, msg_id: str) -> dict[str, Any]:
    reply = k.kc.get_shell_msg(timeout=60)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = k.kc.get_shell_msg(timeout=60)
    return reply


def test_inspection_is_masked(k: Kernel) -> None:
    k.ok(f"contact = {EMAIL!r}\nplain = {BENIGN_TEXT!r}")
    reply = _shell_reply(k, k.kc.inspect("contact", 7, detail_level=0))["content"]
    text = json.dumps(reply, ensure_ascii=False)
    assert_no_raw(text)
    assert "█████@example.com" in text
    twin = json.dumps(_shell_reply(k, k.kc.inspect("plain", 5))["content"])
    assert_benign(twin)


def test_completion_is_masked(k: Kernel) -> None:
    k.ok(f"d = {{{EMAIL!r}: 1, 'order 100000245': 2}}")
    content = _shell_reply(k, k.kc.complete("d['", 3))["content"]
    assert_no_raw(json.dumps(content))
    assert any("100000245" in m for m in content["matches"]), content["matches"]


def test_input_prompt_is_masked(k: Kernel) -> None:
    msg_id = k.kc.execute(f"answer = input('send to ' + EMAIL + ' ({BENIGN_TEXT})? ')",
                              allow_stdin=True)
    try:
        request = k.kc.get_stdin_msg(timeout=60)
    except queue.Empty:  # pragma: no cover - the kernel never asked
        raise AssertionError("no input_request") from None
    prompt = request["content"]["prompt"]
    k.kc.input("yes")
    _shell_reply(k, msg_id)
    assert_no_raw(prompt)
    assert BENIGN_TEXT in prompt
    assert k.ok("assert answer == 'yes'").reply["status"] == "ok"  # the kernel got the answer


def test_unwrapped_send_is_wrapped_again_after_the_cell(k: Kernel) -> None:
    k.ok("_s = get_ipython().kernel.session\n_s.send = type(_s).send.__get__(_s)")
    result = k.run("raise ValueError(EMAIL)")
    assert result.reply["status"] == "error"
    assert_no_raw(wire(result))


def stream_text(result: Reply, name: str = "stdout") -> str:
    return "".join(m["content"]["text"] for m in result.messages
                   if m["msg_type"] == "stream" and m["content"]["name"] == name)


def test_megabyte_in_kilobyte_pieces_without_newline(k: Kernel) -> None:
    """Values crossing write boundaries are masked; nothing is lost, repeated or reordered."""
    build = ("S = ''.join(('x' * 1000 + ' ' + EMAIL + ' ') if i % 10 == 0 else ('y' * 1023 + ' ')"
             " for i in range(1024))")
    k.ok(build)
    result = k.ok("import sys\nfor i in range(0, len(S), 1000):\n"
                  "    sys.stdout.write(S[i:i + 1000])")
    got = stream_text(result)
    expected = "".join(("x" * 1000 + " █████@example.com ") if i % 10 == 0
                       else ("y" * 1023 + " ") for i in range(1024))
    assert got == expected


def test_flushed_pieces_arrive_in_order_and_whole(k: Kernel) -> None:
    code = ("import sys\nfor i in range(300):\n"
            "    print(f'row {i} ', end='', flush=True)\n"
            "print(EMAIL, end='', flush=True)")
    got = stream_text(k.ok(code))
    assert got == "".join(f"row {i} " for i in range(300)) + "█████@example.com"


def test_output_of_children_copied_to_the_kernels_own_stdout_is_masked(tmp_path: Path) -> None:
    """ipykernel copies what child processes print (captured from file descriptor 1) to the
    kernel process's own stdout, which is the Jupyter server's log: it is masked there too."""
    log = tmp_path / "kernel-stdout.log"
    with log.open("wb") as out:
        k = Kernel(tmp_path, {"JUPYTER_GUARD_AUDIT": str(tmp_path / "audit.duckdb"),
                              "JUPYTER_GUARD_POLICY": None}, stdout=out)
        try:
            k.ok("%load_ext jupyter_guard")
            result = k.ok("import subprocess\n"
                          f"subprocess.run(['sh', '-c', 'echo {EMAIL} {BENIGN_TEXT}; sleep 0.2'])")
            assert_no_raw(wire(result))
        finally:
            k.stop()
    text = log.read_text(errors="replace")
    assert "@example.com" in text, text[-2000:]  # the child's line reached the log, masked
    assert_no_raw(text)
    assert_benign(text)
