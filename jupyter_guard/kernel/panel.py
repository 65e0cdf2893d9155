"""``%guard panel``: a live ipywidgets summary of what the guard did in this kernel.

Plain ipywidgets (JupyterLab, Notebook 7, VS Code); opens in JupyterLab's side area when
``sidecar`` is installed. It listens to the guard's events, so it updates after every cell without
re-running anything. Observers never break the guard: a failing refresh only shows its error.
"""
from __future__ import annotations

import html
import time
from collections import Counter
from typing import Any

from jupyter_guard.guard.service import Guard

_COLOURS = {"allow": "#2e7d32", "mask": "#1565c0", "warn": "#ef6c00", "approval": "#6a1b9a",
            "block": "#c62828"}


def _badge(decision: str, n: int) -> str:
    return (
        "<span style='display:inline-block;margin-right:12px'>"
        f"<b style='color:{_COLOURS.get(decision, '#333')};font-size:1.4em'>{n}</b> "
        f"{decision}</span>"
    )


def summary_html(guard: Guard) -> str:
    counts = guard.counts
    head = "".join(
        _badge(d, counts.get(d, 0)) for d in ("allow", "mask", "warn", "approval", "block")
    )
    rules = Counter(e["rule_id"] for e in guard.recent if e.get("rule_id"))
    top = ", ".join(f"{html.escape(r)} ({n})" for r, n in rules.most_common(5)) or "none yet"
    rows = []
    for e in reversed(guard.recent[-15:]):
        when = time.strftime("%H:%M:%S", time.localtime(e["ts"]))
        cell = (
            f"[{e['execution_count']}]"
            if e.get("execution_count") is not None
            else e.get("kind", "")
        )
        colour = _COLOURS.get(e["decision"], "#333")
        rows.append(f"<tr><td>{when}</td><td>{html.escape(str(cell))}</td>"
                    f"<td style='color:{colour}'><b>{html.escape(e['decision'])}</b></td>"
                    f"<td>{html.escape(e.get('rule_id') or '')}</td>"
                    f"<td>{html.escape((e.get('reason') or '')[:120])}</td></tr>")
    table = (
        (
            "<table style='font-size:0.9em'><tr><th>time</th><th>cell</th><th>decision</th>"
            f"<th>rule</th><th>reason</th></tr>{''.join(rows)}</table>"
        )
        if rows
        else "<i>no events yet</i>"
    )
    return (
        f"<div class='jupyter-guard-panel'><h4 style='margin:4px 0'>&#128737; jupyter_guard — "
        f"{html.escape(guard.user)}, policy {html.escape(guard.policy.name)} "
        f"({guard.policy.mode})</h4>"
        f"<div>{head}</div><div><b>top rules:</b> {top}</div>{table}</div>"
    )


class Panel:
    def __init__(self, guard: Guard) -> None:
        import ipywidgets as w

        self.guard = guard
        self.summary = w.HTML(summary_html(guard))
        self.pending = w.VBox([])
        self.widget = w.VBox([self.summary, self.pending])
        guard.listen(self._on_event)
        self.refresh_pending()

    def _on_event(self, event: dict[str, Any]) -> None:
        try:
            self.summary.value = summary_html(self.guard)
        except Exception as e:  # noqa: BLE001 - never break the guard
            self.summary.value = f"<i>panel could not refresh: {html.escape(str(e))}</i>"

    def refresh_pending(self) -> None:
        """Pending approval requests (copies in the audit file); deciding is the server's."""
        import ipywidgets as w

        g = self.guard
        rows_error = ""
        try:
            from jupyter_guard.hooks.state import Busy
            from jupyter_guard.record import try_ingest
            from jupyter_guard.record.approvals import requests

            with Busy():  # the guard's own store work, even when a user cell asked for the panel
                try_ingest(g.settings["audit"], wait=1.0)  # requests made in other kernels
                pending = requests(g.settings["audit"])
        except Exception as e:  # noqa: BLE001 - the panel shows that approvals are unavailable; nothing is approved
            pending = []
            rows_error = f"<i>pending approvals unavailable: {html.escape(str(e))}</i>"
        rows: list[Any] = [w.HTML(f"<b>pending approvals:</b> {len(pending)} (decide in the "
                                  "Guard sidebar or with <code>jupyter guard approve ID</code>: "
                                  "the jupyter server checks who you are)")] if pending else []
        if rows_error:
            rows.append(w.HTML(rows_error))
        for req in pending[:10]:
            rows.append(w.HTML(f"<code>{html.escape(str(req['request_id']))}</code> by "
                               f"{html.escape(str(req['requested_by']))}: "
                               f"{html.escape(str(req.get('reason') or ''))}"))
        self.pending.children = tuple(rows)


def panel(guard: Guard | None = None) -> Any:
    if guard is None:
        from jupyter_guard.kernel.cellhook import current

        kg = current()
        if kg is None:
            raise RuntimeError("load the guard first: %load_ext jupyter_guard")
        guard = kg.guard
    p = Panel(guard)
    try:
        from sidecar import Sidecar
    except ImportError:
        return p.widget
    with Sidecar(title="Guard"):
        from IPython.display import display

        display(p.widget)
    return None
