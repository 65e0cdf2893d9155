"""jupysql ``{{var}}`` templates: judge the structure, and refuse values that change it.

A template's *skeleton* puts one neutral placeholder where each ``{{ expression }}`` stands. The
skeleton is what the static analysis judges (a value cannot turn a SELECT into a DROP if the
check below holds). ``structure_change`` compares the rendered SQL with the skeleton token by
token: each value must fill its slot with one literal or name (a negative number or a dotted
name is fine); extra statements, new operators such as an ``OR`` branch, a comment that cuts the
query, or a quote that closes its string are structure changes (rule ``template-injection``).
Pure: sqlglot's tokenizer only.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

EXPR = re.compile(r"\{\{(.*?)\}\}", re.S)
PLACEHOLDER = "__jg_tpl_{}__"


def is_template(sql: str) -> bool:
    return "{{" in sql or "{%" in sql or "{#" in sql


def parts(template: str) -> tuple[list[str], list[str]]:
    """Literal parts and the expressions between them.

    >>> parts("SELECT {{ a }} FROM {{b}}")
    (['SELECT ', ' FROM ', ''], ['a', 'b'])
    """
    literals, exprs, pos = [], [], 0
    for m in EXPR.finditer(template):
        literals.append(template[pos:m.start()])
        exprs.append(m.group(1).strip())
        pos = m.end()
    literals.append(template[pos:])
    return literals, exprs


def skeleton(template: str) -> str:
    """The template with a neutral placeholder per expression.

    >>> skeleton("DELETE FROM t WHERE id = {{ oid }} AND c = '{{c}}'")
    "DELETE FROM t WHERE id = __jg_tpl_0__ AND c = '__jg_tpl_1__'"
    """
    literals, _exprs = parts(template)
    out = [literals[0]]
    for n, lit in enumerate(literals[1:]):
        out += [PLACEHOLDER.format(n), lit]
    return "".join(out)


def _tokens(sql: str, dialect: str) -> list[Any] | None:
    from sqlglot.dialects.dialect import Dialect

    try:
        return list(Dialect.get_or_raise(dialect).tokenize(sql))
    except Exception:  # noqa: BLE001 - an untokenizable rendering cannot be shown to keep the structure
        return None


def _slot(tokens: Sequence[Any]) -> bool:
    """Do these tokens (one value, alone) make a single literal or name?"""
    from sqlglot import TokenType as T

    kinds = [t.token_type for t in tokens]
    if any(t.comments for t in tokens):
        return False
    if len(kinds) == 1:
        return kinds[0] in (T.NUMBER, T.STRING, T.VAR, T.NULL, T.TRUE, T.FALSE) or bool(
            re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", tokens[0].text))
    if kinds in ([T.DASH, T.NUMBER], [T.PLUS, T.NUMBER]):
        return True
    names = kinds[0::2]
    return len(kinds) % 2 == 1 and all(k == T.DOT for k in kinds[1::2]) and all(
        re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", tokens[i].text) for i in range(0, len(kinds), 2)
    ) and len(names) <= 3


def structure_change(template: str, render: Callable[[str], str],
                     dialect: str = "duckdb") -> str:
    """'' when every value fills its slot, else what changed (for the refusal's reason).

    ``render`` renders a template text exactly as jupysql does (jinja2 with the user namespace).

    >>> values = {"oid": "1; DROP TABLE customers", "ok": "7"}
    >>> def render(t):
    ...     return EXPR.sub(lambda m: values[m.group(1).strip()], t)
    >>> structure_change("SELECT * FROM t WHERE id = {{ok}}", render)
    ''
    >>> structure_change("SELECT * FROM t WHERE id = {{oid}}", render)
    '{{oid}} is not one value or name (1; DROP TABLE customers)'
    """
    literals, exprs = parts(template)
    if not exprs or "{%" in template or "{#" in template:
        return ""   # jinja statements: only the rendered SQL is judged (by effect, at run time)
    values = [render("{{" + e + "}}") for e in exprs]
    rendered = render(template)
    joined = "".join(x for pair in zip(literals, values + [""]) for x in pair)
    if rendered not in (joined, joined[:-1] if joined.endswith("\n") else joined):
        # (jinja drops one trailing newline)
        return "the rendered SQL is not the template with its values"
    shape = _tokens(skeleton(template), dialect)
    real = _tokens(rendered, dialect)
    if shape is None or real is None:
        return "the rendered SQL cannot be read"
    if sum(len(t.comments) for t in real) != sum(len(t.comments) for t in shape):
        return "a value adds a comment"
    j = 0
    for t in shape:
        marker = re.fullmatch(r"__jg_tpl_(\d+)__", t.text)
        if marker and t.token_type.name != "STRING":
            n = int(marker.group(1))
            alone = _tokens(values[n], dialect) or []
            if not _slot(alone):
                return f"{{{{{exprs[n]}}}}} is not one value or name ({values[n][:60]})"
            got = real[j:j + len(alone)]
            if [g.text for g in got] != [a.text for a in alone]:
                tail = rendered[got[0].start:][:60] if got else ""
                return f"{{{{{exprs[n]}}}}} adds tokens after its value ({tail})"
            j += len(alone)
            continue
        if j >= len(real):
            return "a value cuts the rest of the query"
        r = real[j]
        expected = re.sub(r"__jg_tpl_(\d+)__", lambda m: values[int(m.group(1))], t.text)
        if r.token_type != t.token_type or r.text != expected:
            return f"a value changes the statement near {rendered[r.start:][:60]!r}"
        j += 1
    if j != len(real):
        return f"a value adds to the statement ({rendered[real[j].start:][:60]})"
    return ""
