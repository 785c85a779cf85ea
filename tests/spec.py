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


@lru_cache
def definitions(spec: str = MESSAGE_REGISTRY) -> dict:
    return yaml.safe_load((SPEC_DIR / spec).read_text())["definitions"]


def assert_matches(instance: object, definition: str, spec: str = MESSAGE_REGISTRY) -> None:
    """Raise if `instance` does not satisfy the spec's `#/definitions/<definition>` (Swagger 2.0 ≈ draft 4)."""
    schema = {"$ref": f"#/definitions/{definition}", "definitions": definitions(spec)}
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER).validate(instance)
