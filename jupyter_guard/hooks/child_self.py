"""Self-protection inside a Python child: the kernel's own handlers (``sealed_events``), on the
child's runtime (``child_exits.ChildRuntime``: the whole child is user code but the guard's own
frames). ``gc.get_referents`` of the sealed trust or a sealed closure, ``gc.get_referrers``,
``gc.get_objects``, ``ctypes`` ``from_address``, native code from the child's own code, tracers,
profilers and audit hooks are refused; code the child makes under an installed library's file
name is recorded (``own_code.forged``), so frames of it are the child's, not the library's.
Loaded at the first such event only (a child that does none pays nothing for it).
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import FrameType
    from typing import Any


def handlers(env: Mapping[str, str]) -> dict[str, Any]:
    """The table, ``(args, frame)`` handlers as in the kernel; ``compile`` and ``code.__new__``
    record code made under a library's name."""
    from jupyter_guard.hooks import sealed_events

    # late: the child's runtime (its exits import the kernel's) only when an event needs it
    from jupyter_guard.hooks.child_exits import ChildRuntime, installed

    rt = installed() or ChildRuntime(env)
    table = sealed_events.handlers(rt)
    check = sealed_events.borrowed(rt)

    def on_compile(args: tuple[Any, ...], f: FrameType) -> None:
        check(args[0], args[1], f)

    def on_code_new(args: tuple[Any, ...], f: FrameType) -> None:
        if len(args) > 1:
            check(None, args[1], f)

    def on_setattr(args: tuple[Any, ...], f: FrameType) -> None:
        """A guard function's ``__code__``/``__defaults__``/``__kwdefaults__`` (what the child's
        hook asks is held in defaults), told by its module's globals."""
        obj = args[0]
        home = getattr(getattr(obj, "__func__", obj), "__globals__", None)
        if isinstance(home, dict) and str(home.get("__name__", "")).startswith("jupyter_guard") \
                and rt.user_caller(f):
            rt.tamper(f"changes the guard's code ({getattr(obj, '__qualname__', obj)}."
                      f"{args[1]})", f"setattr(..., {args[1]!r})")

    table.update({"compile": on_compile, "code.__new__": on_code_new,
                  "object.__setattr__": on_setattr})
    return table



def judge(env: Mapping[str, str], event: str, args: tuple[Any, ...], f: FrameType | None,
          table: dict[str, Any]) -> None:
    """Judge one event; ``table`` (the child hook's, in its closure) is filled at the first."""
    if not table:
        from jupyter_guard.hooks.state import Busy

        with Busy():
            table.update(handlers(env))
    table[event](args, f)
