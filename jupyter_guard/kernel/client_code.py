"""Code a client sends beside a cell, judged like a cell.

An ``execute_request`` carries ``user_expressions`` that ipykernel hands to
``shell.user_expressions`` after the cell: IPython ``eval``s each one, outside ``run_cell``, so
the cell parser the guard wraps never sees it. Here each expression is parsed, judged by the
same analysis and policy as a cell (``KernelGuard._check``, with the request's identity),
recorded in the audit with its decision and rule, and evaluated only when allowed, with the
run-time hooks on; a refused one comes back as ``status: error``, ``ename: GuardBlocked`` and
never runs. A failure inside the guard refuses the expression (fail closed).

The debugger (``debug_request``) runs client code too (``evaluate``, ``setExpression``,
``setVariable``, ``copyToGlobals``, breakpoints with conditions); it is refused whole, except
the requests that run none (``debugInfo``, ``inspectVariables``, ``modules``;
``richInspectVariables`` of a name goes through ``user_expressions`` above). Completion is
kept at IPython's ``limited`` evaluation, which reads names and plain containers but calls no
user ``__getattr__``/``__getitem__`` and no function, and jedi's interpreter reads attributes
and items statically. ``kernel_info`` lists no ``debugger`` (a frontend offers none), and
Shift+Tab (``do_inspect``) goes through ``client_inspect``.

Both hooks sit on a subclass of the shell's (and the kernel's) class whose attribute is a
property: assigning or deleting it on the object is refused, and so is switching the object's
class back (an audit hook on ``__class__``). A patch of the subclass itself is undone after every
cell, silent ones too (``post_execute``), and recorded as tampering; a thread a cell left
running could still patch it between two requests (a known limit).
"""
from __future__ import annotations

import ast
import importlib
import logging
import sys
import time
from typing import Any

from jupyter_guard.errors import GuardBlocked
from jupyter_guard.kernel import client_inspect

log = logging.getLogger("jupyter_guard")

FILENAME = "<ipython-input-user-expression>"
"""A cell's name to the run-time hooks (``Runtime.is_cell``): what it does is judged as a
cell's acts are."""
SAFE_EVALUATION = "limited"
"""IPython's completer evaluation: names, literals and built-in containers, no user code."""
UNSAFE_EVALUATION = frozenset({"unsafe", "dangerous"})
UNSAFE_JEDI = "allow_unsafe_interpreter_executions"
"""jedi's setting (True by default) that lets its interpreter call properties and items."""
DEBUG_ALLOWED = frozenset({"debugInfo", "inspectVariables", "richInspectVariables", "modules"})
"""Debugger requests that evaluate no client code (``richInspectVariables`` of a name is
judged through ``user_expressions`` when no thread is stopped, and none can be: ``attach`` is
refused)."""
_CLASSES: dict[type, type] = {}
_STATE: dict[str, Any] = {}


def install(shell: Any, guard: Any) -> None:
    kg = getattr(shell, "_jupyter_guard_kernel", None)
    if kg is None:
        raise RuntimeError("the kernel guard is not bound to the shell")
    _STATE.update(shell=shell, guard=guard, kg=kg, kernel=getattr(shell, "kernel", None))
    safe_completion(shell)
    rearm()
    # after every cell, silent ones too: what a cell took off is put back before ipykernel
    # evaluates the request's expressions
    shell.events.register("post_execute", after_cell)
    if not _STATE.get("hooked"):
        from jupyter_guard.hooks.state import Busy

        with Busy():
            sys.addaudithook(_on_event)
        _STATE["hooked"] = True


def _on_event(event: str, args: tuple[Any, ...]) -> None:
    """Refuse, from user code, swapping the class of the shell or the kernel back, and patching
    or deleting the guarded classes' attributes (``object.__setattr__``/``__delattr__``)."""
    if client_inspect.INSPECTING["thread"] is not None:
        client_inspect.on_event(event, args)
    if event != "object.__setattr__" and event != "object.__delattr__":
        return
    obj, name = args[0], str(args[1])
    if obj is _STATE.get("shell") or obj is _STATE.get("kernel"):
        if name != "__class__":
            return
    elif not (isinstance(obj, type) and obj in _CLASSES.values()):
        return
    if _STATE.get("arming"):
        return
    from jupyter_guard.hooks import state

    rt = state.current()
    if rt is not None and rt.user_stack(sys._getframe(1)):
        rt.tamper(f"changes the guard's hook on client code ({name})",
                  f"setattr({type(obj).__name__}, {name!r})")


def after_cell() -> None:
    """``rearm``; what had to be put back is recorded as tampering."""
    try:
        fixed = rearm()
        if fixed:
            from jupyter_guard.hooks import state

            rt = state.current()
            if rt is not None:
                rt.tamper("the guard was changed and has been restored: " + ", ".join(fixed),
                          "restore " + ", ".join(fixed), refuse=False)
    except Exception:
        log.exception("jupyter_guard could not re-arm its hooks on client code")


def rearm() -> list[str]:
    """Put the guarded classes back on the shell and the kernel, and the completer's
    evaluation back to ``limited``; what had to be put back."""
    fixed: list[str] = []
    shell, kernel = _STATE.get("shell"), _STATE.get("kernel")
    if shell is None:
        return fixed
    _STATE["arming"] = True
    try:
        for obj, members in ((shell, {"user_expressions": _USER_EXPRESSIONS}),
                             (kernel, {"do_debug_request": _DEBUG, "do_inspect": _INSPECT,
                                       "kernel_info": _KERNEL_INFO})):
            members = {k: v for k, v in members.items() if hasattr(type(obj), k)}
            if obj is None or not members:
                continue
            cls = _guarded_class(_base(obj), members)
            if type(obj) is not cls:
                obj.__class__ = cls
                fixed.append(f"{type(obj).__name__}.__class__")
            for name, prop in members.items():
                if cls.__dict__.get(name) is not prop:
                    setattr(cls, name, prop)
                    fixed.append(f"{cls.__name__}.{name}")
    finally:
        _STATE["arming"] = False
    if safe_completion(shell):
        fixed.append("Completer.evaluation")
    return fixed


def safe_completion(shell: Any) -> bool:
    """Completion evaluates no user code: ``unsafe``/``dangerous`` go back to ``limited``, and
    jedi's interpreter reads attributes and items statically (by default it calls a user
    class's ``__getattr__``/``__getitem__`` and properties on ``a.x.`` and ``a['k'].``)."""
    completer = getattr(shell, "Completer", None)
    changed = False
    if completer is not None and getattr(completer, "evaluation", None) in UNSAFE_EVALUATION:
        completer.evaluation = SAFE_EVALUATION
        changed = True
    if "jedi.settings" not in sys.modules and getattr(completer, "use_jedi", False):
        importlib.import_module("jedi.settings")
    jedi_settings: Any = sys.modules.get("jedi.settings")
    if jedi_settings is not None and getattr(jedi_settings, UNSAFE_JEDI, False):
        setattr(jedi_settings, UNSAFE_JEDI, False)
        changed = True
    return changed


def _base(obj: Any) -> type:
    cls = type(obj)
    for base, sub in _CLASSES.items():
        if sub is cls:
            return base
    return cls


def _guarded_class(base: type, members: dict[str, Any]) -> type:
    """A subclass of ``base`` (same name, same metaclass) with ``members`` as properties."""
    if base in _CLASSES:
        return _CLASSES[base]
    ns: dict[str, Any] = {"__module__": __name__, "__qualname__": base.__qualname__}
    ns.update(members)
    cls = type(base)(base.__name__, (base,), ns)
    _CLASSES[base] = cls
    return cls


def _fixed(name: str) -> property:
    def refuse(self: Any, *_: Any) -> None:
        raise GuardBlocked("self-protection", f"{name} is the guard's and cannot be replaced",
                           approval_hint=False)
    return property(None, refuse, refuse)


# -- user_expressions ---------------------------------------------------------------------------
def guarded_user_expressions(shell: Any, expressions: Any) -> dict[str, Any]:
    """IPython's ``user_expressions``, each expression judged and recorded first."""
    out: dict[str, Any] = {}
    items = expressions.items() if isinstance(expressions, dict) else ()
    for key, expr in list(items):
        try:
            out[str(key)] = _one(shell, expr)
        except GuardBlocked as e:
            out[str(key)] = refused(e)
        except Exception as e:
            log.exception("jupyter_guard failed while judging a user expression")
            out[str(key)] = refused(GuardBlocked(
                "guard-error", f"the guard could not judge this expression ({type(e).__name__}); "
                "it did not run. Run it as a cell instead", approval_hint=False))
    return out


def refused(err: GuardBlocked) -> dict[str, Any]:
    text = str(err)
    return {"status": "error", "ename": "GuardBlocked", "evalue": text, "traceback": [text]}


def _one(shell: Any, expr: Any) -> dict[str, Any]:
    kg, guard = _STATE["kg"], _STATE["guard"]
    if not isinstance(expr, str):
        raise GuardBlocked("guard-error", "a user expression must be text; it did not run",
                           approval_hint=False)
    try:
        tree = ast.parse(expr, FILENAME, "eval")
    except (SyntaxError, ValueError) as e:   # IPython's eval would fail the same way: nothing ran
        return {"status": "error", "ename": type(e).__name__, "evalue": str(e), "traceback": []}
    module = ast.Module(body=[ast.Expr(tree.body)], type_ignores=[])
    ast.copy_location(module.body[0], tree.body)
    previous = kg.running.cell
    cell = _cell(shell, kg, guard, expr)
    kg.running.cell = cell
    try:
        kg._depth += 1   # parses the analysis makes are not judged again (as for a cell)
        try:
            kg._check(module, expr, FILENAME)   # records the row; raises GuardBlocked if refused
        finally:
            kg._depth -= 1
        code = compile(tree, FILENAME, "eval")
        status = "ok"
        try:
            value = shell._format_user_obj(eval(code, shell.user_global_ns, shell.user_ns))
        except GuardBlocked:
            status, value = "blocked", shell._user_obj_error()
        except BaseException:  # noqa: BLE001 - IPython's own behaviour: the error is the value
            status, value = "error", shell._user_obj_error()
        if value.get("status") == "error" and value.get("ename") == "GuardBlocked":
            status = "blocked"
        if cell.get("event_id") and not cell.get("final"):
            guard.finish(cell["event_id"], status=status,
                         duration_ms=(time.perf_counter() - cell["start"]) * 1000)
        return dict(value)
    finally:
        kg.running.cell = previous


def _cell(shell: Any, kg: Any, guard: Any, expr: str) -> dict[str, Any]:
    """The running-cell facts for one expression: the identity of the request it came with
    (the cell's, when the request ran one), else checked from the request as a cell's is."""
    from jupyter_guard.kernel.stamped import cell_identity, request_msg_id

    msg_id = request_msg_id(shell)
    last = getattr(kg, "last_cell", None) or {}
    cell: dict[str, Any] = {"raw": expr, "cell_id": "", "count": None, "start": time.perf_counter(),
                            "event_id": "", "parsed": False, "judgement": None}
    if msg_id and last.get("msg_id") == msg_id:
        cell.update({k: last.get(k) for k in ("user", "actor", "identity", "meta", "groups",
                                              "cell_id", "count")})
        return cell
    try:
        parent = shell.get_parent() if hasattr(shell, "get_parent") else shell.parent_header
    except Exception:  # noqa: BLE001 - no request around: the kernel's own identity
        parent = {}
    parent = parent if isinstance(parent, dict) else {}
    meta = parent.get("metadata") or {}
    content = parent.get("content") or {}
    code = content.get("code", "") if isinstance(content, dict) else ""
    cell.update(cell_identity(shell, guard, meta, code if isinstance(code, str) else ""))
    cell["cell_id"] = str(meta.get("cellId") or "")[:200] if isinstance(meta, dict) else ""
    return cell


# -- debugger -----------------------------------------------------------------------------------
async def guarded_debug_request(kernel: Any, msg: Any) -> Any:
    """The debugger's requests that run no client code go through; the rest are refused and
    recorded (``debugger``)."""
    command = msg.get("command") if isinstance(msg, dict) else None
    base = _base(kernel)
    if command in DEBUG_ALLOWED:
        reply = await base.do_debug_request(kernel, msg)   # type: ignore[attr-defined]
        if command == "debugInfo" and isinstance(reply, dict):
            body = reply.get("body")
            if isinstance(body, dict):   # nothing can be debugged: say so to the frontend
                body["isStarted"] = False
        return reply
    why = (f"the debugger runs code outside the guard's checks, so `{str(command)[:40]}` is "
           "refused; debug with print or %debug-free cells, or start a kernel without the guard "
           "if your policy allows")
    _record_debug(str(command)[:200], msg, why)
    seq = msg.get("seq", 0) if isinstance(msg, dict) else 0
    return {"type": "response", "request_seq": seq, "seq": 0, "success": False,
            "command": command, "message": f"Blocked by jupyter_guard [debugger]: {why}"}


def _record_debug(command: str, msg: Any, why: str) -> None:
    guard = _STATE.get("guard")
    audit = getattr(guard, "audit", None)
    if guard is None or audit is None:
        return
    args = msg.get("arguments") if isinstance(msg, dict) else None
    expr = args.get("expression") if isinstance(args, dict) else None
    code = f"debug_request {command}" + (f": {expr}" if isinstance(expr, str) else "")
    try:
        audit.begin(user=guard.user, actor=guard.actor, notebook=getattr(guard, "notebook", ""),
                    cell_id="", execution_count=None, kind="python", code=code[:4000],
                    decision="block", rule_id="debugger", reason=why, status="blocked",
                    groups=getattr(guard, "groups", ()))
    except Exception as e:  # noqa: BLE001 - the request is refused whether or not it is recorded
        log.error("jupyter_guard could not record a refused debug request: %s", e)


def _user_expressions_get(self: Any) -> Any:
    return lambda expressions: guarded_user_expressions(self, expressions)


def _debug_get(self: Any) -> Any:
    return lambda msg: guarded_debug_request(self, msg)


_USER_EXPRESSIONS = property(_user_expressions_get, _fixed("user_expressions").fset,
                             _fixed("user_expressions").fdel)
def _inspect_get(self: Any) -> Any:
    return lambda *a, **kw: client_inspect.guarded_inspect(self, _STATE, *a, **kw)


def _kernel_info_get(self: Any) -> Any:
    """ipykernel's ``kernel_info`` without the debugger among its features: every debugger
    request that would run code is refused, so a frontend offers no debugger."""
    info = dict(_base(self).kernel_info.fget(self))   # type: ignore[attr-defined]
    features = info.get("supported_features")
    if isinstance(features, list):
        info["supported_features"] = [f for f in features if f != "debugger"]
    if "debugger" in info:   # the older field
        info["debugger"] = False
    return info


_DEBUG = property(_debug_get, _fixed("do_debug_request").fset, _fixed("do_debug_request").fdel)
_INSPECT = property(_inspect_get, _fixed("do_inspect").fset, _fixed("do_inspect").fdel)
_KERNEL_INFO = property(_kernel_info_get, _fixed("kernel_info").fset, _fixed("kernel_info").fdel)
