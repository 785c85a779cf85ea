"""Validate our JSON against the public eBox specifications (the project's copy in senders/api/contract/)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jsonschema
import yaml

# The contracts ship with the project (MIT, see contract/README.md): a clone tests itself with nothing beside it.
SPEC_DIR = Path(__file__).resolve().parents[1] / "senders" / "api" / "contract"
MESSAGE_REGISTRY = "e-Box-Enterprise-swagger-v2.1-AP-Public.yaml"
FEDERATION = "ebox-federation-1.3.yaml"
ENTERPRISE_EVENTS = "ebox-enterprise-event-api-1.1.1.yaml"


# Where we serve each spec's paths (docs/integrators.md says the same).
PREFIXES = {MESSAGE_REGISTRY: "/api/v2", FEDERATION: "/api/federation/v1", ENTERPRISE_EVENTS: "/api/events/v1"}
METHODS = ("get", "put", "post", "delete", "options", "head", "patch")


@lru_cache
def document(spec: str = MESSAGE_REGISTRY) -> dict:
    """The Swagger document (the event API's file holds a front matter document before it)."""
    documents = list(yaml.safe_load_all((SPEC_DIR / spec).read_text()))
    return next(d for d in documents if isinstance(d, dict) and "paths" in d)


def definitions(spec: str = MESSAGE_REGISTRY) -> dict:
    return document(spec)["definitions"]


def operations(spec: str) -> list[tuple[str, str, str]]:
    """(operationId, HTTP method, path as we serve it) of every operation of the spec."""
    return [
        (operation["operationId"], method.upper(), PREFIXES[spec] + path)
        for path, item in document(spec)["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def assert_matches(instance: object, definition: str, spec: str = MESSAGE_REGISTRY) -> None:
    """Raise if `instance` does not satisfy the spec's `#/definitions/<definition>` (Swagger 2.0 ≈ draft 4)."""
    schema = {"$ref": f"#/definitions/{definition}", "definitions": definitions(spec)}
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER).validate(instance)
