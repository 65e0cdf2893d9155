"""polars writers as file exits: ``DataFrame.write_csv/write_parquet/write_json/...`` and
``LazyFrame.sink_*`` write from native code, past ``open`` and every byte scan.

Each one given a destination (a path, a file object that is not an in-memory buffer, a
database) first has its data judged like a pandas writer's (``writers.Exports.check``: column
names the policy calls sensitive, the detectors on sampled values, values read from sensitive
columns). The judged part is the first ``HEAD`` rows, converted to pandas; a lazy frame's first
``HEAD`` rows are computed for it. Writes with no destination (``write_csv()`` returns the text)
are no exit: where that text goes is checked.
"""
from __future__ import annotations

import io
from typing import Any

from jupyter_guard.hooks.sealed_events import sealed
from jupyter_guard.hooks.state import Busy, busy

HEAD = 10_000
WRITERS = ("write_csv", "write_parquet", "write_json", "write_ndjson", "write_ipc",
           "write_ipc_stream", "write_avro", "write_excel", "write_delta", "write_iceberg",
           "write_database")
SINKS = ("sink_csv", "sink_parquet", "sink_ipc", "sink_ndjson")
_DEST_KW = ("file", "target", "workbook", "table_name", "path")


def install(rt: Any, mod: Any, patched: dict[tuple[Any, str], Any]) -> None:
    """Wrap the writers of ``polars.DataFrame`` and the sinks of ``polars.LazyFrame``."""
    for cls, names, lazy in ((mod.DataFrame, WRITERS, False), (mod.LazyFrame, SINKS, True)):
        for name in names:
            orig = cls.__dict__.get(name)
            if orig is None or getattr(orig, "_jg", False):
                continue
            fn = _writer(rt, orig, f"polars {name}", lazy)
            type.__setattr__(cls, name, fn)
            patched[(cls, name)] = fn


def _destination(args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
    if args:
        return args[0]
    return next((kw[k] for k in _DEST_KW if kw.get(k) is not None), None)


def _writer(rt: Any, orig: Any, how: str, lazy: bool) -> Any:
    def write(self: Any, *args: Any, **kw: Any) -> Any:
        dest = _destination(args, kw)
        if dest is not None and not busy() and not isinstance(dest, (io.StringIO, io.BytesIO)):
            judge(rt, self, dest, how, lazy)
        return orig(self, *args, **kw)

    checked = sealed(write, orig)   # its cells (the runtime) out of a cell's reach
    checked._jg = True   # a marker on our own function
    return checked


def judge(rt: Any, frame: Any, dest: Any, how: str, lazy: bool) -> None:
    """Refuse (``exfiltration``) a polars write of sensitive data to ``dest``."""
    from jupyter_guard.hooks.exit_files import FX

    if FX is None or not rt.user_stack(_caller()):
        return
    with Busy():   # the guard's own conversion is no export
        head = (frame.head(HEAD).collect() if lazy else frame.head(HEAD)).to_pandas()
    FX.exports.check(head, dest, how, {})


def _caller() -> Any:
    import sys

    return sys._getframe(3)
