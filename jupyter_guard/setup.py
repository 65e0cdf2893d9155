"""``jupyter guard enable/disable``.

Load the guard in every kernel through IPython's startup config.
"""

from __future__ import annotations

import sys
from pathlib import Path

MARK = "# added by `jupyter guard enable`"
LINE = f"c.InteractiveShellApp.extensions.append('jupyter_guard')  {MARK}\n"


def _config_file(sys_prefix: bool) -> Path:
    if sys_prefix:
        return Path(sys.prefix) / "etc" / "ipython" / "ipython_kernel_config.py"
    from IPython.paths import get_ipython_dir

    return Path(get_ipython_dir()) / "profile_default" / "ipython_kernel_config.py"


def enable(sys_prefix: bool = False) -> Path:
    path = _config_file(sys_prefix)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text() if path.exists() else ""
    if MARK not in text:
        path.write_text(text + ("" if text.endswith("\n") or not text else "\n") + LINE)
    return path


def disable(sys_prefix: bool = False) -> Path:
    path = _config_file(sys_prefix)
    if path.exists():
        kept = [ln for ln in path.read_text().splitlines(keepends=True) if MARK not in ln]
        path.write_text("".join(kept))
    return path
