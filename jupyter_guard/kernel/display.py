"""Display-only masking in a live IPython kernel: the one masking module touching IPython.

``install(shell, get_settings)`` registers display formatters for pandas objects (only the
rendered rows are masked), masks plain text reprs, wraps the kernel's stdout/stderr with a
line-buffering masker, masks tracebacks, and puts a last net on every published bundle.
Variables are never changed. ``Masker.uninstall()`` restores every previous printer/method.
"""
from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Callable, Set
from types import SimpleNamespace
from typing import Any

from IPython.lib import pretty

from jupyter_guard.hooks import carried, lazy
from jupyter_guard.hooks.digit_lines import char_cells, char_rows
from jupyter_guard.hooks.sealed_events import sealed
from jupyter_guard.hooks.shown_order import Shown
from jupyter_guard.kernel import replies as mask_replies
from jupyter_guard.kernel import sent_pieces
from jupyter_guard.kernel.encoded_runs import mask_runs, shown
from jupyter_guard.kernel.replies import call_trusted, mask_bundle
from jupyter_guard.kernel.streams import MaskedStream, SwappedStream, order_of
from jupyter_guard.mask.scope import one_display
from jupyter_guard.mask.strategy import BLOCK
from jupyter_guard.mask.text import MaskSettings, mask_text

LATE_MODULES = ("jupyter_guard.mask.settings", "jupyter_guard.mask.render")  # need pandas
STYLER = ("pandas.io.formats.style", "Styler")  # registered by name: importing it costs ~60 ms
PANDAS_MIMES = frozenset({"text/plain", "text/html"})  # what our pandas printers produce
PLAIN_TYPES = (str, list, dict, tuple)
def _styler(obj: Any) -> bool:
    style = sys.modules.get(STYLER[0])
    return style is not None and isinstance(obj, style.Styler)


class Masker:
    """Masking installed on one shell; every hook asks ``get_settings()`` at call time."""

    def __init__(self, shell: Any, get_settings: Callable[[], MaskSettings],
                 lineage: Callable[[Any], Set[str]] | None = None,
                 on_unmasked: Callable[[str], None] | None = None) -> None:
        self.shell, self.get_settings = shell, get_settings
        self.lineage, self.on_unmasked = lineage, on_unmasked
        self._printers: list[tuple[Any, type | tuple[str, str], Any]] = []
        self._methods: list[tuple[Any, str, Any]] = []
        self._streams: list[MaskedStream | SwappedStream] = []
        self._masked: deque[Any] = deque(maxlen=16)
        self._local = threading.local()  # bundles already masked (by identity)
        self._installed = False
        self._wire: Any = None  # the kernel's Session.send, wrapped (mask_replies.WireNet)
        self._pieces: Any = None  # under it, output read as one stream (sent_pieces)
        self._logs: list[Any] = []  # the kernel log's handlers, filtered
        self._pd: tuple[type, ...] = ()            # (DataFrame, Series) once pandas is set up
        self._render: Any = None                   # the renderers, bound at the same moment
        # displays and errors read in one order with the streams' lines (``shown_order``)
        self._shown = Shown(order_of(self))

    def settings(self) -> MaskSettings:
        try:
            return self.get_settings()
        except Exception:  # noqa: BLE001 - never fail open: a broken settings source means default masking
            return MaskSettings()

    def _lineage_of(self, obj: Any) -> Set[str]:
        try:
            return self.lineage(obj) if self.lineage else frozenset()
        except Exception:  # noqa: BLE001 - no lineage: the detectors still mask by value
            return frozenset()

    def _current(self, kind: str) -> MaskSettings:
        settings = self.settings()
        if not settings.active and self.on_unmasked is not None:
            try:
                self.on_unmasked(kind)
            except Exception:  # noqa: BLE001 - the unmasked-display notice is an observer; the settings decided already
                pass
        return settings

    # -- printers ---------------------------------------------------------------------------
    def is_pandas(self, obj: Any) -> bool:
        """A DataFrame, Series or Styler (the classes pandas had when the printers were set up)."""
        return bool(self._pd) and (isinstance(obj, self._pd) or _styler(obj))

    def _html(self, obj: Any) -> str | None:
        r = self._render
        settings = self._current(type(obj).__name__)
        if _styler(obj):
            return r.styler_html(obj, settings, self._lineage_of(obj.data))
        if isinstance(obj, self._pd[1]):
            return None
        html = r.frame_html(obj, settings, self._lineage_of(obj))
        return char_cells(html) if isinstance(html, str) else html   # (one character a row)

    def _plain(self, obj: Any, p: Any, cycle: bool) -> None:
        r = self._render
        settings = self._current(type(obj).__name__)
        if isinstance(obj, self._pd[0]):   # (``char_rows``: a value spelt down a column)
            p.text(char_rows(r.frame_text(obj, settings, self._lineage_of(obj))))
        elif isinstance(obj, self._pd[1]):
            p.text(char_rows(r.series_text(obj, settings, self._lineage_of(obj))))
        else:
            p.text(mask_text(repr(obj), settings))

    def _plain_builtin(self, obj: Any, p: Any, cycle: bool) -> None:
        text = pretty.pretty(obj, max_width=p.max_width, max_seq_length=p.max_seq_length)
        p.text(mask_text(text, self.settings()))

    # -- method wrappers --------------------------------------------------------------------
    def _wrap(self, owner: Any, name: str, make: Callable[[Any], Any]) -> None:
        previous = owner.__dict__.get(name)
        setattr(owner, name, make(getattr(owner, name)))
        self._methods.append((owner, name, previous))

    def _format(self, original: Any) -> Any:
        def format(obj: Any, include: Any = None, exclude: Any = None) -> Any:
            if lazy.waiting("pandas"):
                lazy.catch_up()
            with one_display():  # text/plain and text/html share one classification
                data, md = original(obj, include=include, exclude=exclude)
            settings = self.settings()
            if settings.active:
                if self.is_pandas(obj):  # other pandas mimes (table schema): dropped
                    data = {k: mask_runs(v, settings)[0] if isinstance(v, str) else v
                            for k, v in data.items() if k in PANDAS_MIMES}
                else:
                    data = mask_bundle(data, settings)
                self._masked.append(data)
            return data, md
        return format

    def _publish(self, original: Any) -> Any:
        def publish(data: Any, *args: Any, **kwargs: Any) -> Any:
            settings = self.settings()
            if not any(data is seen for seen in self._masked):
                data = mask_bundle(data, settings)
            if settings.active:   # (a value spelt over prints and displays: ``shown_order``)
                data = self._shown.bundle(data)
            return call_trusted(original, data, *args, **kwargs)
        return publish

    @staticmethod
    def _sends_masked(original: Any) -> Any:
        """The displayhook's send of the result ``write_format_data`` masked."""
        def finish(*args: Any, **kwargs: Any) -> Any:
            return call_trusted(original, *args, **kwargs)
        return finish

    def _showtraceback(self, original: Any) -> Any:
        def show(etype: Any, evalue: Any, stb: Any) -> Any:
            etype, evalue, stb = carried.unwrap(etype, evalue, stb)   # DuckDB's, holding a refusal
            settings = self.settings()
            text = str(evalue)
            masked = shown(text, settings)
            if settings.active and self._shown.text(masked):   # it ends a value spelt over
                return original(etype, BLOCK, [BLOCK])          # prints and displays
            return original(etype, evalue if masked == text else masked,
                            [shown(line, settings) for line in stb])
        return show

    def _patch_repr(self, cls: type, text: Callable[..., str]) -> None:
        """``print(df)``/``str(df)`` show the masked repr (name globs apply, not only detectors)."""
        original = cls.__dict__["__repr__"]

        def __repr__(obj: Any) -> str:
            settings = self.settings()
            if not settings.active:
                return str(original(obj))
            if getattr(self._local, "in_repr", False):  # pandas formatting an error about obj
                return f"<{type(obj).__name__} {getattr(obj, 'shape', '')} (masked)>"
            self._local.in_repr = True
            try:
                return text(obj, settings, self._lineage_of(obj))
            finally:
                self._local.in_repr = False

        masked_repr = sealed(__repr__, original)   # its cells (the masker) out of a cell's reach
        masked_repr.__wrapped__ = original   # a mark on the guard's own wrapper
        cls.__repr__ = masked_repr  # type: ignore[method-assign]  # pandas' own repr, wrapped
        self._methods.append((cls, "__repr__", original))

    def install(self) -> Masker:
        formatters = self.shell.display_formatter.formatters
        for typ in PLAIN_TYPES:
            self._printers.append((formatters["text/plain"], typ,
                                   formatters["text/plain"].for_type(typ, self._plain_builtin)))
        self._wrap(self.shell.display_formatter, "format", self._format)
        for owner, name in ((self.shell.display_pub, "publish"),
                            (self.shell.displayhook, "write_format_data")):
            if hasattr(owner, name):
                self._wrap(owner, name, self._publish)
        if hasattr(self.shell.displayhook, "finish_displayhook"):
            self._wrap(self.shell.displayhook, "finish_displayhook", self._sends_masked)
        if hasattr(self.shell, "_showtraceback"):
            self._wrap(self.shell, "_showtraceback", self._showtraceback)
        for name in dict.fromkeys(("stdout", "stderr")):
            try:
                self._streams.append(MaskedStream(getattr(sys, name), self))
            except (TypeError, AttributeError):  # a C-level stream (terminal IPython): swap it
                self._streams.append(SwappedStream(name, self))
        self.shell.events.register("post_run_cell", self._drain)
        session = getattr(getattr(self.shell, "kernel", None), "session", None)
        if session is not None:   # (output read as one stream per cell, below the masking)
            self._pieces = sent_pieces.install(session, self.settings)
            self._wire = mask_replies.install(session, self.settings, self.shell.kernel)
        # the kernel's own log goes to the server's console: ``kernel.log.error(value)``
        self._logs = list(getattr(getattr(getattr(self.shell, "kernel", None), "log", None),
                                  "handlers", ()))
        for handler in self._logs:
            handler.addFilter(self._log_record)
        self._installed = True
        lazy.trust_loaded(LATE_MODULES)
        lazy.when_imported("pandas", self._install_pandas)  # now, or when user code imports it
        return self

    def _install_pandas(self, pd: Any) -> None:
        """Printers and reprs for pandas objects (masking only the rendered rows)."""
        if not self._installed:
            return
        lazy.import_own("jupyter_guard.mask.settings")
        render = lazy.import_own("jupyter_guard.mask.render")
        frame_text, series_text = render.frame_text, render.series_text
        # bound now, like module-level imports: nothing later put in sys.modules changes them
        frame_text, series_text = _labelled(frame_text), _labelled(series_text)
        self._render = SimpleNamespace(frame_html=_labelled(render.frame_html),
                                       frame_text=frame_text, series_text=series_text,
                                       styler_html=render.styler_html)
        self._pd = (pd.DataFrame, pd.Series)

        formatters = self.shell.display_formatter.formatters
        for mime, fn, types in (("text/html", self._html, (pd.DataFrame,)),
                                ("text/plain", self._plain, (pd.DataFrame, pd.Series))):
            for typ in types:
                self._printers.append((formatters[mime], typ, formatters[mime].for_type(typ, fn)))
        html = formatters["text/html"]
        self._printers.append((html, STYLER, html.for_type_by_name(*STYLER, self._html)))
        for cls, text in ((pd.DataFrame, frame_text), (pd.Series, series_text)):
            self._patch_repr(cls, text)

    def _log_record(self, record: Any) -> bool:
        """A record of the kernel's log, its message masked (a filter on its handlers)."""
        settings = self.settings()
        if settings.active:
            text = record.getMessage()
            masked = shown(text, settings)
            if masked != text:
                record.msg, record.args = masked, ()
        return True

    def _drain(self, *_: Any) -> None:
        """After a cell: emit the partial lines held back (nothing more of them is coming), and
        wrap ``Session.send`` again if the cell unwrapped it."""
        if self._wire is not None:
            self._wire.ensure()
        for stream in self._streams:
            try:
                stream.drain()
            except Exception:  # noqa: BLE001 - a closed stream: what it held is dropped, never shown raw
                pass
        self._shown.end()

    def uninstall(self) -> None:
        """Restore the previous printers, methods and stream methods, newest first."""
        try:
            self.shell.events.unregister("post_run_cell", self._drain)
        except ValueError:  # not registered (a failed install): nothing to undo
            pass
        if self._pieces is not None:
            self._pieces.release()
            self._pieces = None
        if self._wire is not None:
            self._wire.restore()
            self._wire = None
        for handler in self._logs:
            handler.removeFilter(self._log_record)
        self._logs = []
        for stream in reversed(self._streams):
            stream.restore()
        for owner, name, previous in reversed(self._methods):
            if isinstance(owner, type):
                setattr(owner, name, previous)
                continue
            owner.__dict__.pop(name, None)
            if previous is not None:
                setattr(owner, name, previous)
        for formatter, typ, previous in reversed(self._printers):
            if isinstance(typ, tuple):  # registered by name; resolved to the class once used
                formatter.deferred_printers.pop(typ, None)
                named = [c for c in formatter.type_printers if (c.__module__, c.__name__) == typ]
                for cls in named:
                    formatter.type_printers.pop(cls)
                if previous is not None:
                    formatter.for_type_by_name(*typ, previous)
                continue
            formatter.type_printers.pop(typ, None)
            if previous is not None:
                formatter.for_type(typ, previous)
        self._streams, self._methods, self._printers = [], [], []
        self._installed = False


def _labelled(render: Callable[..., Any]) -> Callable[..., Any]:
    """``render`` of the object with its labels masked where they are a sensitive column's
    values (``label_values``: ``pivot(columns='ssn')``, ``set_index('ssn').T``), a level being
    sensitive by the masked column names or by lineage (the frame's marked columns)."""
    from jupyter_guard.hooks.label_values import mask_labels
    from jupyter_guard.mask.detect import name_matches

    def shown(obj: Any, settings: MaskSettings, lineage: Set[str] = frozenset()) -> Any:
        if settings.active:
            obj = mask_labels(obj, lambda n: n in lineage or name_matches(n, settings.columns))
        return render(obj, settings, lineage)
    return shown


def install(shell: Any, get_settings: Callable[[], MaskSettings], *,
            lineage: Callable[[Any], Set[str]] | None = None,
            on_unmasked: Callable[[str], None] | None = None) -> Masker:
    """Mask every display, print and traceback of ``shell``; returns the ``Masker``."""
    return Masker(shell, get_settings, lineage, on_unmasked).install()
