"""Validate OpenLineage events against the specification's own JSON schemas (openlineage_spec/)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

SPEC = Path(__file__).parent / "openlineage_spec"


def _registry() -> Registry:
    resources = []
    for f in SPEC.glob("*.json"):
        doc = json.loads(f.read_text())
        resources.append((doc["$id"], Resource.from_contents(doc)))
    return Registry().with_resources(resources)


REGISTRY = _registry()
RUN_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
_FORMATS = jsonschema.FormatChecker()


def _check(instance: Any, ref: str) -> None:
    validator = jsonschema.Draft202012Validator({"$ref": ref}, registry=REGISTRY,
                                                format_checker=_FORMATS)
    validator.validate(instance)


def _known(url: str) -> bool:
    try:
        REGISTRY.resolver().lookup(url)
    except Exception:   # noqa: BLE001 - a custom facet's schema is not in the registry
        return False
    return True


def validate_event(event: dict[str, Any]) -> None:
    """The event against RunEvent, and each facet against its own schema when it is the spec's."""
    _check(event, RUN_EVENT)
    facets = [*(event["run"].get("facets") or {}).values(),
              *(event["job"].get("facets") or {}).values()]
    for ds in [*event.get("inputs", []), *event.get("outputs", [])]:
        facets += list((ds.get("facets") or {}).values())
    for facet in facets:
        url = facet["_schemaURL"]
        if url.startswith("https://openlineage.io/spec/") and _known(url):
            _check(facet, url)
