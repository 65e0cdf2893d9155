"""One OS account (a plain jupyter server): the server's private key and approval store are files
the kernel's account could read. The guard refuses every way a cell opens them that it sees:
``open``, ``pathlib``, DuckDB's ``read_text`` and ``duckdb.connect``, a shell command, a child
Python process; the key never reaches any message. Benign twins: a file of the same name
elsewhere, and another file in the server's guard folder, read fine."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.server.test_gate import Alice, open_kernel, stdout

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = pytest.mark.kernel


@pytest.fixture
def env(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.setenv("JUPYTER_GUARD_AUDIT", str(workdir / "audit.duckdb"))
    monkeypatch.delenv("JUPYTER_GUARD_POLICY", raising=False)
    monkeypatch.delenv("JUPYTER_GUARD_AUTHORITY_KEY_FILE", raising=False)
    monkeypatch.delenv("JUPYTER_GUARD_APPROVALS_FILE", raising=False)
    (workdir / "authority.key").write_text("not the server's key\n")
    return {"dir": workdir}


@pytest.fixture
def jp_server_config(env: dict[str, Path]) -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_guard": True},
                          "identity_provider_class": Alice}}


def everything(result: dict[str, Any]) -> str:
    return json.dumps([m["content"] for m in result["iopub"]] + [result["reply"]["content"]])


ATTEMPTS = {
    "open": "print(open(KEY).read())",
    "pathlib": "import pathlib\nprint(pathlib.Path(KEY).read_bytes())",
    "duckdb-read_text": "import duckdb\nprint(duckdb.connect().execute("
                        "f\"SELECT content FROM read_text('{KEY}')\").fetchall())",
    "duckdb-glob": "import duckdb, os\nprint(duckdb.connect().execute(f\"SELECT content "
                   "FROM read_text('{os.path.dirname(KEY)}/*.key')\").fetchall())",
    "duckdb-connect": "import duckdb\nduckdb.connect(KEY)",
    "shell": "!cat {KEY}",
    "shell-copy": "!cp {KEY} copied.pem && cat copied.pem",
    "built-path": "k = KEY[:-3] + 'key'\nprint(open(k).read())",
    "symlink": "import os\nos.symlink(KEY, 'lnk')\nprint(open('lnk').read())",
    "copy": "import shutil\nshutil.copy(KEY, 'k.pem')\nprint(open('k.pem').read())",
    "os-open": "import os\nfd = os.open(KEY, os.O_RDONLY)\nprint(os.read(fd, 4096))",
    "store": "print(open(STORE).read())",
    "child-argv": "import subprocess, sys\nr = subprocess.run([sys.executable, '-c', "
                  "'import sys; print(open(sys.argv[1]).read())', KEY], capture_output=True, "
                  "text=True)\nprint(r.returncode, r.stdout, r.stderr)",
    # the path only the child computes: its own guard refuses the read
    "child": "import subprocess, sys\nr = subprocess.run([sys.executable, '-c', "
             "'import os; from jupyter_core.paths import jupyter_data_dir as d; "
             "print(open(os.path.join(d(), \"guard\", \"authority.key\")).read())'], "
             "capture_output=True, text=True)\nprint(r.returncode, r.stdout, r.stderr)",
}


async def test_cells_cannot_read_the_servers_key_or_store(
        jp_fetch: Any, jp_ws_fetch: Any, env: dict[str, Path]) -> None:
    from jupyter_guard.authority_files import paths

    key, _store = paths()
    assert Path(key).exists() and Path(key).stat().st_mode & 0o077 == 0
    pem = Path(key).read_text()
    kid, client = await open_kernel(jp_fetch, jp_ws_fetch, v1=True)
    assert (await client.execute("%load_ext jupyter_guard"))["reply"]["content"]["status"] == "ok"
    # the kernel finds the same paths as its server (the same environment)
    found = await client.execute("from jupyter_guard.authority_files import paths\n"
                                 "KEY, STORE = paths()\nprint(KEY)")
    assert stdout(found).strip() == key
    await client.execute("print(1)")   # the store exists once the server wrote it
    for name, code in ATTEMPTS.items():
        got = await client.execute(code)
        text = everything(got)
        assert "PRIVATE KEY" not in text and pem.splitlines()[1] not in text, (name, text)
        reply = got["reply"]["content"]
        if name == "child":   # the child is refused; the cell prints its one-line refusal
            assert "[self-protection]" in stdout(got) and "authority file" in stdout(got), text
            assert not stdout(got).startswith("0 "), text
        else:
            assert reply["status"] == "error", (name, text)
            assert "[self-protection]" in reply["evalue"], (name, reply)
    # benign twins: a file of the same name elsewhere, another file in the guard folder
    other = env["dir"] / "authority.key"
    twin = await client.execute(f"print(open({str(other)!r}).read())")
    assert stdout(twin).strip() == "not the server's key"
    readme = Path(key).parent / "notes.txt"
    readme.write_text("hello")
    near = await client.execute(f"print(open({str(readme)!r}).read())")
    assert stdout(near).strip() == "hello"
    assert Path(key).read_text() == pem
    await jp_fetch("api", "kernels", kid, method="DELETE")
