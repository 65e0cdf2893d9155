"""jupysql template structure checks as a decision table (jinja2 renders, as jupysql does)."""
from __future__ import annotations

import doctest

import pytest
from jinja2 import Template

from jupyter_guard.analyze import template
from jupyter_guard.analyze.template import skeleton, structure_change


def test_doctests() -> None:
    result = doctest.testmod(template)
    assert result.attempted and not result.failed


def check(tpl: str, **ns: object) -> str:
    return structure_change(tpl, lambda text: Template(text).render(ns))


@pytest.mark.parametrize("tpl, ns", [
    pytest.param("SELECT * FROM t WHERE id = {{v}}", {"v": 5}, id="int"),
    pytest.param("SELECT * FROM t WHERE id = {{v}}", {"v": -5}, id="negative"),
    pytest.param("SELECT * FROM t WHERE x = {{v}}", {"v": 2.5}, id="float"),
    pytest.param("SELECT * FROM t WHERE c = '{{v}}'", {"v": "Paris"}, id="in-quotes"),
    pytest.param("SELECT * FROM t WHERE c = '{{v}}'", {"v": "Saint Denis"}, id="space-in-quotes"),
    pytest.param("SELECT * FROM t WHERE c = {{v}}", {"v": "'Paris'"}, id="quoted-value"),
    pytest.param("SELECT * FROM {{v}}", {"v": "main.t"}, id="dotted"),
    pytest.param("SELECT {{ v | upper }} FROM t", {"v": "c"}, id="filter"),
    pytest.param("SELECT * FROM t\nWHERE id = {{v}}\n", {"v": 1}, id="trailing-newline"),
    pytest.param("SELECT {% for c in cs %}{{c}}{{ ',' if not loop.last }}{% endfor %} FROM t",
                 {"cs": ["a", "b"]}, id="jinja-loop-unchecked"),
])
def test_benign(tpl: str, ns: dict) -> None:
    assert check(tpl, **ns) == ""


@pytest.mark.parametrize("tpl, ns", [
    pytest.param("SELECT * FROM t WHERE id = {{v}}", {"v": "1; DROP TABLE t"}, id="statement"),
    pytest.param("SELECT * FROM t WHERE id = {{v}}", {"v": "1 OR 1=1"}, id="or"),
    pytest.param("SELECT * FROM t WHERE id = {{v}} AND k = 1", {"v": "1 --"}, id="line-comment"),
    pytest.param("SELECT * FROM t WHERE id = {{v}}", {"v": "1 /**/"}, id="block-comment"),
    pytest.param("SELECT * FROM t WHERE c = '{{v}}'", {"v": "x' OR '1'='1"}, id="quote"),
    pytest.param("SELECT * FROM t WHERE c = '{{v}}' AND k = 1", {"v": "x' --"},
                 id="quote-comment"),
    pytest.param("SELECT * FROM {{v}}", {"v": "t UNION SELECT * FROM s"}, id="union"),
    pytest.param("SELECT * FROM t WHERE id IN ({{v}})", {"v": "1) OR (1=1"}, id="paren"),
    pytest.param("SELECT * FROM t WHERE id = {{v}}", {"v": "(SELECT max(id) FROM s)"},
                 id="subquery"),
])
def test_structure_changes(tpl: str, ns: dict) -> None:
    assert check(tpl, **ns) != ""


def test_skeleton_keeps_the_statement_kind() -> None:
    assert skeleton("DROP TABLE {{t}}") == "DROP TABLE __jg_tpl_0__"
