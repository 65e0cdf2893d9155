"""polars writers as file exits: ``DataFrame.write_csv/write_parquet/write_json/...`` and
``LazyFrame.sink_*`` write from native code, past ``open`` and every byte scan.

Each one given a destination (a path, a file object that is not an in-memory buffer, a
database) first has its data judged like a pandas writer's (``writers.Exports.check``: column
names the policy calls sensitive, the detectors on sampled values, values read from sensitive
columns). The judged part is the first ``HEAD`` rows, converted to pandas; a lazy frame's first
``HEAD`` rows are computed for it. Writes with no destination (``write_csv()`` returns the text)
are no exit: where that text goes is checked.

Every reader, scanner, writer and sink given a path first has it checked (``exit_native.check``:
the audit store and the server's authority files are refused as ``self-protection``); a source
that is no path, no file object and no in-memory buffer is refused too (a Delta or Iceberg table
object excepted: it names its own files).
"""
from __future__ import annotations

import io
import sys
from typing import Any

from jupyter_guard.hooks.sealed_events import sealed
from jupyter_guard.hooks.state import Busy, busy

HEAD = 10_000
WRITERS = ("write_csv", "write_parquet", "write_json", "write_ndjson", "write_ipc",
           "write_ipc_stream", "write_avro", "write_excel", "write_delta", "write_iceberg",
           "write_database")
SINKS = ("sink_csv", "sink_parquet", "sink_ipc", "sink_ndjson")
_DEST_KW = ("file", "target", "workbook", "table_name", "path")
_NOT_PATHS = ("write_database", "write_iceberg", "write_clipboard")   # a table, a catalog, none
# writers whose data leaves with no destination argument: judged as an export to this name
_NO_DEST = {"write_clipboard": "the clipboard"}
_IN_PROCESS = ("sink_batches",)   # hands batches to a Python callback: no exit (where it goes is)
_READERS = ("read_avro", "read_csv", "read_csv_batched", "read_delta", "read_excel", "read_ipc",
            "read_ipc_schema", "read_ipc_stream", "read_json", "read_lines", "read_ndjson",
            "read_ods", "read_parquet", "read_parquet_metadata", "read_parquet_schema",
            "scan_csv", "scan_delta", "scan_iceberg", "scan_ipc", "scan_lines", "scan_ndjson",
            "scan_parquet")
_OBJECTS = ("read_delta", "scan_delta", "scan_iceberg")   # may be given a table object


def install(rt: Any, mod: Any, patched: dict[tuple[Any, str], Any],
            module_patched: dict[tuple[Any, str], Any] | None = None) -> None:
    """Wrap the writers of ``polars.DataFrame``, the sinks of ``polars.LazyFrame`` and the
    module's readers and scanners."""
    for cls, names, lazy in ((mod.DataFrame, WRITERS, False), (mod.LazyFrame, SINKS, True)):
        prefix = "sink_" if lazy else "write_"   # every one this polars has, listed or not
        for name in sorted(set(names) | {n for n in dir(cls) if n.startswith(prefix)}):
            orig = cls.__dict__.get(name)
            if orig is None or getattr(orig, "_jg", False):
                continue
            fn = _writer(rt, orig, f"polars {name}", lazy)
            type.__setattr__(cls, name, fn)
            patched[(cls, name)] = fn
    for name in _READERS:
        orig = getattr(mod, name, None)
        if orig is None or getattr(orig, "_jg", False):
            continue
        fn = _reader(rt, orig, f"polars.{name}", name in _OBJECTS)
        for where in (mod, sys.modules.get(getattr(orig, "__module__", "") or "")):
            if where is not None and getattr(where, name, None) is orig:
                setattr(where, name, fn)
                if module_patched is not None:
                    module_patched[(where, name)] = fn


def _reader(rt: Any, orig: Any, how: str, objects: bool) -> Any:
    def read(*args: Any, **kw: Any) -> Any:
        source = args[0] if args else kw.get("source")
        from jupyter_guard.hooks import exit_files, exit_native

        if exit_files.FX is not None and not (objects and exit_native.paths_of(source) is None):
            exit_native.check(exit_files.FX, source, how, sys._getframe(1))
        return orig(*args, **kw)

    checked = sealed(read, orig)   # its cells (the runtime) out of a cell's reach
    checked._jg = True   # a marker on our own function
    return checked


def _destination(args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
    if args:
        return args[0]
    return next((kw[k] for k in _DEST_KW if kw.get(k) is not None), None)


def _writer(rt: Any, orig: Any, how: str, lazy: bool) -> Any:
    def write(self: Any, *args: Any, **kw: Any) -> Any:
        if how.split()[-1] in _IN_PROCESS:
            return orig(self, *args, **kw)
        dest = _destination(args, kw)
        if dest is not None and not busy() and how.split()[-1] not in _NOT_PATHS:
            from jupyter_guard.hooks import exit_files, exit_native

            if exit_files.FX is not None:
                exit_native.check(exit_files.FX, dest, how, _caller(2))
                if rt.user_stack(_caller(2)):   # its path: the rules ``open(p, 'w')`` gets
                    from jupyter_guard.hooks import exit_arrow

                    exit_arrow.opened(how, dest)
                    exit_arrow.remote_url(rt, dest, kw.get("storage_options"), how)
        if dest is None and how.split()[-1] in _NO_DEST:
            dest = _NO_DEST[how.split()[-1]]
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


def _caller(up: int = 3) -> Any:
    return sys._getframe(up)
