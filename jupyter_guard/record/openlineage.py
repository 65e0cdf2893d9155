"""OpenLineage run events from the audit (spec 2-0-2).

A kernel session is a run of the job ``<notebook or session-ID>``; each cell (the ``cells`` view:
server and kernel rows of one cell are one) is a child run of the job ``<notebook>/<cell id>``
(``cell-<execution count>`` when the client sent no cell id), with a ``parent`` facet naming the
session's run. Each run has a START event and, once it ended, COMPLETE (ok), FAIL (error) or
ABORT (blocked, interrupted). Datasets carry ``columnLineage`` (every column a cell read feeds
every column it wrote) and the guard's sensitivity as the custom facet ``jupyterGuardSensitivity``;
SQL cells a ``sql`` job facet; every cell run the custom ``jupyterGuard`` facet (decision, rule,
status, user, actor, layers, event ids). Events are plain dicts; ``client_event`` turns one into
openlineage-python's ``RunEvent`` for its client and transports.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

PRODUCER = "https://github.com/jupyter-guard/jupyter_guard"
SPEC = "https://openlineage.io/spec"
RUN_EVENT_URL = f"{SPEC}/2-0-2/OpenLineage.json#/$defs/RunEvent"
PARENT_URL = f"{SPEC}/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet"
COLUMN_LINEAGE_URL = f"{SPEC}/facets/1-2-0/ColumnLineageDatasetFacet.json" \
                     "#/$defs/ColumnLineageDatasetFacet"
SQL_URL = f"{SPEC}/facets/1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet"
GUARD_URL = f"{PRODUCER}/blob/main/README.md#openlineage-jupyterGuard-run-facet"
SENSITIVITY_URL = f"{PRODUCER}/blob/main/README.md#openlineage-jupyterGuardSensitivity"
NAMESPACE = "jupyter_guard"
END_TYPES = {"ok": "COMPLETE", "error": "FAIL", "blocked": "ABORT", "interrupted": "ABORT"}
_HEX = re.compile(r"[0-9a-fA-F]{32}")
_RUN_NS = uuid.UUID("6f1c1f0e-9d9e-4a57-9a3c-6a7f2f3b8e11")


def run_id(key: Any) -> str:
    """A UUID for a run: the event id when it is one, else one derived from the key.

    >>> run_id("0123456789abcdef0123456789abcdef")
    '01234567-89ab-cdef-0123-456789abcdef'
    """
    text = str(key or "")
    if len(text) == 32 and _HEX.fullmatch(text):
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}".lower()
    return str(uuid.uuid5(_RUN_NS, text))


def iso(ts: Any) -> str:
    """ISO 8601 UTC with ``Z`` for a naive-UTC datetime or microseconds since the epoch."""
    if isinstance(ts, dt.datetime):
        if ts.tzinfo is None:
            return ts.isoformat() + ("Z" if ts.microsecond else ".000000Z")
        moment = ts
    else:
        try:
            moment = dt.datetime.fromtimestamp(int(ts) / 1e6, dt.timezone.utc)
        except (TypeError, ValueError, OverflowError, OSError):
            moment = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def facet(url: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": url, **fields}


def dataset_of(kind: str, name: str, session_id: str) -> tuple[str, str, str]:
    """(namespace, dataset name, field) of one lineage row; field is '' for whole datasets.

    >>> dataset_of("column", "main.customers.ssn", "s"), dataset_of("column", "ssn", "s")
    (('jupyter_guard', 'main.customers', 'ssn'), ('jupyter_guard', '', 'ssn'))
    """
    name = str(name or "")
    if kind == "column":
        table, _, column = name.rpartition(".")
        return NAMESPACE, table, column
    if kind == "file":
        return "file", name or "(unnamed)", ""
    if kind == "url":
        parts = urlsplit(name) if "://" in name else None
        if parts is not None and parts.scheme and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}", parts.path or "/", ""
        return "url", name or "(unnamed)", ""
    if kind == "variable":
        return f"jupyter://{session_id or 'unknown'}", name or "(unnamed)", ""
    return NAMESPACE, name or "(unnamed)", ""


def _datasets(lineage: list[dict[str, Any]], session_id: str
              ) -> tuple[dict[tuple[str, str], dict[str, Any]], ...]:
    """Read and written datasets: key -> {"fields": {name: sensitive}, "more": n, "sens": bool}.

    Columns of no known table (a DataFrame's, an unqualified column of a join) and the
    ``+N columns`` summary rows belong to the datasets written, else to those read.
    """
    sides: tuple[dict[tuple[str, str], dict[str, Any]], ...] = ({}, {})
    loose: list[tuple[int, str, bool, int]] = []
    for row in lineage or ():
        direction, kind = str(row.get("d") or ""), str(row.get("k") or "")
        name, sensitive = str(row.get("n") or ""), bool(row.get("s"))
        side = 1 if direction == "write" else 0
        if kind == "column" and name.startswith("+") and name.endswith(" columns"):
            digits = name[1:-len(" columns")]
            loose.append((side, "", sensitive, int(digits) if digits.isdigit() else 0))
            continue
        ns, ds, field = dataset_of(kind, name, session_id)
        if kind == "column" and not ds:
            loose.append((side, field, sensitive, 0))
            continue
        entry = sides[side].setdefault((ns, ds), {"fields": {}, "more": 0, "sens": False})
        if field:
            entry["fields"][field] = entry["fields"].get(field, False) or sensitive
        entry["sens"] = entry["sens"] or sensitive
    for side, field, sensitive, count in loose:
        target = sides[1] or sides[side]
        if not target:
            target[(NAMESPACE, "(unresolved)")] = {"fields": {}, "more": 0, "sens": False}
        for entry in target.values():
            entry["more"] += count
            if field:
                entry["fields"][field] = entry["fields"].get(field, False) or sensitive
            entry["sens"] = entry["sens"] or sensitive
    return sides


def _dataset_doc(key: tuple[str, str], entry: dict[str, Any],
                 inputs: list[dict[str, str]] | None) -> dict[str, Any]:
    facets: dict[str, Any] = {}
    sensitive = sorted(f for f, s in entry["fields"].items() if s)
    if entry["sens"] or entry["more"]:
        facets["jupyterGuardSensitivity"] = facet(
            SENSITIVITY_URL, sensitive=bool(entry["sens"]), sensitiveFields=sensitive,
            fieldsNotListed=int(entry["more"]))
    if inputs:
        targets = sorted(entry["fields"]) or sorted({f["field"] for f in inputs})
        facets["columnLineage"] = facet(COLUMN_LINEAGE_URL, fields={
            t: {"inputFields": inputs} for t in targets})
    return {"namespace": key[0], "name": key[1], "facets": facets}


def cell_events(cell: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """START and, when the cell ended, its final event."""
    session = str(cell.get("session_id") or "")
    reads, writes = _datasets(list(cell.get("lineage") or ()), session)
    inputs = [{"namespace": ns, "name": ds, "field": f}
              for (ns, ds), e in sorted(reads.items()) for f in sorted(e["fields"])]
    job_facets: dict[str, Any] = {}
    if "sql" in (cell.get("layers") or ()):
        job_facets["sql"] = facet(SQL_URL, query=str(cell.get("code") or ""))
    guard = {k: cell.get(k) for k in ("decision", "rule_id", "reason", "status", "user_name",
                                      "actor", "execution_count", "cell_id")}
    guard["layers"] = [str(x) for x in cell.get("layers") or ()]
    guard["event_ids"] = [str(x) for x in cell.get("event_ids") or ()]
    first = cell.get("first_event_id") or (cell.get("event_ids") or [cell.get("cell_key")])[0]
    run = {"runId": run_id(first), "facets": {
        "parent": facet(PARENT_URL, run={"runId": run_id(session)},
                        job={"namespace": NAMESPACE, "name": session_job(cell)}),
        "jupyterGuard": facet(GUARD_URL, **guard)}}
    base = {"producer": PRODUCER, "schemaURL": RUN_EVENT_URL, "run": run,
            "job": {"namespace": NAMESPACE, "name": cell_job(cell), "facets": job_facets}}
    yield {"eventType": "START", "eventTime": iso(cell.get("ts")), **base,
           "inputs": [_dataset_doc(k, e, None) for k, e in sorted(reads.items())], "outputs": []}
    end = END_TYPES.get(str(cell.get("status") or ""))
    if end:
        yield {"eventType": end, "eventTime": iso(cell.get("finished_at") or cell.get("ts")),
               **base, "inputs": [_dataset_doc(k, e, None) for k, e in sorted(reads.items())],
               "outputs": [_dataset_doc(k, e, inputs) for k, e in sorted(writes.items())]}


def session_job(row: dict[str, Any]) -> str:
    notebook = str(row.get("notebook") or "")
    return notebook or f"session-{row.get('session_id') or 'unknown'}"


def cell_job(cell: dict[str, Any]) -> str:
    """``<notebook or session>/<cell id>``, else ``/cell-<execution count>``, else the event."""
    if cell.get("cell_id"):
        return f"{session_job(cell)}/{cell['cell_id']}"
    if cell.get("execution_count") is not None:
        return f"{session_job(cell)}/cell-{cell['execution_count']}"
    return f"{session_job(cell)}/event-{str(cell.get('cell_key') or '')[:16]}"


def session_events(s: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The session run: START at its first event, COMPLETE (ABORT when a cell was interrupted)
    at its last, once nothing in it is still running."""
    base = {"producer": PRODUCER, "schemaURL": RUN_EVENT_URL,
            "run": {"runId": run_id(s.get("session_id"))},
            "job": {"namespace": NAMESPACE, "name": session_job(s), "facets": {}},
            "inputs": [], "outputs": []}
    yield {"eventType": "START", "eventTime": iso(s.get("started")), **base}
    if not s.get("running"):
        yield {"eventType": "ABORT" if s.get("interrupted") else "COMPLETE",
               "eventTime": iso(s.get("ended") or s.get("started")), **base}


def client_event(doc: dict[str, Any]) -> Any:
    """openlineage-python's ``RunEvent`` for one event dict (facets as the library's facet
    classes with the same fields), for its client and transports."""
    from openlineage.client.generated import base as ol

    def facets(items: dict[str, Any] | None, cls: Any) -> dict[str, Any]:
        out = {}
        for name, body in (items or {}).items():
            f = cls(producer=body.get("_producer") or PRODUCER).with_additional_properties(
                **{k: v for k, v in body.items() if not k.startswith("_")})
            f._schemaURL = body.get("_schemaURL") or ""
            out[name] = f
        return out

    def datasets(items: list[dict[str, Any]], cls: Any) -> list[Any]:
        return [cls(d["namespace"], d["name"], facets=facets(d.get("facets"), ol.DatasetFacet))
                for d in items]

    job = doc["job"]
    return ol.RunEvent(
        eventType=ol.EventType(doc["eventType"]), eventTime=doc["eventTime"],
        producer=doc["producer"],
        run=ol.Run(runId=doc["run"]["runId"], facets=facets(doc["run"].get("facets"), ol.RunFacet)),
        job=ol.Job(namespace=job["namespace"], name=job["name"],
                   facets=facets(job.get("facets"), ol.JobFacet)),
        inputs=datasets(doc.get("inputs") or [], ol.InputDataset),
        outputs=datasets(doc.get("outputs") or [], ol.OutputDataset))
