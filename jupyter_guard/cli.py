"""``jupyter guard ...`` (and ``jupyter-guard ...``): the governance and setup commands (report,
verify, export, replay, approvals, policy checks, enable/disable). Every subcommand that reads
the audit file first brings it up to date."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from jupyter_guard.cli_commands import audit_path, policy_of
from jupyter_guard.cli_parser import parser as parser  # re-exported: the tests and docs read it

# the subcommands are in ``cli_commands.py``, their parser in ``cli_parser.py``


def _json(args: argparse.Namespace) -> tuple[int, Any] | None:
    """``--format json`` for the commands that print text otherwise (see ``cli_json``)."""
    from jupyter_guard import cli_json as j

    own = ("report", "requests", "replay")   # they print their own JSON document
    if getattr(args, "format", None) != "json" or args.command in own:
        return None
    if getattr(args, "policy_cmd", None) == "schema":   # a JSON document already
        return None
    if args.command == "policy":
        return j.json_policy_check(args)
    if args.command == "explain":
        return j.json_explain(args, policy_of(args))
    if args.command == "verify":   # with --authority, the command prints its own JSON
        return None if getattr(args, "authority", None) else j.json_verify(audit_path(args))
    if args.command == "export":
        return j.json_export(args, audit_path(args))
    if args.command == "compact":
        return j.json_compact(args, audit_path(args))
    if args.command in ("enable", "disable"):
        return j.json_enable(args)
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()   # approve / deny: their one line, as an object
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = int(args.func(args))
    return rc, {"command": args.command, "request_id": getattr(args, "request_id", None),
                "ok": rc == 0, "message": (out.getvalue() or err.getvalue()).strip()}


def subcommand_help() -> dict[str, str]:
    """Each subcommand's name and one-line help (the ``JupyterApp`` lists them)."""
    sub = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {c.dest: str(c.help or "") for c in sub._choices_actions}


def main(argv: Sequence[str] | None = None, settings: Any = None) -> int:
    """Run one subcommand; ``settings`` is the ``JupyterGuard`` configurable of the calling
    ``JupyterApp`` (Jupyter config files), else the defaults (environment variables win)."""
    args = parser().parse_args(argv)   # usage errors exit 2 (argparse)
    args.settings = settings
    try:
        as_json = _json(args)
        if as_json is not None:
            print(json.dumps(as_json[1], default=str, indent=2))
            return as_json[0]
        return int(args.func(args))
    except Exception as e:  # a one-line message and exit code for known errors; others re-raised
        from jupyter_guard.errors import GuardError

        known = isinstance(e, (GuardError, OSError, ValueError)) or type(e).__name__ == "AuditError"
        if type(e).__module__ in ("duckdb", "_duckdb"):   # a damaged store read by this command
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            print(f"jupyter guard {args.command}: the audit file cannot be read ({first}): run "
                  "`jupyter guard repair` to rebuild it from the journals", file=sys.stderr)
            return 1
        if not known:
            raise
        print(f"jupyter guard {args.command}: {e}", file=sys.stderr)
        if getattr(args, "format", None) == "json":
            print(json.dumps({"command": args.command, "ok": False, "error": str(e)}))
        return 1


if __name__ == "__main__":  # pragma: no cover
    from jupyter_guard.cli_app import launch

    launch()
