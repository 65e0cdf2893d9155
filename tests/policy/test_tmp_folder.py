"""A notebook folder under the system temp dir keeps its protected paths (FACTS: red-team pitfall);
temp-dir scratch elsewhere stays free to clean up."""
from __future__ import annotations

import pytest

from jupyter_guard.model import Intent
from jupyter_guard.policy.decide import decide
from jupyter_guard.policy.load import load_or_refuse
from jupyter_guard.policy.rules import Context

POLICY = load_or_refuse(None)
CTX = Context(cwd="/tmp/clone")


@pytest.mark.parametrize("intent, decision", [
    pytest.param(Intent("file.delete", "path", "data", recursive=True), "block", id="rm-rf-data"),
    pytest.param(Intent("file.delete", "path", "/tmp/clone/data/keep.csv"), "block",
                 id="absolute-protected-file"),
    pytest.param(Intent("file.delete", "path", "warehouse.duckdb"), "block", id="duckdb-file"),
    pytest.param(Intent("file.move", "path", "data"), "block", id="move-data"),
    pytest.param(Intent("file.delete", "path", "scratch.txt"), "allow",
                 id="own-scratch-file"),
    pytest.param(Intent("file.delete", "path", "/tmp/other/run", recursive=True), "allow",
                 id="temp-elsewhere"),
])
def test_notebook_folder_under_tmp(intent: Intent, decision: str) -> None:
    (v,) = decide((intent,), POLICY, CTX)
    assert v.decision == decision, v
