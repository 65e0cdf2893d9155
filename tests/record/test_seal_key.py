"""The seal key of ``verify`` (``record/seal.py``) is one of the files a cell may not open: a
real guarded kernel is refused through ``open``, ``pathlib``, DuckDB and the shell, and the key
never reaches a message; a twin file beside it reads fine. Its default place is beside the
authority's key."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_guard.record import AuditLog, ingest, seal, verify
from tests.kernelutil import Kernel

pytestmark = pytest.mark.kernel


def test_the_default_seal_key_sits_with_the_authority_files(monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    from jupyter_guard.authority_files import is_authority_file, paths

    monkeypatch.delenv("JUPYTER_GUARD_SEAL_KEY_FILE", raising=False)
    assert seal.key_path() == Path(paths()[0]).parent / "audit.seal.key"
    assert is_authority_file(os.fspath(seal.key_path()))


def test_a_cell_cannot_read_the_seal_key(workdir: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from record_helpers import cell

    key_file = tmp_path / "keys" / "audit.seal.key"
    monkeypatch.setenv("JUPYTER_GUARD_SEAL_KEY_FILE", str(key_file))
    audit = workdir / "audit.duckdb"
    log = AuditLog(audit, background=False)
    cell(log, 1)
    log.close()
    ingest(audit)
    assert verify(audit).ok and key_file.exists()
    assert key_file.stat().st_mode & 0o077 == 0
    secret = key_file.read_bytes().hex()
    twin = tmp_path / "keys" / "notes.txt"
    twin.write_text("hello")
    k = Kernel(workdir, env={"JUPYTER_GUARD_AUDIT": str(audit),
                             "JUPYTER_GUARD_SEAL_KEY_FILE": str(key_file)})
    try:
        assert k.run("%load_ext jupyter_guard").status == "ok"
        for code in (f"print(open({str(key_file)!r}, 'rb').read().hex())",
                     f"import pathlib\nprint(pathlib.Path({str(key_file)!r}).read_bytes().hex())",
                     f"import duckdb\nprint(duckdb.connect().execute(\"SELECT hex(content) FROM "
                     f"read_blob('{key_file}')\").fetchall())",
                     f"!xxd -p {key_file}"):
            r = k.run(code)
            assert secret not in r.everything(), code
            assert "[self-protection]" in r.everything(), (code, r.everything())
        r = k.run(f"print(open({str(twin)!r}).read())")
        assert r.ok and "hello" in r.everything(), r.everything()
    finally:
        k.stop()
