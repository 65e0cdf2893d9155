"""The installed package: the server extension and the prebuilt labextension are enabled and OK."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def _run(*args: str) -> str:
    r = subprocess.run([str(BIN / "jupyter"), *args], capture_output=True, text=True, timeout=120)
    return re.sub(r"\x1b\[[0-9;]*m", "", r.stdout + r.stderr)  # drop colours


def test_server_extension_enabled():
    out = _run("server", "extension", "list")
    assert re.search(r"jupyter_guard\s+enabled", out), out
    assert "jupyter_guard" in out and "OK" in out[out.index("jupyter_guard"):]


def test_labextension_enabled_and_prebuilt():
    out = _run("labextension", "list")
    assert re.search(r"jupyter-guard v[\d.]+ enabled\s+OK", out), out


def test_console_script():
    r = subprocess.run([str(BIN / "jupyter"), "guard", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "explain" in r.stdout
