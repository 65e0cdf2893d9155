"""The one kernel driver of the tests: a real ipykernel driven through jupyter_client, with every
iopub message of each cell kept, and ``guarded_kernel`` for the usual set-up around it (a
warehouse, a policy file, the guard loaded, a connection)."""
from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq
from jupyter_client.manager import KernelManager

OUTPUT_KINDS = frozenset({"execute_result", "display_data", "update_display_data", "stream",
                          "error"})


@dataclass
class Reply:
    """One execution: the reply's status and content, and every iopub message it caused."""

    status: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    reply: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def outputs(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["msg_type"] in OUTPUT_KINDS]

    @property
    def stream(self) -> str:
        """The stream text as a frontend shows it: every piece in order, nothing between (one
        printed line may come in several messages)."""
        return "".join(m["content"]["text"] for m in self.messages if m["msg_type"] == "stream")

    @property
    def text(self) -> str:
        """Everything the user would see: streams, results, displays and errors."""
        parts: list[str] = []
        for m in self.messages:
            c = m["content"]
            if m["msg_type"] == "stream":
                parts.append(c["text"])
            elif m["msg_type"] in ("execute_result", "display_data"):
                parts.extend(str(v) for v in c["data"].values())
            elif m["msg_type"] == "error":
                parts.append("\n".join(c["traceback"]))
        return "\n".join(parts)

    def everything(self) -> str:
        """Every string of every output message: all mime types, metadata, stream text, error
        names, values and tracebacks (what a leak check must search)."""
        parts: list[str] = []

        def walk(value: Any) -> None:
            if isinstance(value, str):
                parts.append(value)
            elif isinstance(value, dict):
                for v in value.values():
                    walk(v)
            elif isinstance(value, (list, tuple)):
                for v in value:
                    walk(v)

        for m in self.outputs:
            walk(m["content"])
        return "\n".join(parts)

    def mimes(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for m in self.outputs:
            for mime, value in m["content"].get("data", {}).items():
                out[mime] = out.get(mime, "") + str(value)
        return out

    @property
    def error(self) -> dict[str, Any]:
        for m in self.messages:
            if m["msg_type"] == "error":
                return dict(m["content"])
        return {}


class Kernel:
    """A fresh ipykernel in ``cwd`` with this process's environment and ``env`` over it (a value
    of None removes that variable)."""

    def __init__(self, cwd: Path, env: dict[str, str | None] | None = None, *,
                 stdout: Any = None) -> None:
        self.workdir = Path(cwd)
        self.km = KernelManager(kernel_name="python3")
        merged = {**os.environ, **(env or {}), "PYTEST_CURRENT_TEST": None}
        full = {k: v for k, v in merged.items() if v is not None}
        self.km.kernel_spec.argv[0] = sys.executable  # the venv's Python, not whatever is on PATH
        # ``stdout``: a file for the kernel process's own output (the server's log in real use)
        extra = {} if stdout is None else {"stdout": stdout}
        self.km.start_kernel(cwd=str(cwd), env=full,
                             extra_arguments=["--HistoryManager.enabled=False"], **extra)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=90)

    def run(self, code: str, *, metadata: dict[str, Any] | None = None,
            timeout: float = 60) -> Reply:
        content = {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                   "allow_stdin": False, "stop_on_error": False}
        msg = self.kc.session.msg("execute_request", content, metadata=metadata or {})
        self.kc.shell_channel.send(msg)
        msg_id = msg["header"]["msg_id"]
        out = Reply("")
        while True:
            try:
                m = self.kc.get_iopub_msg(timeout=timeout)
            except queue.Empty:
                raise TimeoutError(f"no idle status for: {code[:60]}\n{self.stacks()}") from None
            if m["parent_header"].get("msg_id") != msg_id:
                continue
            out.messages.append(m)
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                break
        while True:
            r = self.kc.get_shell_msg(timeout=timeout)
            if r["parent_header"].get("msg_id") == msg_id:
                out.reply = r["content"]
                out.status = r["content"]["status"]
                return out

    def stacks(self) -> str:
        """Where every thread of the kernel process is now (``py-spy dump``, when it is installed
        beside this Python), for the message of a cell that never ended: a hang under load is
        seen once in a whole run and not again alone."""
        import shutil
        import subprocess

        spy = shutil.which("py-spy", path=os.path.dirname(sys.executable)) or shutil.which("py-spy")
        pid = getattr(self.km.provisioner, "pid", None)
        if spy is None or pid is None:
            return "(no stacks: py-spy is not installed)" if spy is None else "(no kernel pid)"
        try:
            r = subprocess.run([spy, "dump", "--pid", str(pid)], capture_output=True, text=True,
                               timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"(no stacks: {e})"
        return f"kernel {pid} threads:\n{(r.stdout or r.stderr)[-12000:]}"

    def ok(self, code: str, **kw: Any) -> Reply:
        r = self.run(code, **kw)
        assert r.ok, r.everything()
        return r

    def blocked(self, code: str, rule: str) -> Reply:
        r = self.run(code)
        assert r.status == "error", f"not refused: {code!r}\n{r.everything()}"
        assert f"[{rule}]" in r.everything(), r.everything()
        return r

    def stop(self, *, behind: bool = False, then: Callable[[], None] | None = None) -> None:
        """Shut the kernel down (it exits on its own: the guard writes its audit out first),
        then ``then``. With ``behind`` (a fixture's teardown: nothing reads the kernel's folder
        after), that runs in a thread while the next test starts: see ``shut_behind``."""
        def shut() -> None:
            try:
                try:
                    self.kc.stop_channels()
                finally:
                    self.km.shutdown_kernel(now=False)
            finally:
                if then is not None:
                    then()

        if behind and _may_stop_behind():
            shut_behind(shut)
        else:
            shut()


_BEHIND: list[tuple[threading.Thread, list[BaseException]]] = []


def ready_messages(channels: Sequence[Any], wait: float = 0.05) -> list[tuple[Any, dict[str, Any]]]:
    """Every message ready now on ``channels`` (each drained in turn), as ``(channel, msg)``;
    when none is, those that arrive within ``wait`` seconds. A reader that waited ``wait`` on
    each empty channel per message read 1,000 comm messages in ~100 s."""
    out: list[tuple[Any, dict[str, Any]]] = []
    for channel in channels:
        while True:
            try:
                out.append((channel, channel.get_msg(timeout=0)))
            except queue.Empty:
                break
    if out or wait <= 0:
        return out
    poller = zmq.Poller()
    for channel in channels:
        poller.register(channel.socket, zmq.POLLIN)
    return ready_messages(channels, 0) if poller.poll(int(wait * 1000)) else []


def every_message(k: Kernel, code: str, *, seconds: float = 120
                  ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run ``code``: the reply's content and every message (whole: header, parent, content) the
    client got on iopub and shell until this request's idle status and reply, waited for up to
    ``seconds`` (the channel tests read headers and shell messages too, not only outputs)."""
    msg_id = k.kc.execute(code)
    got: list[dict[str, Any]] = []
    reply: dict[str, Any] | None = None
    idle = False
    deadline = time.monotonic() + seconds
    while not (idle and reply is not None):
        assert time.monotonic() < deadline, f"no idle status and reply for: {code[:60]}"
        for _channel, m in ready_messages((k.kc.iopub_channel, k.kc.shell_channel)):
            got.append(m)
            mine = m["parent_header"].get("msg_id") == msg_id
            if mine and m["msg_type"] == "status" and m["content"] == {"execution_state": "idle"}:
                idle = True
            if mine and m["msg_type"] == "execute_reply":
                reply = m["content"]
    return reply or {}, got


def _may_stop_behind() -> bool:
    """Not once the guard is loaded in this process (``ip``): its hooks judge every thread's
    acts, so a shutdown beside a test's cell would be judged with it."""
    return not getattr(sys, "_jupyter_guard_hooked", False)


def shut_behind(shut: Callable[[], None]) -> None:
    """Run ``shut`` (a kernel's shutdown and its clean-up) in a thread, after the one before
    it ended: at most one kernel exits beside the running test. ``wait_stopped`` joins it."""
    wait_stopped()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            shut()
        except BaseException as e:  # noqa: BLE001 - raised again by ``wait_stopped``
            errors.append(e)

    t = threading.Thread(target=run, name="kernel-stop-behind", daemon=True)
    _BEHIND.append((t, errors))
    t.start()


def wait_stopped() -> None:
    """Every kernel stopped behind has exited and its clean-up ran; the first error of one is
    raised here."""
    while _BEHIND:
        t, errors = _BEHIND.pop(0)
        t.join()
        if errors:
            raise errors[0]


@contextmanager
def guarded_kernel(cwd: Path, env: dict[str, str | None] | None = None, *,
                   policy: str | None = None, warehouse: int = 0, ssns: Sequence[str] = (),
                   connect: bool = False, stop_behind: bool = False) -> Iterator[Kernel]:
    """A kernel in ``cwd`` with ``%load_ext jupyter_guard`` done, its audit in
    ``cwd/audit.duckdb`` (unless ``env`` names one) and no inherited policy; ``policy`` is YAML
    written to ``cwd/policy.yaml`` and used; ``warehouse`` makes ``cwd/wh.duckdb`` with that
    many customers first (``ssns``: the first ones' SSNs, as ``make_warehouse``), and
    ``connect`` opens it as ``con`` (with ``import duckdb``); ``stop_behind``: a fixture's
    kernel, shut down in a thread as the next test starts (``Kernel.stop``)."""
    from tests.conftest import make_warehouse

    full: dict[str, str | None] = {"JUPYTER_GUARD_AUDIT": str(cwd / "audit.duckdb"),
                                   "JUPYTER_GUARD_POLICY": None, **(env or {})}
    if policy is not None:
        (cwd / "policy.yaml").write_text(policy)
        full["JUPYTER_GUARD_POLICY"] = str(cwd / "policy.yaml")
    if warehouse:
        make_warehouse(cwd / "wh.duckdb", rows=warehouse, ssns=ssns)
    k = Kernel(cwd, full)
    try:
        k.ok("%load_ext jupyter_guard")
        if connect:
            k.ok("import duckdb\ncon = duckdb.connect('wh.duckdb')")
        yield k
    finally:
        k.stop(behind=stop_behind)
