"""Frames of installed libraries are told from user code by where their files are
(``own_code.LIBRARIES``). A site directory that a ``.pth`` file adds (``site.addsitedir``: a
shared environment, or a venv reusing another's packages, as the JupyterHub tests' readable venv
does) counts too: without it every numpy frame there was user code, a numpy import inside the
guard's own work was refused as a frame walk, and the kernel hung. A plain folder on
``sys.path`` (the user's own modules) is no library."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = ("import site, sys\nsite.addsitedir(sys.argv[1])\nsys.path.append(sys.argv[2])\n"
         "from jupyter_guard.hooks import own_code\n"
         "print([p.rstrip('/') in {l.rstrip('/') for l in own_code.LIBRARIES} "
         "for p in sys.argv[1:]])")


def test_a_site_dir_added_by_a_pth_is_a_library_and_a_plain_folder_is_not(tmp_path: Path) -> None:
    shared = tmp_path / "shared" / "lib" / "python3" / "site-packages"
    mine = tmp_path / "my_modules"
    shared.mkdir(parents=True)
    mine.mkdir()
    r = subprocess.run([sys.executable, "-c", PROBE, str(shared), str(mine)],
                       capture_output=True, text=True, timeout=120,
                       cwd=Path(__file__).resolve().parents[2])
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[True, False]", r.stdout + r.stderr
