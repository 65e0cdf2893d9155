"""A real ipykernel driven through jupyter_client, with every iopub message of each cell kept."""
from __future__ import annotations

import os
import queue
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client.manager import KernelManager


@dataclass
class Reply:
    status: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    reply: dict[str, Any] = field(default_factory=dict)

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

    @property
    def error(self) -> dict[str, Any]:
        for m in self.messages:
            if m["msg_type"] == "error":
                return dict(m["content"])
        return {}


class Kernel:
    def __init__(self, cwd: Path, env: dict[str, str] | None = None) -> None:
        self.km = KernelManager(kernel_name="python3")
        full = {**os.environ, **(env or {})}
        full.pop("PYTEST_CURRENT_TEST", None)
        self.km.kernel_spec.argv[0] = sys.executable  # the venv's Python, not whatever is on PATH
        self.km.start_kernel(cwd=str(cwd), env=full, extra_arguments=["--HistoryManager.enabled=False"])
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def run(self, code: str, *, metadata: dict[str, Any] | None = None, timeout: float = 60) -> Reply:
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
                raise TimeoutError(f"no idle status for: {code[:60]}") from None
            if m["parent_header"].get("msg_id") != msg_id:
                continue
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                break
            if m["msg_type"] not in ("status", "execute_input"):
                out.messages.append(m)
        while True:
            r = self.kc.get_shell_msg(timeout=timeout)
            if r["parent_header"].get("msg_id") == msg_id:
                out.reply = r["content"]
                out.status = r["content"]["status"]
                return out

    def stop(self) -> None:
        try:
            self.kc.stop_channels()
        finally:
            self.km.shutdown_kernel(now=False)
