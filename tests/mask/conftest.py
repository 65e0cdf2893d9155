"""A real ipykernel with masking installed directly (the kernel wiring is not needed here)."""
from __future__ import annotations

import os
import queue
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

SETUP = """
from jupyter_guard.kernel import display as _mask
from jupyter_guard.mask.settings import MaskSettings as _MS
_mask_settings = {"s": _MS(columns=("*email*", "*ssn*", "*card*", "*phone*"),
                           detectors=("email", "ssn", "card", "phone", "iban", "secret"),
                           strategy="partial")}
_masker = _mask.install(get_ipython(), lambda: _mask_settings["s"])
"""


@dataclass
class Result:
    """Every iopub message of one execution, and the reply."""

    reply: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def outputs(self) -> list[dict[str, Any]]:
        kinds = {"execute_result", "display_data", "stream", "error", "update_display_data"}
        return [m for m in self.messages if m["msg_type"] in kinds]

    def text(self) -> str:
        """Every string of every output message (all mime types, stream text, tracebacks)."""
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

        for msg in self.outputs:
            walk(msg["content"])
        return "\n".join(parts)

    def mimes(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for msg in self.outputs:
            for mime, value in msg["content"].get("data", {}).items():
                out[mime] = out.get(mime, "") + str(value)
        return out


class Kernel:
    def __init__(self, client: Any) -> None:
        self.client = client

    def run(self, code: str, timeout: float = 60) -> Result:
        msg_id = self.client.execute(code, store_history=True)
        reply = self.client.get_shell_msg(timeout=timeout)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.client.get_shell_msg(timeout=timeout)
        result = Result(reply=reply["content"])
        while True:
            try:
                msg = self.client.get_iopub_msg(timeout=timeout)
            except queue.Empty:  # pragma: no cover - kernel died
                raise AssertionError(f"no idle status for {code!r}") from None
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            result.messages.append(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return result

    def ok(self, code: str) -> Result:
        result = self.run(code)
        assert result.reply["status"] == "ok", result.text()
        return result


@pytest.fixture(scope="module")
def kernel() -> Iterator[Kernel]:
    from jupyter_client.manager import start_new_kernel

    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(ROOT), env=env,
                              extra_arguments=[], startup_timeout=60)
    try:
        k = Kernel(kc)
        k.ok(SETUP)
        yield k
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
