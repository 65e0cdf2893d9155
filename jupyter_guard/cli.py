"""``jupyter guard ...`` (and ``jupyter-guard ...``): the governance and setup commands (report,
verify, export, replay, approvals, policy checks, enable/disable). Every subcommand that reads
the audit file first brings it up to date."""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from jupyter_guard.cli_json import add_conventions, duration_arg, since_arg


def _audit_path(args: argparse.Namespace) -> str:
    """The audit file, brought up to date from every kernel's journal first. If the writers'
    lock stays busy, the command goes on with the published file and says it is stale."""
    from jupyter_guard.config import resolve

    path = args.audit or resolve(args.settings)["audit"]
    if not getattr(args, "_ingested", False):
        from jupyter_guard.record import try_ingest
        from jupyter_guard.record.health import staleness

        args._ingested = True
        if os.path.exists(path) or os.path.isdir(path + ".journal"):
            try_ingest(path, wait=10.0)
            args._stale = staleness(path)
            if args._stale:
                print(f"jupyter guard: STALE: {args._stale}", file=sys.stderr)
    return str(path)


def _stale_exit(args: argparse.Namespace, code: int) -> int:
    """Exit 3 when the data shown is older than the journals (0 would look complete)."""
    return 3 if code == 0 and getattr(args, "_stale", False) else code


def _outside_kernel(args: argparse.Namespace, command: str) -> None:
    from jupyter_guard.config import resolve
    from jupyter_guard.errors import GuardConfigError
    from jupyter_guard.record.owner import refuse_inside_kernel

    why = refuse_inside_kernel(command, str(args.audit or resolve(args.settings)["audit"]))
    if why:
        raise GuardConfigError(why)


def _policy(args: argparse.Namespace) -> Any:
    from jupyter_guard.config import resolve
    from jupyter_guard.policy.load import load_or_refuse

    return load_or_refuse(getattr(args, "policy", None) or resolve(args.settings)["policy"] or None)


def cmd_policy_check(args: argparse.Namespace) -> int:
    from jupyter_guard.policy.load import PolicyError, load

    try:
        p = load(args.file)
    except PolicyError as e:
        for line in e.problems:
            print(line, file=sys.stderr)
        return 1
    print(f"{args.file}: OK (policy {p.name}, mode {p.mode}, revision {p.revision}, "
          f"{len(p.rules)} extra rule(s))")
    return 0


def cmd_policy_schema(args: argparse.Namespace) -> int:
    from jupyter_guard.policy.schema import policy_schema

    print(json.dumps(policy_schema(), indent=2))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from jupyter_guard.explain import explain, explain_text
    from jupyter_guard.policy.rules import Context

    ctx = Context(user=args.user or "", actor=args.actor)
    policy = _policy(args)
    if policy.errors:   # a kernel would refuse every cell under it
        print(f"decision: block\nrule:     guard-error\nreason:   {policy.broken_reason}")
        return 1
    print(explain_text(args.code, policy, ctx))
    return 1 if explain(args.code, policy, ctx)[0].refuses else 0   # 1: it would block


def cmd_report(args: argparse.Namespace) -> int:
    from jupyter_guard.record.report import report

    rows = report(_audit_path(args), since=args.since, user=args.user)
    return _stale_exit(args, _emit(rows, args.format))


def _emit(rows: list[dict[str, Any]], fmt: str) -> int:
    if fmt == "json":
        print(json.dumps(rows, default=str, indent=2))
    elif fmt == "csv":
        import csv

        if rows:
            w = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    else:
        _table(rows)
    return 0


def _table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        print("(no events)")
        return
    cols = list(rows[0])
    widths = {c: max(len(c), *(len(str(r.get(c, ""))[:60]) for r in rows)) for c in cols}
    print("  ".join(c.ljust(widths[c]) for c in cols))
    print("  ".join("-" * widths[c] for c in cols))
    for r in rows:
        print("  ".join(str(r.get(c, ""))[:60].ljust(widths[c]) for c in cols))


def cmd_verify(args: argparse.Namespace) -> int:
    if getattr(args, "authority", None):
        from jupyter_guard.authority_audit.cli import verify_authority

        return verify_authority(args.authority, dsn=args.dsn or "",
                                checkpoint=args.checkpoint or "",
                                as_json=getattr(args, "format", None) == "json")
    from jupyter_guard.record import verify

    res = verify(_audit_path(args), full=bool(getattr(args, "full", False)))
    for note in res.notes:
        print(f"note: {note}", file=sys.stderr)
    if res.ok:
        print(f"{_audit_path(args)}: OK, every chain verifies ({res.checked} events)")
        return _stale_exit(args, 0)
    for p in res.problems:
        print(p, file=sys.stderr)
    return 1


def cmd_authority(args: argparse.Namespace) -> int:
    from jupyter_guard.authority_audit.app import main as run

    argv = ["--folder", args.folder, "--port", str(args.port), "--base-url", args.base_url]
    for flag, value in (("--dsn", args.dsn), ("--tokens", args.tokens), ("--copy", args.copy)):
        if value:
            argv += [flag, value]
    return run(argv)


def cmd_repair(args: argparse.Namespace) -> int:
    from jupyter_guard.record import repair

    _outside_kernel(args, "repair")
    from jupyter_guard.config import resolve

    path = str(args.audit or resolve(args.settings)["audit"])
    aside = repair(path)
    where = f"; the unreadable file was moved to {aside}" if aside else ""
    print(f"{path}: rebuilt from the journals{where}. Run `jupyter guard verify` next.")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from jupyter_guard.record import export

    if (args.parquet and _into_store(args, args.parquet)) or (args.openlineage and _into_store(
            args, args.openlineage)):
        _outside_kernel(args, "export")
    path = _audit_path(args)
    if args.parquet:
        n = export.export_parquet(path, args.parquet)
        print(f"exported {n} events to {args.parquet} (partitioned by day and user)")
    if args.openlineage:
        n = export.export_openlineage(path, args.openlineage)
        print(f"wrote {n} OpenLineage run events to {args.openlineage}")
    if not (args.parquet or args.openlineage):
        print("say where: --parquet DIR or --openlineage FILE", file=sys.stderr)
        return 2
    return 0


def _into_store(args: argparse.Namespace, target: str) -> bool:
    from jupyter_guard.config import in_store, resolve

    audit = str(args.audit or resolve(args.settings)["audit"])
    folder = os.path.realpath(os.path.dirname(os.path.abspath(audit)))
    real = os.path.realpath(target)
    return in_store(target, audit) or real == folder or real.startswith(folder + os.sep)


def cmd_compact(args: argparse.Namespace) -> int:
    from jupyter_guard.record import export

    _outside_kernel(args, "compact")
    from jupyter_guard.cli_json import days as in_days

    days = in_days(args.older_than)
    archive = args.archive or (_audit_path(args) + ".archive")
    n = export.compact(_audit_path(args), days, archive)
    print(f"moved {n} events older than {args.older_than} to {archive}")
    return 0


def cmd_approvals(args: argparse.Namespace) -> int:
    """approve / deny go to the jupyter server's API; ``requests`` too when a server is known,
    else it lists the copies of requests in the audit file."""
    from jupyter_guard import approval_cli

    if args.command in ("approve", "deny"):
        return approval_cli.decide(args)
    listed = approval_cli.listing(args)
    if listed is not None:
        return listed
    from jupyter_guard.record import approvals

    return int(approvals.cli(args, _audit_path(args), _policy(args)))


def cmd_enable(args: argparse.Namespace) -> int:
    from jupyter_guard.setup import disable, enable

    path = (enable if args.command == "enable" else disable)(sys_prefix=args.sys_prefix)
    print(f"{'enabled' if args.command == 'enable' else 'disabled'}: {path}")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from jupyter_guard.policy.load import PolicyError, load
    from jupyter_guard.record.replay import replay

    try:
        policy = load(args.policy)
    except PolicyError as e:
        why = f"{e.problems[0]} (check it with `jupyter guard policy check {args.policy}`)"
        if args.format == "json":
            print(json.dumps({"command": "replay", "ok": False, "error": why}))
        print(f"jupyter guard replay: {why}", file=sys.stderr)
        return 2
    result = replay(_audit_path(args), policy, since=args.since, user=args.user)
    if args.format == "json":
        print(json.dumps(result.as_json(), indent=2, default=str))
        return 0
    print(f"replayed {result.replayed} decisions ({result.cells} cells) under {args.policy}; "
          f"{result.not_replayable} not replayable (no recorded facts)")
    if not result.changes:
        print("no decision would change")
        return 0
    _table(list(result.summary))
    print()
    _table([{"ts": c.ts[:19], "user": c.user, "what": c.what, "was": "/".join(c.old).rstrip("/"),
             "now": "/".join(c.new).rstrip("/"), "code": c.code[:60]} for c in result.changes])
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="jupyter guard", description="jupyter_guard governance and setup"
    )
    p.add_argument(
        "--audit", help="audit file (default: JUPYTER_GUARD_AUDIT or the Jupyter data dir)"
    )
    sub = p.add_subparsers(dest="command", required=True)
    pc = sub.add_parser("policy", help="policy tools").add_subparsers(
        dest="policy_cmd", required=True
    )
    check = pc.add_parser("check", help="validate a policy file")
    check.add_argument("file")
    check.set_defaults(func=cmd_policy_check)
    pc.add_parser("schema", help="print the JSON Schema of policy files (for editors)"
                  ).set_defaults(func=cmd_policy_schema)
    ex = sub.add_parser("explain", help="the decision for CODE or SQL, without running it")
    ex.add_argument("code")
    ex.add_argument("--policy")
    ex.add_argument("--user", default="")
    ex.add_argument("--actor", default="human")
    ex.set_defaults(func=cmd_explain)
    rep = sub.add_parser("report", help="blocked/allowed by user, rule and day")
    rep.add_argument("--since", type=since_arg,
                     help="a date (2026-01-31), a datetime, or a duration back from now (7d, 12h)")
    rep.add_argument("--user")
    rep.add_argument("--format", choices=("table", "json", "csv"), default="table")
    rep.set_defaults(func=cmd_report)
    v = sub.add_parser("verify", help="check every hash chain")
    v.add_argument("--full", action="store_true",
                   help="re-hash every segment, also those sealed by an earlier verify")
    v.add_argument("--incremental", action="store_true",
                   help="the default now (sealed segments are not re-hashed); kept for scripts")
    v.add_argument("--authority", help="the audit authority's folder: verify its keyed chain "
                   "against its signed checkpoints instead of the local file")
    v.add_argument("--dsn", default=os.environ.get("JUPYTER_GUARD_AUDIT_DSN", ""),
                   help="with --authority: its PostgreSQL ledger (hub mode)")
    v.add_argument("--checkpoint", help="with --authority: a signed checkpoint saved earlier "
                   "(a ledger rolled back with its own checkpoints is still caught)")
    v.set_defaults(func=cmd_verify)
    au = sub.add_parser("authority", help="run the audit authority as a process of its own "
                        "(a JupyterHub service)")
    au.add_argument("--folder", required=True, help="its 0700 folder (keys, local ledger)")
    au.add_argument("--port", type=int, required=True)
    au.add_argument("--dsn", default=os.environ.get("JUPYTER_GUARD_AUDIT_DSN", ""),
                    help="PostgreSQL (hub mode), else the SQLite ledger in --folder")
    au.add_argument("--tokens", default="", help="JSON file {token: {kernel, user, users}}")
    au.add_argument("--copy", default="", help="the governance DuckDB copy the mover keeps")
    au.add_argument("--base-url", default="/")
    au.set_defaults(func=cmd_authority)
    sub.add_parser("repair", help="move an unreadable audit file aside and rebuild it from the "
                   "journals").set_defaults(func=cmd_repair)
    exp = sub.add_parser("export", help="export to Parquet or OpenLineage")
    exp.add_argument("--parquet")
    exp.add_argument("--openlineage")
    exp.set_defaults(func=cmd_export)
    comp = sub.add_parser("compact", help="move old events to Parquet, keeping chains verifiable")
    comp.add_argument("--older-than", default="90d", type=duration_arg,
                      help="a duration: 90d, 12w, 36h")
    comp.add_argument("--archive")
    comp.set_defaults(func=cmd_compact)
    req = sub.add_parser("requests", help="pending approval requests")
    req.add_argument("--format", choices=("table", "json"), default="table")
    req.add_argument("--all", action="store_true")
    req.add_argument("--url", help="the jupyter server (default: the running one)")
    req.add_argument("--token", help="your token for that server")
    req.set_defaults(func=cmd_approvals)
    for name in ("approve", "deny"):
        a = sub.add_parser(name, help=f"{name} an approval request (not your own), through "
                           "the jupyter server")
        a.add_argument("request_id")
        a.add_argument("--url", help="the jupyter server (default: the running one, like "
                       "`jupyter server list`)")
        a.add_argument("--token", help="your token for that server (default: the running "
                       "server's)")
        a.add_argument("--reason", help="why (kept with the decision)")
        a.add_argument("--as-user", dest="as_user", help="refused: the server decides who you are")
        a.add_argument("--policy", help="ignored: the server's policy decides")
        a.set_defaults(func=cmd_approvals)
    rp = sub.add_parser("replay", help="what another policy would have decided on recorded cells")
    rp.add_argument("--policy", required=True, help="the policy file to replay under")
    rp.add_argument("--since")
    rp.add_argument("--user")
    rp.add_argument("--format", choices=("table", "json"), default="table")
    rp.set_defaults(func=cmd_replay)
    for name in ("enable", "disable"):
        e = sub.add_parser(name, help=f"{name} the guard for every kernel of this user")
        e.add_argument("--sys-prefix", action="store_true", help="for this environment instead")
        e.set_defaults(func=cmd_enable)
    from jupyter_guard import __version__

    add_conventions(p, __version__)
    return p


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
        return j.json_explain(args, _policy(args))
    if args.command == "verify":   # with --authority, the command prints its own JSON
        return None if getattr(args, "authority", None) else j.json_verify(_audit_path(args))
    if args.command == "export":
        return j.json_export(args, _audit_path(args))
    if args.command == "compact":
        return j.json_compact(args, _audit_path(args))
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
