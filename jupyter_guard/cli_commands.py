"""The subcommands of ``jupyter guard`` (``cli.py``), one ``cmd_*`` function each, and what they
share: the audit file brought up to date first, the policy in force, the table and CSV printers.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any


def audit_path(args: argparse.Namespace) -> str:
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


def policy_of(args: argparse.Namespace) -> Any:
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
    policy = policy_of(args)
    if policy.errors:   # a kernel would refuse every cell under it
        print(f"decision: block\nrule:     guard-error\nreason:   {policy.broken_reason}")
        return 1
    print(explain_text(args.code, policy, ctx))
    return 1 if explain(args.code, policy, ctx)[0].refuses else 0   # 1: it would block


def cmd_report(args: argparse.Namespace) -> int:
    from jupyter_guard.record.report import report

    rows = report(audit_path(args), since=args.since, user=args.user)
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

    res = verify(audit_path(args), full=bool(getattr(args, "full", False)))
    for note in res.notes:
        print(f"note: {note}", file=sys.stderr)
    if res.ok:
        print(f"{audit_path(args)}: OK, every chain verifies ({res.checked} events)")
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
    path = audit_path(args)
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
    archive = args.archive or (audit_path(args) + ".archive")
    n = export.compact(audit_path(args), days, archive)
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

    return int(approvals.cli(args, audit_path(args), policy_of(args)))


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
    result = replay(audit_path(args), policy, since=args.since, user=args.user)
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
