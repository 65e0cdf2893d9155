"""Every docstring example in the package runs: a module with ``>>>`` in it is collected here.

Files are found by reading them, not by importing the package tree, so a module that acts on
import (the child interpreter's ``sitecustomize``) is never imported unless it has examples.
"""
from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "jupyter_guard"


def _with_examples() -> list[str]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if ">>> " in path.read_text(encoding="utf-8"):
            parts = path.relative_to(ROOT.parent).with_suffix("").parts
            found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


MODULES = _with_examples()


def test_the_examples_are_found() -> None:
    assert "jupyter_guard.model" in MODULES and len(MODULES) >= 40


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), report=True)
    assert result.attempted > 0, f"{name} has '>>> ' but no example doctest can run"
    assert result.failed == 0
