"""Audit events -> Intents inside a guarded Python child (see ``child``): the same words as the
kernel's run-time layer, so the same rules decide. Paths are judged as given and as resolved.

Kept light: a child's first file write loads this table, so what only further children and
environment changes need (the shell and child analysis, ``shlex``) loads when one happens."""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from jupyter_guard.hooks.child import (
    CHILD_DIR,
    DATA_LIBS,
    NET_EVENTS,
    PACKAGE_DIR,
    ChildBlocked,
    env_drops_guard,
    in_folder,
)
from jupyter_guard.hooks.event_paths import database_copy
from jupyter_guard.hooks.event_paths import event_path as _path
from jupyter_guard.model import UNKNOWN, Intent

_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
Handler = Callable[[tuple[Any, ...]], None]


def _argv(a: Any) -> list[str] | None:
    if isinstance(a, (list, tuple)):
        try:
            return [os.fsdecode(x) for x in a]
        except TypeError:
            return None
    return None


def path_intents(action: str, path: str | None, *, recursive: bool = False) -> list[Intent]:
    if path is None:
        return []
    out = [Intent(action, "path", path, recursive=recursive,  # type: ignore[arg-type]  # the action name comes from a table of valid names
                  source=f"{action} {path}")]
    real = os.path.realpath(path) if UNKNOWN not in path else path
    if real != os.path.abspath(path):
        out.append(out[0].with_(target=real))
    return out


def overwrite(path: str | None) -> list[Intent]:
    if path is None:
        return []
    return path_intents("file.truncate" if os.path.lexists(path) else "file.write", path)


def _joined(argv: list[str]) -> str:
    import shlex  # (stdlib) only for a child that starts one of its own

    return shlex.join(argv)


def handlers(g: Any) -> dict[str, Handler]:
    def child(argv: list[str] | None, command: str, env: Any, leaves: bool = False,
              cwd: Any = None) -> None:
        # late: the child analysis loads when this child starts one of its own
        from jupyter_guard.analyze.children import may_run_python

        words = argv or command.split()
        prog = words[0] if words else ""
        why = env_drops_guard(env)
        if why and may_run_python(prog):
            g.decide([Intent("guard.tamper", "guard", f"starts {prog} without the guard ({why})",
                             source=command)], command)
        exits = sys.modules.get("jupyter_guard.hooks.child_exits")   # loaded: maybe installed
        rt = exits.installed() if exits is not None else None
        if rt is not None:   # values this child read from sensitive columns, on a command line
            from jupyter_guard.hooks.exit_net import check_command

            check_command(rt, command, env)
        g.decide(g.shell(in_folder(cwd, command), leaves), command[:300])

    def on_open(args: tuple[Any, ...]) -> None:
        path, mode, flags = (args + (None, None, 0))[:3]
        if not (flags or 0) & _WRITE:
            return
        p = _path(path)
        if p is None:
            return
        if flags & os.O_TRUNC or not flags & os.O_APPEND:
            # ``r+``, ``O_RDWR``, ``O_WRONLY|O_CREAT`` (no truncation, no append) write over an
            # existing file's bytes in place: that destroys a database file as surely as
            # truncating it (``overwrite``: a file that does not exist yet is only written)
            g.decide(overwrite(p), f"open({p!r}, {mode!r})")
        else:
            g.decide(path_intents("file.write", p), f"open({p!r}, {mode!r})")
        if mode is None:   # ``os.open``: its ``os.write``s are checked once the exits are in
            exits_for_descriptors(g.env)

    def on_authority_read(args: tuple[Any, ...]) -> None:
        from jupyter_guard.authority_files import is_authority_file

        p = _path(args[0])
        if p is not None and is_authority_file(p):
            g.decide([Intent("guard.tamper", "guard", f"opens the jupyter server's authority "
                             f"file {p} (its signing key or approvals); no cell may",
                             source=p)], f"open({p!r})")

    def on_remove(args: tuple[Any, ...]) -> None:
        p = _path(args[0], args[1] if len(args) > 1 else None)
        g.decide(path_intents("file.delete", p), f"delete {p!r}")

    def on_rename(args: tuple[Any, ...]) -> None:
        src = _path(args[0], args[2] if len(args) > 2 else None)
        dst = _path(args[1], args[3] if len(args) > 3 else None)
        g.decide(path_intents("file.move", src) + overwrite(dst), f"rename {src!r} -> {dst!r}")

    def on_truncate(args: tuple[Any, ...]) -> None:
        p = os.readlink(f"/proc/self/fd/{args[0]}") if isinstance(args[0], int) else _path(args[0])
        g.decide(path_intents("file.truncate", p), f"truncate {p!r}")

    def on_rmtree(args: tuple[Any, ...]) -> None:
        p = _path(args[0], args[1] if len(args) > 1 else None)
        g.decide(path_intents("file.delete", p, recursive=True), f"shutil.rmtree({p!r})")

    def on_move(args: tuple[Any, ...]) -> None:
        src, dst = _path(args[0]), _path(args[1])
        if dst is not None and src is not None and os.path.isdir(dst):
            dst = os.path.join(dst, os.path.basename(src.rstrip("/")))
        g.decide(path_intents("file.move", src) + overwrite(dst), f"shutil.move({src!r}, {dst!r})")

    def on_link(args: tuple[Any, ...]) -> None:   # os.link, os.symlink
        src, dst = _path(args[0]), _path(args[1])
        g.decide(overwrite(dst) + database_copy(src, dst, "link"), f"link {src!r} -> {dst!r}")

    def on_copyfile(args: tuple[Any, ...]) -> None:   # shutil.copy*, copytree
        src, dst = _path(args[0]), _path(args[1])
        copies = database_copy(src, dst, "copy")
        if copies:
            g.decide(copies, f"shutil.copyfile({src!r}, {dst!r})")

    def on_system(args: tuple[Any, ...]) -> None:
        child(None, os.fsdecode(args[0]), None)

    def on_exec(args: tuple[Any, ...]) -> None:   # os.exec*(path, args, env), posix_spawn
        argv = _argv(args[1])
        child(argv, _joined(argv) if argv else UNKNOWN, args[2] if len(args) > 2 else None)

    def on_spawn(args: tuple[Any, ...]) -> None:  # os.spawn*(mode, path, args, env)
        argv = _argv(args[2])
        child(argv, _joined(argv) if argv else UNKNOWN, args[3] if len(args) > 3 else None)

    def on_popen(args: tuple[Any, ...]) -> None:  # subprocess.Popen(exe, args, cwd, env)
        a = args[1]
        argv = _argv(a)
        command = os.fsdecode(a) if isinstance(a, (str, bytes)) else _joined(argv or [UNKNOWN])
        child(argv, command, args[3] if len(args) > 3 else None, _leaves(),
              args[2] if len(args) > 2 else None)

    def _leaves() -> bool:
        """The grandchild's output goes to a file, a socket or another program
        (``subprocess.run(['sqlite3', db, '.dump'], stdout=f)``): ``hooks.exit_popen`` reads
        the descriptors ``Popen._execute_child`` hands it."""
        f: Any = sys._getframe(2)
        for _ in range(8):
            if f is None or f.f_code.co_name == "_execute_child":
                break
            f = f.f_back
        if f is None or f.f_code.co_name != "_execute_child":
            return False
        from jupyter_guard.hooks import exit_popen  # late: only when a child starts one

        return exit_popen.leaves(f)

    def on_putenv(args: tuple[Any, ...]) -> None:
        # late: the child analysis loads when this child first changes its environment
        from jupyter_guard.analyze.children import GUARD_PREFIX, strips

        key = os.fsdecode(args[0]) if isinstance(args[0], (str, bytes)) else ""
        raw = args[1] if len(args) > 1 else None
        value = os.fsdecode(raw) if isinstance(raw, (str, bytes)) else None
        if key.upper().startswith(GUARD_PREFIX) or (
                strips(key, value) and CHILD_DIR not in (value or "").split(os.pathsep)):
            g.decide([Intent("guard.tamper", "guard", f"changes {key} in the environment")],
                     f"os.environ[{key!r}]")

    def on_run_stdin(args: tuple[Any, ...]) -> None:   # ``python -``, ``python < f``, a pipe
        if os.isatty(0):
            return   # typed line by line at a terminal: each line is the person's own
        code = restdin(STDIN_MAX)
        if code is None:
            g.decide([Intent("guard.tamper", "guard", "runs a Python program from standard input "
                             f"larger than {STDIN_MAX // 1024} KB, which the guard cannot read "
                             "first; save it to a file and run the file")], "python -")
            return
        try:
            intents = g.shell(_joined(["python", "-c", code]))
        except ImportError:
            # this Python lacks what the analysis needs (another interpreter on PATH); its file
            # and process actions are still judged as they happen, and without a database
            # driver it has no SQL to judge
            if not any(_importable(m) for m in SQL_DRIVERS):
                return
            raise
        g.decide(intents, "python - (program from stdin)")

    def on_net(event: str) -> Handler:
        def h(args: tuple[Any, ...]) -> None:
            try:
                # late: the exits and the kernel's network handlers load at the first network event
                from jupyter_guard.hooks.child_exits import network

                net = network(g.env)
            except ImportError:
                # another interpreter without the guard's libraries: with no data library
                # loaded it has read no database, so its network use is not judged (as before)
                if any(m in sys.modules for m in DATA_LIBS):
                    raise
                return
            if net is not None:   # the first event: later ones reach the handlers' own hook
                net[event](args, _user_frame())
        return h

    table: dict[str, Handler] = {
        "cpython.run_stdin": on_run_stdin, "open": on_open, "authority.read": on_authority_read,
        "os.remove": on_remove, "os.rmdir": on_remove, "os.rename": on_rename,
        "os.truncate": on_truncate, "shutil.rmtree": on_rmtree, "shutil.move": on_move,
        "shutil.copyfile": on_copyfile, "os.link": on_link, "os.symlink": on_link,
        "os.system": on_system, "os.exec": on_exec,
        "os.posix_spawn": on_exec, "os.spawn": on_spawn, "subprocess.Popen": on_popen,
        "os.putenv": on_putenv, "os.unsetenv": on_putenv,
        **{e: on_net(e) for e in NET_EVENTS},
    }
    return {k: _fail_closed(k, h) for k, h in table.items()}


def _user_frame() -> Any:
    """The frame that raised the event being handled (the first one outside the guard)."""
    f: Any = sys._getframe(1)
    while f is not None and f.f_code.co_filename.startswith(PACKAGE_DIR):
        f = f.f_back
    return f


def exits_for_descriptors(env: Any) -> None:
    """Install the child's exits (``child_exits``) before the first ``os.write`` to a
    descriptor user code opened with ``os.open``; in an interpreter without the guard's
    libraries that has loaded no data library, its descriptors stay unchecked."""
    try:
        # late: the exits load only when a child first writes
        from jupyter_guard.hooks.child_exits import install

        install(env)
    except ImportError:
        if any(m in sys.modules for m in DATA_LIBS):
            raise


STDIN_MAX = 1 << 20
SQL_DRIVERS = ("duckdb", "sqlalchemy", "psycopg", "psycopg2", "asyncpg", "pg8000", "pyodbc")


def _importable(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def restdin(limit: int) -> str | None:
    """The program on standard input, read to its end and put back as the same bytes (a file
    opened onto descriptor 0, which Python's own reader then reads); None when it is longer than
    ``limit`` bytes (what was read is put back all the same)."""
    import tempfile

    chunks, size = [], 0
    while size <= limit:
        chunk = os.read(0, 65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    data = b"".join(chunks)
    with tempfile.TemporaryFile() as tmp:
        tmp.write(data)
        if size > limit:   # the rest stays in the pipe: copy it after what was read
            while chunk := os.read(0, 65536):
                tmp.write(chunk)
        tmp.flush()
        tmp.seek(0)
        os.dup2(tmp.fileno(), 0)
    return None if size > limit else data.decode("utf-8", "replace")


def _fail_closed(event: str, h: Handler) -> Handler:
    def run(args: tuple[Any, ...]) -> None:
        try:
            h(args)
        except ChildBlocked:
            raise
        except Exception as e:
            if type(e).__name__ == "GuardBlocked":   # the kernel's exits refused (``child_exits``)
                raise
            raise ChildBlocked("guard-error", f"the guard failed while checking {event} "
                               f"({type(e).__name__}: {e}); the action was refused") from None
    return run
