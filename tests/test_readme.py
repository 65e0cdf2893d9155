"""README's examples run as written: the quickstart cells in a real kernel (their shown output
compared with what the kernel sends), the policy example through `jupyter guard policy check`, and
the governance queries against the audit file the quickstart produced."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import make_warehouse
from tests.kernelutil import Kernel

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def blocks(start: str, end: str) -> list[tuple[str, str]]:
    text = README[README.index(start):README.index(end)]
    return [(m.group(1), m.group(2).rstrip("\n")) for m in FENCE.finditer(text)]


def expected(shown: str) -> re.Pattern[str]:
    pattern = re.escape(shown).replace("…", ".*").replace(re.escape("<date>"), r"\d{8}")
    return re.compile(pattern)


@pytest.mark.kernel
def test_quickstart_runs_as_written(work_root: Path) -> None:
    d = work_root / "readme"
    (d / "data").mkdir(parents=True)
    make_warehouse(d / "warehouse.duckdb", rows=50)
    cells = blocks("In any notebook", "## What it does")
    assert [lang for lang, _ in cells] == ["python", "text", "python", "python", "text"]
    audit = d / "guard" / "audit.duckdb"   # where the default puts it, under another root
    k = Kernel(d, env={"JUPYTER_GUARD_AUDIT": str(audit),
                       "JUPYTER_GUARD_USER": "alice"})
    try:
        outputs = []
        for lang, text in cells:
            if lang == "python":
                outputs.append(k.run(text))
                continue
            r = outputs[-1]
            shown = ANSI.sub("", "\n".join(r.error["traceback"]) if r.error else r.text).strip()
            assert expected(text).fullmatch(shown), (text, shown)
        first, top, drop = outputs
        assert first.status == "ok" and top.status == "ok" and drop.status == "error"
        assert "@example.com" in top.text and "user1@example.com" not in top.text
        # "Refusals for people and agents": the refusal shown there, for the COPY it names
        (shown_refusal,) = [text for lang, text in blocks("## Refusals for people and agents",
                                                          "The same refusal travels") if not lang]
        stmt = shown_refusal.splitlines()[1].strip().removeprefix("> ")
        copy = k.run(f"%%guarded_sql con\n{stmt}")
        assert copy.status == "error" and not (d / "out.csv").exists()
        assert ANSI.sub("", "\n".join(copy.error["traceback"])).strip() == shown_refusal
        raw = k.run("print(top.email.iloc[1] == 'user1@example.com')")
        assert raw.text.strip() == "True"   # `top` keeps raw values (print masks them)
        assert k.run("print(con.execute('SELECT count(*) FROM customers').fetchone()[0])"
                     ).text.strip() == "50"
    finally:
        k.stop()

    (sql,) = [text for lang, text in blocks("## The audit file", "`jupyter guard verify`")
              if lang == "sql"]
    from jupyter_guard.record import ingest

    ingest(str(audit))
    con = duckdb.connect(str(audit), read_only=True)
    try:
        for statement in [s for s in sql.split(";") if s.strip()]:
            con.execute(statement).fetchall()
        blocked = con.execute("SELECT sum(blocked) FROM blocked_by_user_day "
                              "WHERE user_name = 'alice'").fetchone()
        assert blocked == (2,)   # the quickstart's DROP and the refusals section's COPY
    finally:
        con.close()


def test_policy_example_is_valid(work_root: Path) -> None:
    (yaml,) = [text for lang, text in blocks("### Policy files", "Every key:") if lang == "yaml"]
    path = work_root / "readme-policy.yaml"
    path.write_text(yaml)
    r = subprocess.run([sys.executable, "-m", "jupyter_guard.cli", "policy", "check", str(path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
