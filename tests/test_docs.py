"""Every policy key, rule id, setting and command is documented in the README."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from jupyter_guard.cli import parser
from jupyter_guard.config import ENV, JupyterGuard
from jupyter_guard.policy import validate
from jupyter_guard.policy.rules import RULES

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


@pytest.mark.parametrize("key", [*validate.KEYS, *validate.SENSITIVE_KEYS, *validate.ROLE_KEYS,
                                 *validate.RULE_KEYS, *validate.MATCH_KEYS, *validate.SQL_KEYS,
                                 *validate.CHILDREN_KEYS, *validate.APPROVALS_KEYS, "allow_hosts"])
def test_policy_keys(key):
    assert re.search(rf"`{re.escape(key)}`", README), key


@pytest.mark.parametrize("rule", [r for r, _ in RULES] + ["guard-error", "unmask"])
def test_rule_ids(rule):
    assert f"`{rule}`" in README, rule


@pytest.mark.parametrize("var", [*ENV.values(), "JUPYTER_GUARD_SALT"])
def test_environment_variables(var):
    assert f"`{var}`" in README


@pytest.mark.parametrize("trait", sorted(JupyterGuard.class_trait_names(config=True)))
def test_traitlets(trait):
    assert f"c.JupyterGuard.{trait}" in README


def test_cli_subcommands():
    sub = next(a for a in parser()._actions if a.dest == "command")
    for name in sub.choices:  # type: ignore[union-attr]
        assert re.search(rf"`{name}\b", README), name
