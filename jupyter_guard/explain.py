"""The decision for a piece of code or SQL without running it (``jupyter guard explain``)."""
from __future__ import annotations

from jupyter_guard.analyze.pysinks import looks_like_sql
from jupyter_guard.model import Analysis, Verdict, combine
from jupyter_guard.policy.decide import decide
from jupyter_guard.policy.model import Policy
from jupyter_guard.policy.rules import Context


def analyse(code: str, dialect: str = "duckdb") -> Analysis:
    from jupyter_guard.analyze.python import analyze_python
    from jupyter_guard.analyze.shell import analyze_shell
    from jupyter_guard.analyze.sql import analyze_sql
    from jupyter_guard.connections.base import for_dialect

    def sql(text: str, d: str = dialect) -> Analysis:
        return analyze_sql(text, d, classify=for_dialect(d).classifier)

    def shell(cmd: str) -> Analysis:
        return analyze_shell(cmd, sql=lambda s, d: sql(s, d).intents)

    if looks_like_sql(code) and not code.lstrip().startswith(("import ", "from ")):
        return sql(code)
    from IPython.core.inputtransformer2 import TransformerManager

    return analyze_python(TransformerManager().transform_cell(code), sql=sql, shell=shell)


def explain(
    code: str, policy: Policy, context: Context | None = None
) -> tuple[Verdict, tuple[Verdict, ...]]:
    a = analyse(code)
    verdicts = decide(a.intents, policy, context or Context())
    if a.errors and not verdicts:
        verdicts = (Verdict("block", "sql-parse-error", a.errors[0]),)
    return combine(verdicts), verdicts


def explain_text(code: str, policy: Policy, context: Context | None = None) -> str:
    overall, verdicts = explain(code, policy, context)
    lines = [f"decision: {overall.decision}", f"rule:     {overall.rule_id or '-'}",
             f"reason:   {overall.reason}"]
    for v in verdicts:
        i = v.intent
        if i is not None:
            lines.append(f"  - {i.action} {i.target or ''}".rstrip() + f": {v.decision}"
                         + (f" [{v.rule_id}] {v.reason}" if v.rule_id else ""))
    if overall.refuses:
        lines.append(
            "note:     row-count estimates need a database; `explain` decides on the text alone"
        )
    return "\n".join(lines)
