"""``CheckedFile``: a file user code opened for writing, whose writes are scanned before they
reach the file.

Small writes are held by the guard, per file, and scanned in batches (``BATCH`` characters or
bytes): scanning each line of a log alone costs more than writing it. Nothing held reaches the
file object, let alone the OS, before it is scanned: a refused batch is dropped whole, so the
file never holds any of it; a killed kernel drops what was held, like any unflushed buffer.

- A batch is scanned with the last ``TAIL`` characters of the one before it, so a value cut by a
  batch boundary is seen whole.
- A batch is scanned and sent when it fills, and before anything that shows or moves the file:
  ``flush``, ``close``, ``fileno``, ``seek``, ``tell``, ``truncate``, reads, leaving ``with``,
  the file being collected, and the interpreter's exit.
- A refusal therefore comes at the write that fills the batch or at the flush or close that sends
  it. The first write to a file is also judged alone, at once, so a one-line
  ``open(p, 'w').write(values)`` is refused where it is made.
- A refusal met where no caller can see it (a file dropped unclosed, the interpreter's exit) is
  recorded like any other and printed as one line on stderr.
- Files the user asked to reach the OS at once (line-buffered, ``write_through``, unbuffered
  raw files) and descriptors (pipes to children) are not held: each write is scanned alone.
"""
from __future__ import annotations

import atexit
import io
import sys
import weakref
from typing import Any

from jupyter_guard.hooks import file_layers
from jupyter_guard.hooks.state import Busy

BATCH = 64 * 1024
TAIL = 256   # the end of the batch sent last, scanned again with the next one
# attributes that neither show the file's content nor move its position: no release
_PURE = frozenset({"name", "mode", "closed", "encoding", "errors", "newlines", "readable",
                   "writable", "seekable", "isatty", "line_buffering", "write_through"})
_LAYERS = frozenset({"buffer", "raw"})   # ``f.buffer.write(...)`` would skip the text layer
_held: weakref.WeakSet[CheckedFile] = weakref.WeakSet()
_at_exit = False


def _holds(f: Any, file: Any) -> bool:
    if isinstance(file, int):
        return False
    if isinstance(f, io.TextIOWrapper):
        return not (f.line_buffering or f.write_through)
    return isinstance(f, (io.BufferedWriter, io.BufferedRandom))


def _release_all() -> None:
    for cf in list(_held):
        cf._jg_quiet("interpreter exit")


class CheckedFile:
    """A file opened for writing by user code: every write is scanned before it is sent."""

    __slots__ = ("__weakref__", "_jg_ex", "_jg_fast", "_jg_file", "_jg_held", "_jg_kind",
                 "_jg_path", "_jg_seen", "_jg_size", "_jg_tail", "_jg_text")

    def __init__(self, f: Any, path: str, ex: Any, file: Any = None, hold: bool = True) -> None:
        global _at_exit
        self._jg_file, self._jg_path, self._jg_ex = f, path, ex
        self._jg_held: list[Any] = []
        self._jg_size, self._jg_seen = 0, False
        self._jg_fast: Any = None   # the held type once the first write was judged alone
        self._jg_tail: Any = None
        self._jg_text = isinstance(f, io.TextIOBase)
        if hold:   # the file itself (a layer below was registered with it)
            file_layers.register(f, path, ex)
        # what is held (str or bytes); None: each write is scanned alone and sent
        self._jg_kind: Any = ((str if self._jg_text else bytes) if hold and _holds(f, file)
                              else None)
        if self._jg_kind is not None:
            _held.add(self)
            if not _at_exit:   # registered after the audit's own handler, so it runs first
                _at_exit = True
                atexit.register(_release_all)

    def _jg_piece(self, data: Any) -> Any:
        """``data`` as held (a private copy of a buffer), with the errors ``write`` raises."""
        if self._jg_file.closed:
            raise ValueError("I/O operation on closed file.")
        if self._jg_text:
            if not isinstance(data, str):
                raise TypeError(f"write() argument must be str, not {type(data).__name__}")
            return data
        if isinstance(data, bytes):
            return data
        if isinstance(data, str):
            raise TypeError("a bytes-like object is required, not 'str'")
        return memoryview(data).tobytes()   # a copy: the caller may reuse its buffer

    def write(self, data: Any) -> Any:
        if type(data) is self._jg_fast:   # the common case: one more piece of a batch
            n = len(data)
            self._jg_held.append(data)
            self._jg_size = size = self._jg_size + n
            if size >= BATCH:
                self._jg_release("write")
            return n
        return self._jg_write(data)

    def _jg_write(self, data: Any) -> Any:
        if self._jg_kind is None:
            self._jg_ex.check(data, self._jg_path, "write")
            with Busy():   # scanned: the file object below does not scan it again
                return self._jg_file.write(data)
        piece = self._jg_piece(data)
        n = len(piece)
        if n >= BATCH and not self._jg_held:   # a large write alone: scanned once, sent
            self._jg_seen, self._jg_fast = True, self._jg_kind
            self._jg_send(piece, "write")
            return n
        if not self._jg_seen:
            self._jg_seen = True
            self._jg_ex.check(piece, self._jg_path, "write")
            self._jg_fast = self._jg_kind
        self._jg_held.append(piece)
        self._jg_size += n
        if self._jg_size >= BATCH:
            self._jg_release("write")
        return n

    def writelines(self, lines: Any) -> Any:
        lines = list(lines)
        if self._jg_kind is None:
            from jupyter_guard.hooks.exits import _text

            self._jg_ex.check("".join(map(_text, lines)), self._jg_path, "writelines")
            with Busy():
                return self._jg_file.writelines(lines)
        pieces = [self._jg_piece(x) for x in lines]
        self.write(("" if self._jg_text else b"").join(pieces))
        return None

    def _jg_release(self, how: str) -> None:
        """Scan what is held and send it; a refused batch is dropped whole (then raises)."""
        if not self._jg_held:
            return
        held, self._jg_held, self._jg_size = self._jg_held, [], 0
        self._jg_send(held[0] if len(held) == 1 else ("" if self._jg_text else b"").join(held), how)

    def _jg_send(self, data: Any, how: str) -> None:
        """Scan ``data`` with the end of what was sent before it (a value cut by the batch
        boundary is seen whole), then send it."""
        tail = self._jg_tail
        self._jg_ex.check(tail + data if tail else data, self._jg_path, how)
        self._jg_tail = data[-TAIL:]
        with Busy():
            self._jg_file.write(data)

    def _jg_quiet(self, how: str) -> None:
        """Release where no caller can see a refusal: recorded, and one line on stderr."""
        try:
            if not self._jg_file.closed:
                self._jg_release(how)
        except Exception as e:  # noqa: BLE001 - nobody to raise to: the held batch is dropped, the refusal was recorded, the user is told here
            try:
                print(f"jupyter_guard: nothing was written to {self._jg_path} at {how}: {e}",
                      file=sys.stderr)
            except Exception:  # noqa: BLE001 - stderr gone at shutdown: the batch is dropped all the same
                pass

    def flush(self) -> Any:
        self._jg_release("flush")
        with Busy():   # what the layers below hold was scanned on its way in
            return self._jg_file.flush()

    def close(self) -> Any:
        self._jg_kind = self._jg_fast = None   # later writes: the slow path raises if closed
        try:
            if not self._jg_file.closed:
                self._jg_release("close")
        finally:
            with Busy():
                self._jg_file.close()

    def __del__(self) -> None:
        if self._jg_held:
            self._jg_quiet("close")

    def __getattr__(self, name: str) -> Any:
        if name not in _PURE and self._jg_held:
            self._jg_release(name)
        if name == "detach":
            self._jg_kind = self._jg_fast = None
        if name in _LAYERS:   # the layer below writes too: checked write by write, not held
            return _Layer(getattr(self._jg_file, name), self._jg_path, self._jg_ex, hold=False)
        return getattr(self._jg_file, name)

    def __enter__(self) -> CheckedFile:
        self._jg_file.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        self._jg_kind = self._jg_fast = None
        try:
            if not self._jg_file.closed:
                self._jg_release("close")
        finally:
            with Busy():
                self._jg_file.__exit__(*exc)

    def __iter__(self) -> Any:
        self._jg_release("read")
        return iter(self._jg_file)

    def __repr__(self) -> str:
        return repr(self._jg_file)


class _Layer(CheckedFile):
    """``f.buffer``/``f.raw`` of a checked file: writes checked one by one; attributes set on it
    reach the layer itself (``tempfile`` names the raw file this way)."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_jg_"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._jg_file, name, value)
