"""A guarded child's first file write and first network event load what checking them needs and
no more (each module a child imports costs every guarded child that writes, on a loaded machine
tens of milliseconds): a real child with the environment a guarded kernel gives its children."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_guard.kernel.children import child_env
from jupyter_guard.policy.load import default_path, load

ROOT = Path(__file__).resolve().parents[2]


class _Guard:   # the fields ``child_env`` reads of the kernel's guard
    session_id, user, actor = "test", "alice", "human"

    def __init__(self, audit: Path) -> None:
        self.policy = load(default_path())
        self.settings = {"audit": str(audit)}


def _child(tmp_path: Path, code: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_GUARD_")}
    env.update(child_env(_Guard(tmp_path / "audit.duckdb"), {}))
    env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], str(ROOT)])
    probe = ("\nimport sys\nprint('LOADED', sorted(m for m in ("
             "'jupyter_guard.analyze.children', 'importlib.abc', 'logging', 'tempfile', "
             "'jupyter_core.paths', 'sqlglot', 'pandas', 'jupyter_guard.hooks.exit_files', "
             "'jupyter_guard.hooks.events', 'numpy') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code + probe], env=env, cwd=tmp_path, text=True,
                       capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if x.startswith("LOADED"))
    return {"loaded": set(ast.literal_eval(line.split(" ", 1)[1])), "stdout": r.stdout}


@pytest.mark.timeout(600)
def test_a_childs_first_write_is_checked_without_the_child_analysis(tmp_path: Path) -> None:
    r = _child(tmp_path, "open('out.csv', 'w').write('id,city\\n1,Paris\\n')")
    assert (tmp_path / "out.csv").read_text() == "id,city\n1,Paris\n"
    assert "jupyter_guard.hooks.exit_files" in r["loaded"]   # the write went through the exits
    assert not r["loaded"] & {"jupyter_guard.analyze.children", "importlib.abc", "logging",
                              "tempfile", "sqlglot", "pandas", "numpy"}, r["loaded"]


@pytest.mark.timeout(600)
def test_a_childs_first_network_event_does_not_look_for_jupyters_folders(tmp_path: Path) -> None:
    r = _child(tmp_path, "import socket\nsocket.getaddrinfo('localhost', 80)\nprint('LOOKED')")
    assert "LOOKED" in r["stdout"]
    assert "jupyter_guard.hooks.events" in r["loaded"]   # the kernel's network handlers judged it
    assert not r["loaded"] & {"jupyter_core.paths", "sqlglot", "pandas"}, r["loaded"]
