"""Audit events of processes -> Intents (``events.handlers``' part for them): ``os.system``,
``os.exec*``/``posix_spawn``, ``os.spawn*``, ``subprocess.Popen``, ``pty`` children judged in the
parent before the fork, and environment changes that would start children without the guard.
"""
from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

from jupyter_guard.analyze.children import may_run_python
from jupyter_guard.analyze.pysinks import GUARD_ENV_PREFIX
from jupyter_guard.hooks import event_names, exit_net, exit_popen, lazy
from jupyter_guard.hooks.child import CHILD_DIR, env_drops_guard, in_folder
from jupyter_guard.hooks.state import Busy, busy
from jupyter_guard.model import UNKNOWN, Intent

Handler = Callable[[tuple[Any, ...], FrameType], None]


def _command(args: Any) -> str:
    if isinstance(args, (str, bytes)):
        return os.fsdecode(args)
    try:
        return shlex.join(os.fsdecode(a) for a in args)
    except TypeError:
        return UNKNOWN


# (pid, argv) of a pty child this process judged just before forking it (``!cmd``: pexpect's
# ``PtyProcess.spawn``). The forked child then execs without running the guard's decision again:
# between fork and exec it holds copies of other threads' locks and of DuckDB instances it must
# not touch, and a refusal raised there reached the cell as ptyprocess's garbled OSError.
_PTY: list[tuple[int, tuple[str, ...]]] = []


def _judged_by_parent(argv: Any) -> bool:
    if not _PTY or _PTY[-1][0] == os.getpid() or not isinstance(argv, (list, tuple)):
        return False
    try:
        return tuple(os.fsdecode(a) for a in argv) == _PTY[-1][1]
    except TypeError:
        return False


def _pty_spawn(mod: Any, rt: Any, judge: Callable[[Any, Any, FrameType], None],
               patched: dict[tuple[Any, str], Any]) -> None:
    """Judge ``PtyProcess.spawn``'s command in the parent, before the fork."""
    cls: Any = getattr(mod, "PtyProcess", None)
    orig = cls.__dict__.get("spawn") if cls is not None else None
    if not isinstance(orig, classmethod) or getattr(orig.__func__, "_jg", False):
        return
    fn = orig.__func__

    def spawn(klass: Any, argv: Any, *args: Any, **kw: Any) -> Any:
        f = sys._getframe(1)
        if busy() or not isinstance(argv, (list, tuple)) or not rt.user_stack(f):
            return fn(klass, argv, *args, **kw)
        judge(argv, kw.get("env", args[1] if len(args) > 1 else None), f)   # raises if refused
        token = (os.getpid(), tuple(os.fsdecode(a) for a in argv))
        _PTY.append(token)
        try:
            return fn(klass, argv, *args, **kw)
        finally:
            _PTY.remove(token)

    spawn._jg = True  # type: ignore[attr-defined]  # a marker on our own function
    spawn.__doc__ = fn.__doc__
    replacement = classmethod(spawn)
    type.__setattr__(cls, "spawn", replacement)
    patched[(cls, "spawn")] = replacement


def process_handlers(rt: Any) -> dict[str, Handler]:
    """The handlers of process events (``events.handlers`` adds them to its table)."""
    g = rt.guard
    from jupyter_guard.hooks.df_lineage import PATCHED

    def shell(cmd: str, argv: list[str] | None, f: FrameType, env: Any = None,
              leaves: bool = False, cwd: Any = None) -> None:
        exit_net.check_command(rt, cmd, env)
        with Busy():   # ``cwd=``: the child's relative paths are in that folder
            intents = list(g.shell_analysis(in_folder(cwd, cmd), starting=True, environ=env,
                                            leaves=leaves).intents)
            words = argv or cmd.split()
            why = env_drops_guard(env) if words and may_run_python(words[0]) else ""
            if why:   # a Python child given an environment without the guard
                intents.append(Intent("guard.tamper", "guard", f"starts {words[0]} without the "
                                      f"guard ({why})", source=cmd[:200]))
        rt.decide(intents, cmd[:300])

    def judge_pty(argv: Any, env: Any, f: FrameType) -> None:
        shell(_command(argv), [os.fsdecode(a) for a in argv], f, env)

    lazy.when_imported("ptyprocess.ptyprocess", lambda m: _pty_spawn(m, rt, judge_pty, PATCHED))

    def on_system(args: tuple[Any, ...], f: FrameType) -> None:
        if rt.user_stack(f):
            shell(_command(args[0]), None, f)

    def on_exec(args: tuple[Any, ...], f: FrameType) -> None:   # os.exec*, os.posix_spawn
        if _judged_by_parent(args[1]):
            return
        if rt.user_stack(f):
            argv = [os.fsdecode(a) for a in args[1]] if isinstance(args[1], (list, tuple)) else None
            shell(_command(args[1]), argv, f, args[2] if len(args) > 2 else None)

    def on_spawn(args: tuple[Any, ...], f: FrameType) -> None:  # os.spawn*(mode, path, args, env)
        if rt.user_stack(f):
            shell(_command(args[2]), [os.fsdecode(a) for a in args[2]], f,
                  args[3] if len(args) > 3 else None)

    def on_popen(
        args: tuple[Any, ...], f: FrameType
    ) -> None:  # subprocess.Popen(exe, args, cwd, env)
        if rt.user_stack(f):
            a = args[1]
            argv = [os.fsdecode(x) for x in a] if isinstance(a, (list, tuple)) else None
            if len(args) > 2 and args[2] is not None:
                event_names.check_cwd(rt, args[2])   # ``cwd=`` a folder named after a value
            fed = exit_popen.fed_by(f)   # another child's output pipe as this one's input
            if fed is not None:
                shell(fed, None, f, None, leaves=True)
            shell(_command(a), argv, f, args[3] if len(args) > 3 else None, exit_popen.leaves(f),
                  args[2] if len(args) > 2 else None)
            exit_popen.remember(f, _command(a))
            exit_popen.note_stdin(f)

    def on_putenv(args: tuple[Any, ...], f: FrameType) -> None:
        key = os.fsdecode(args[0]) if isinstance(args[0], (str, bytes)) else ""
        value = os.fsdecode(args[1]) if len(args) > 1 and isinstance(args[1], (str, bytes)) else ""
        drops = key == "PYTHONPATH" and CHILD_DIR not in value.split(os.pathsep)
        if (key.upper().startswith(GUARD_ENV_PREFIX) or drops) and rt.user_stack(f):
            rt.tamper(f"changes {key} in the environment (children would run without the "
                      "guard)" if drops else f"changes {key} in the environment",
                      f"os.environ[{key!r}]")

    return {"os.system": on_system, "os.exec": on_exec, "os.posix_spawn": on_exec,
            "os.spawn": on_spawn, "subprocess.Popen": on_popen, "os.putenv": on_putenv,
            "os.unsetenv": on_putenv}
