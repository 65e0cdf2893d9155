"""The ``jupyter-guard`` program (``jupyter guard`` finds it on PATH): a light launcher.

A plain subcommand (``jupyter guard report``) with no Jupyter option on its command line and no
``jupyter_guard_config.py``/``.json`` in any folder Jupyter reads config from goes straight to
``cli.py``: the ``JupyterApp`` of ``cli_jupyter.py`` (``jupyter_core.application``, traitlets'
``Application``, asyncio) would load nothing, and importing it is most of a short command's
start-up. Everything else (a config file, ``--Class.trait=value``, ``--help-all``, no command)
goes through the ``JupyterApp``, so Jupyter's config conventions hold.
"""
from __future__ import annotations

import os
import sys
from typing import Any

CONFIG_NAME = "jupyter_guard_config"


def _config_files() -> bool:
    """Whether a ``jupyter_guard_config`` file exists where ``JupyterApp`` would load it."""
    from jupyter_core.paths import jupyter_config_dir, jupyter_config_path

    folders = [jupyter_config_dir(), *jupyter_config_path()]
    return any(os.path.exists(os.path.join(d, f"{CONFIG_NAME}.{x}"))
               for d in folders for x in ("py", "json"))


def plain(argv: list[str]) -> bool:
    """Whether ``cli.py`` alone runs this command line exactly as the ``JupyterApp`` would."""
    from jupyter_guard.cli import subcommand_help
    from jupyter_guard.cli_json import jupyter_option

    commands = subcommand_help()
    at = next((i for i, a in enumerate(argv) if a in commands), -1)
    if at < 0 or any(jupyter_option(a) for a in argv[:at]):
        return False
    return not _config_files()


def launch(argv: list[str] | None = None) -> None:
    """Run ``jupyter guard`` with ``argv`` (default: the process's arguments)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if plain(args):
        from jupyter_guard import cli

        sys.exit(cli.main(args))
    from traitlets.config import Application

    from jupyter_guard.cli_jupyter import GuardApp

    Application.clear_instance()
    GuardApp.launch_instance(args)


def __getattr__(name: str) -> Any:   # the app's classes, where they were before the launcher
    if name in ("GuardApp", "NAME"):
        from jupyter_guard import cli_jupyter

        return getattr(cli_jupyter, name)
    raise AttributeError(name)


if __name__ == "__main__":  # pragma: no cover
    launch()
