"""A policy that cannot be read, decoded, parsed or validated closes the door: every cell is
refused (``guard-error``) with the file, the line and the fix; ``%guard status`` still works, and
the fixed file is picked up by ``%guard reload`` or by the next cell after it changes."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import make_warehouse
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel

GOOD = "extends: default\nrules:\n  - id: no-tmp-writes\n    match: {actions: ['file.write']}\n" \
       "    action: block\n    message: team rule\n"
BROKEN = {
    "not-utf8": (b"extends: default\nmode: enforce\nname: caf\xe9\n", ":3:", "UTF-8"),
    "bad-yaml": (b"extends: default\nmode: [enforce\n", ":", "not valid YAML"),
    "invalid": (b"extends: default\nmode: enforse\n", ":2:", "Did you mean 'enforce'"),
    "missing": (None, ":1:", "cannot read"),
    "not-a-mapping": (b"- just\n- a list\n", ":1:", "mapping"),
    "bad-parent": (b"extends: nowhere.yaml\n", ":1:", "cannot read"),
    "wrong-type": (b"extends: default\nsensitive: {per_column: [a, b]}\n", ":2:", "per_column"),
    # nine lists of nine aliases: 387 million values once expanded ("billion laughs")
    "alias-bomb": (b"a: &a [x, x, x, x, x, x, x, x, x]\n" + b"".join(
        f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n".encode()
        for a, b in zip("abcdefgh", "bcdefghi")), ":", "aliases"),
    # a failed save: nothing, or only comments, is no policy (never the built-in default)
    "empty": (b"", ":1:", "is empty"),
    "comments-only": (b"# the team's policy\n\n", ":1:", "is empty"),
    # YAML keeps the last of two keys: the stricter line above it would vanish without a word
    "duplicate-key": (b"extends: default\nmode: enforce\nmode: audit\n", ":3:", "given twice"),
    "duplicate-nested": (b"extends: default\nsensitive:\n  strategy: redact\n  strategy: partial\n",
                         ":4:", "'sensitive.strategy' is given twice (first at line 3)"),
    "too-large": (b"extends: default\n" + b"# padding\n" * 120_000, ":1:", "more than a policy"),
}
ATTACKS = ("con.execute('DROP TABLE customers')", "!rm -rf data",
           "import shutil; shutil.rmtree('data')")


def _setup(tmp: Path, body: bytes | None) -> tuple[Path, Path]:
    make_warehouse(tmp / "wh.duckdb")
    (tmp / "data").mkdir()
    (tmp / "data" / "keep.txt").write_text("keep")
    pol = tmp / "policy.yaml"
    if body is not None:
        pol.write_bytes(body)
    return pol, tmp / "wh.duckdb"


def _tables(db: Path) -> set[str]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()


@pytest.mark.parametrize("form", list(BROKEN), ids=list(BROKEN))
def test_a_broken_policy_refuses_every_cell_until_fixed_and_reloaded(tmp_path: Path, form: str):
    body, line, words = BROKEN[form]
    pol, db = _setup(tmp_path, body)
    k = Kernel(tmp_path, {"JUPYTER_GUARD_POLICY": str(pol),
                          "JUPYTER_GUARD_AUDIT": str(tmp_path / "audit.duckdb")})
    try:
        load = k.run("%load_ext jupyter_guard")
        assert load.status == "ok", load.text      # loading never crashes, the guard is on
        assert str(pol) in load.text and words in load.text and "%guard reload" in load.text
        opened = k.run(f"import duckdb\ncon = duckdb.connect({str(db)!r})")
        assert opened.status == "error" and "guard-error" in opened.text
        for code in ATTACKS + ("x = 1",):
            r = k.run(code)
            assert r.status == "error" and "guard-error" in r.text, (code, r.text)
            assert f"{pol}{line}" in r.text or (line == ":" and str(pol) in r.text)
            assert "%guard reload" in r.text and "policy check" in r.text
        assert (tmp_path / "data" / "keep.txt").read_text() == "keep"
        assert "customers" in _tables(db)
        status = k.run("%guard status")
        assert status.status == "ok" and "BROKEN" in status.text and str(pol) in status.text
        # fixed file + %guard reload: the team's own rule is in force, nothing fell back
        pol.write_text(GOOD)
        assert k.run("%guard reload").status == "ok"
        assert k.run("x = 1\nx").status == "ok"
        team = k.run("open('new.txt', 'w').write('x')")
        assert team.status == "error" and "no-tmp-writes" in team.text
        assert not (tmp_path / "new.txt").exists()
        drop = k.run(f"import duckdb\ncon = duckdb.connect({str(db)!r})\n"
                     "con.execute('DROP TABLE customers')")
        assert drop.status == "error" and "destructive-ddl" in drop.text
        assert "customers" in _tables(db)
    finally:
        k.stop()


def _touch_later(p: Path, text: str) -> None:
    """Write new content with an mtime that differs even on coarse-clock file systems."""
    before = p.stat().st_mtime_ns if p.exists() else 0
    p.write_text(text)
    if p.stat().st_mtime_ns == before:
        os.utime(p, ns=(before + 1_000_000, before + 1_000_000))


def test_a_policy_changed_under_a_running_kernel_is_noticed(tmp_path: Path):
    pol, db = _setup(tmp_path, GOOD.encode())
    k = Kernel(tmp_path, {"JUPYTER_GUARD_POLICY": str(pol),
                          "JUPYTER_GUARD_AUDIT": str(tmp_path / "audit.duckdb")})
    try:
        assert k.run("%load_ext jupyter_guard").status == "ok"
        assert k.run(f"import duckdb\ncon = duckdb.connect({str(db)!r})").status == "ok"
        assert k.run("y = 1").status == "ok"
        _touch_later(pol, "extends: default\nmode: audit\nmax_affected_rows: many\n")
        first = k.run("y = 2")   # told once, with the line, and refused
        assert first.status == "error" and "guard-error" in first.text
        assert f"{pol}:3:" in first.text
        again = k.run("con.execute('DROP TABLE customers')")
        assert again.status == "error" and "guard-error" in again.text
        # a fixed file is picked up by the next cell without a reload
        _touch_later(pol, GOOD.replace("team rule", "team rule v2"))
        ok = k.run("con.execute('SELECT count(*) FROM customers').fetchone()[0]")
        assert ok.status == "ok" and "5000" in ok.text and "revision" in ok.text
        team = k.run("open('other.txt', 'w').write('x')")
        assert team.status == "error" and "team rule v2" in team.text
        # a file emptied under the kernel (a failed save) refuses: it is not the default
        _touch_later(pol, "")
        empty = k.run("y = 3")
        assert empty.status == "error" and "guard-error" in empty.text and "is empty" in empty.text
        assert (tmp_path / "other.txt").exists() is False
        # a deleted policy file refuses too (never the default)
        pol.unlink()
        gone = k.run("y = 4")
        assert gone.status == "error" and "cannot read" in gone.text
        assert k.run("%guard status").status == "ok"
        later = k.run("y = 5")   # told once: the change notice is not repeated on every cell
        assert later.status == "error" and "guard-error" in later.text
        assert "jupyter_guard: the policy is broken" not in later.text.split("Blocked")[0]
    finally:
        k.stop()
