"""``jupyter guard`` as a ``jupyter_core`` ``JupyterApp`` (``cli_app.launch`` starts it when it
is needed): Jupyter's config files and conventions around the subcommands of ``cli.py``.

``jupyter guard --help-all`` lists the settings; ``jupyter_guard_config.py`` (or ``.json``) in any
Jupyter config folder sets them, for example ``c.JupyterGuard.audit = "/srv/guard/audit.duckdb"``
(environment variables still win, as in the kernel). Each subcommand keeps its own options,
parsed by ``cli.py``'s argparse parser, so ``jupyter guard report --since 7d --format json`` is
unchanged.
"""
from __future__ import annotations

import sys
from typing import Any

from jupyter_core.application import JupyterApp

from jupyter_guard import __version__
from jupyter_guard.cli_json import jupyter_option as _traitlet
from jupyter_guard.config import JupyterGuard

NAME = "jupyter-guard"


class _Subcommand(JupyterApp):
    """One ``cli.py`` subcommand: Jupyter's config files are loaded, the rest of the command line
    goes to the subcommand's own argparse options."""

    name = NAME
    version = __version__
    classes = [JupyterGuard]  # noqa: RUF012 - a traitlets default, as in Jupyter's own apps
    command = ""
    argv_rest: list[str] = []  # noqa: RUF012 - set per instance by parse_command_line

    def parse_command_line(self, argv: Any = None) -> None:
        self.argv_rest = list(argv or [])

    def start(self) -> None:
        from jupyter_guard import cli

        settings = JupyterGuard(parent=self)
        before = getattr(self.parent, "before", [])   # ``--audit PATH`` given before the command
        self.exit(cli.main([*before, self.command, *self.argv_rest], settings=settings))


def _subcommands() -> dict[str, tuple[Any, str]]:
    from jupyter_guard import cli

    out: dict[str, tuple[Any, str]] = {}
    for name, help_text in cli.subcommand_help().items():
        app = type(f"Guard_{name}", (_Subcommand,), {"command": name, "description": help_text})
        out[name] = (app, help_text)
    return out


class GuardApp(JupyterApp):
    """The governance and setup commands of jupyter_guard."""

    name = NAME
    description = ("Governance and setup commands of jupyter_guard: report, verify, explain, "
                   "approvals, export, compact, replay, enable. `jupyter guard COMMAND --help` "
                   "describes one command.")
    version = __version__
    classes = [JupyterGuard]  # noqa: RUF012 - a traitlets default, as in Jupyter's own apps
    subcommands = _subcommands()

    def initialize(self, argv: Any = None) -> None:
        argv = list(sys.argv[1:] if argv is None else argv)
        if argv and argv[0] == "--version":   # the form the contract and README show
            print(f"jupyter guard {__version__}")
            self.exit(0)
        at = next((i for i, a in enumerate(argv) if a in self.subcommands), 0)
        if at:   # ``jupyter guard --audit PATH verify``: options of cli.py's own parser
            self.before = [a for a in argv[:at] if not _traitlet(a)]
            argv = [a for a in argv[:at] if _traitlet(a)] + argv[at:]
        super().initialize(argv)

    def start(self) -> None:
        if self.subapp is None:   # no command: usage, as argparse would say it
            if self.extra_args:
                print(f"jupyter guard: unknown command '{self.extra_args[0]}'", file=sys.stderr)
            print("usage: jupyter guard COMMAND [options] (jupyter guard --help lists them)",
                  file=sys.stderr)
            self.exit(2)
        super().start()

    def _find_subcommand(self, name: str) -> str:
        return ""   # no external jupyter-guard-NAME programs: every command is built in
