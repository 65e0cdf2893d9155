"""``jupyter guard`` on Jupyter's conventions: ``--version``, ``--format json`` on every command,
exit codes (0 allowed or done, 1 blocked or failed, 2 usage), durations like ``7d``.

Each ``json_*`` function does what its text command does and returns ``(exit code, object)``;
``cli.main`` prints the object as one JSON document when ``--format json`` is given.
"""
from __future__ import annotations

import argparse
import datetime as dt
import re
from typing import Any

EXIT_OK, EXIT_BLOCKED, EXIT_USAGE = 0, 1, 2
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$", re.I)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def duration(text: str) -> dt.timedelta:
    """``7d``, ``12h``, ``30m``, ``2w``, ``90s`` as a timedelta.

    >>> duration("7d"), duration("1.5h")
    (datetime.timedelta(days=7), datetime.timedelta(seconds=5400))
    """
    m = _DURATION.match(text or "")
    if not m:
        raise ValueError(f"{text!r} is not a duration: use a number and a unit, like 7d, 12h, 30m")
    return dt.timedelta(**{_UNITS[m.group(2).lower()]: float(m.group(1))})


def since(text: str | None, now: dt.datetime | None = None) -> str | None:
    """``--since``: a duration back from now (``7d``) or a date/datetime (ISO), as naive UTC ISO.

    >>> since("2d", dt.datetime(2026, 1, 10))
    '2026-01-08T00:00:00'
    >>> since("2026-01-02")
    '2026-01-02'
    """
    if not text:
        return None
    if _DURATION.match(text):
        now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        return (now - duration(text)).isoformat()
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--since {text!r}: give a date (2026-01-31), a datetime, or a duration "
                         "(7d, 12h)") from None
    return text


def since_arg(text: str) -> str:
    """argparse ``type=`` for ``--since``: a usage error (exit 2) when it is neither."""
    try:
        return since(text) or ""
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def duration_arg(text: str) -> str:
    """argparse ``type=`` for durations: the text, once it is known to be one."""
    try:
        duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def days(text: str) -> float:
    """``compact --older-than``: a duration in days (``90d``, ``12w``, ``36h``)."""
    return duration(text).total_seconds() / 86400


def add_conventions(p: argparse.ArgumentParser, version: str) -> None:
    """``--version`` on the command, ``--format`` on every subcommand that has none yet."""
    p.add_argument("--version", action="version", version=f"jupyter guard {version}")
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                _add_format(sub)


def _add_format(p: argparse.ArgumentParser) -> None:
    nested = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
    for action in nested:
        for sub in dict.fromkeys(action.choices.values()):
            _add_format(sub)
    if not nested and not any("--format" in a.option_strings for a in p._actions):
        p.add_argument("--format", choices=("table", "json"), default="table",
                       help="json: one JSON document on stdout")


# -- one function per command that has no JSON form of its own --------------------------------
def json_policy_check(args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    from jupyter_guard.policy.load import PolicyError, load

    try:
        p = load(args.file)
    except PolicyError as e:
        return EXIT_BLOCKED, {"file": args.file, "ok": False, "problems": list(e.problems)}
    return EXIT_OK, {"file": args.file, "ok": True, "name": p.name, "mode": p.mode,
                     "revision": p.revision, "rules": len(p.rules)}


def json_explain(args: argparse.Namespace, policy: Any) -> tuple[int, dict[str, Any]]:
    from jupyter_guard.explain import explain
    from jupyter_guard.policy.refusal import refusal
    from jupyter_guard.policy.rules import Context

    overall, verdicts = explain(args.code, policy, Context(user=args.user or "", actor=args.actor))
    out = {"decision": overall.decision, "rule_id": overall.rule_id or None,
           "reason": overall.reason,
           "intents": [{"action": v.intent.action, "target": v.intent.target,
                        "decision": v.decision, "rule_id": v.rule_id or None, "reason": v.reason}
                       for v in verdicts if v.intent is not None],
           "refusal": refusal(overall, policy) if overall.refuses else None}
    return (EXIT_BLOCKED if overall.refuses else EXIT_OK), out


def json_verify(path: str) -> tuple[int, dict[str, Any]]:
    from jupyter_guard.record import verify

    res = verify(path)
    return (EXIT_OK if res.ok else EXIT_BLOCKED), {"audit": path, "ok": bool(res.ok),
                                                   "problems": [str(p) for p in res.problems]}


def json_export(args: argparse.Namespace, path: str) -> tuple[int, dict[str, Any]]:
    from jupyter_guard.record import export

    if not (args.parquet or args.openlineage):
        return EXIT_USAGE, {"error": "say where: --parquet DIR or --openlineage FILE"}
    out: dict[str, Any] = {"audit": path}
    if args.parquet:
        out["parquet"] = {"dir": args.parquet, "events": export.export_parquet(path, args.parquet)}
    if args.openlineage:
        out["openlineage"] = {"file": args.openlineage,
                              "events": export.export_openlineage(path, args.openlineage)}
    return EXIT_OK, out


def json_compact(args: argparse.Namespace, path: str) -> tuple[int, dict[str, Any]]:
    from jupyter_guard.record import export

    archive = args.archive or (path + ".archive")
    n = export.compact(path, days(args.older_than), archive)
    return EXIT_OK, {"audit": path, "archive": archive, "older_than": args.older_than,
                     "moved": n}


def json_enable(args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    from jupyter_guard.setup import disable, enable

    path = (enable if args.command == "enable" else disable)(sys_prefix=args.sys_prefix)
    return EXIT_OK, {"command": args.command, "config": str(path)}


def jupyter_option(arg: str) -> bool:
    """``--Class.trait=value`` and Jupyter's own flags go to the JupyterApp."""
    name = arg.split("=", 1)[0]
    return name.startswith("--") and ("." in name or name in (
        "--debug", "--show-config", "--show-config-json", "--generate-config", "--help-all",
        "--config", "--log-level", "-y", "--y"))
