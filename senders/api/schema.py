"""Our OpenAPI 3 schema: the spec's own definitions as components, plus our extensions.

The JSON shapes are the eBox contracts' (`senders/api/contract/`), converted from
Swagger 2.0 definitions by `add_contract_components` (a drf-spectacular post-processing
hook), so the documentation cannot drift from the contract. What we add is additive:
`en` in TranslatedString, `details` in StatusMessage, `channel` in preferences and
statuses, and the batch extension's shapes.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

import yaml
from drf_spectacular.extensions import OpenApiAuthenticationExtension

CONTRACT = Path(__file__).resolve().parent / "contract"
MAIN = "e-Box-Enterprise-swagger-v2.1-AP-Public.yaml"
FEDERATION = "ebox-federation-1.3.yaml"
EVENTS = "ebox-enterprise-event-api-1.1.1.yaml"
CHANNEL = {
    "type": "string",
    "enum": ["digital", "digital_and_paper", "paper"],
    "description": "Our extension: how the letter reaches the recipient (paper: not activated; "
    "digital_and_paper: the organisation's paper transition period).",
}


def _convert(node, renames: dict[str, str]):
    """Swagger 2.0 schema → OpenAPI 3.0 schema: refs to components, no siblings beside a $ref."""
    if isinstance(node, list):
        return [_convert(n, renames) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _convert(v, renames) for k, v in node.items() if not k.startswith("x-")}
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        ref = {"$ref": f"#/components/schemas/{renames.get(name, name)}"}
        siblings = {k: v for k, v in node.items() if k not in ("$ref", "type")}
        return {"allOf": [ref], **siblings} if siblings else ref
    return node


@cache
def contract_components() -> dict[str, dict]:
    main = yaml.safe_load((CONTRACT / MAIN).read_text())["definitions"]
    federation = yaml.safe_load((CONTRACT / FEDERATION).read_text())["definitions"]
    schemas = {name: _convert(d, {}) for name, d in main.items()}
    renames = {"EboxId": "FederationEboxId"}
    schemas["FederationEboxId"] = _convert(federation["EboxId"], renames)
    for name in ("EboxIdSameTypeList", "EboxPreferences", "EboxPreferencesList"):
        schemas[name] = _convert(federation[name], renames)
    # The rest of federation 1.3 (its StatusMessage and TranslatedString are the 2.1 ones less `details`).
    for name in (
        "EboxPreferencesToUpdate",
        "HalLink",
        "HalLinks",
        "HalResource",
        "MessageProvider",
        "MessageProviderPlannedMaintenance",
        "MessageProviderList",
    ):
        schemas[name] = _convert(federation[name], renames)
    events = next(d for d in yaml.safe_load_all((CONTRACT / EVENTS).read_text()) if "definitions" in d)["definitions"]
    for name in (
        "EboxEnterpriseDocumentEvent",
        "EboxEnterpriseDocumentEventPageItem",
        "EboxEnterpriseDocumentEventPage",
        "EventPageInfo",
    ):
        schemas[name] = _convert(events[name], {})
    # Integer examples written as strings in the federation contract.
    for prop in schemas["EboxPreferences"]["properties"].values():
        if prop.get("type") == "integer" and isinstance(prop.get("example"), str):
            prop["example"] = int(prop["example"])

    # --- our additive extensions ---
    schemas["TranslatedString"]["properties"]["en"] = {"type": "string"}
    schemas["TranslatedString"]["description"] += " (we add en)"
    schemas["StatusMessage"]["properties"]["details"] = copy.deepcopy(DETAILS)
    schemas["EboxPreferences"]["properties"]["channel"] = CHANNEL
    schemas["MessageStatus"]["properties"]["channel"] = CHANNEL
    schemas["MessageStatus"]["properties"]["status"] = {
        "type": "string",
        "enum": ["accepted", "sealed", "expired"],
        "description": "Our extension: accepted (stored, being sealed), sealed (available to the recipient), expired.",
    }
    schemas["MessageStatus"]["properties"]["receiptStatus"] = {
        "type": "string",
        "enum": ["pending", "opened", "acknowledged", "refused"],
        "description": (
            "Our extension, registered mail only: pending (not opened), opened (opened, by the portal or a partner "
            "app, without an answer), acknowledged or refused (the recipient's sealed answer; evidence kind=receipt)."
        ),
    }
    schemas["PublicationStatusMessage"]["properties"]["code"] = {
        **CHANNEL,
        "description": "Business code: " + CHANNEL["description"],
    }
    schemas["LinkResponse"]["properties"]["messageIds"] = {
        "type": "array",
        "items": {"type": "string", "format": "uuid"},
        "description": "Our extension: the id of the message created for each linked recipient.",
    }
    schemas.update(copy.deepcopy(BATCH_SCHEMAS))
    schemas.update(copy.deepcopy(PAPER_SCHEMAS))
    # The platform's paper service (paper/): where to post a letter, and what became of its print.
    schemas["MessageToPublish"]["properties"]["paperAddress"] = {"$ref": "#/components/schemas/PaperAddress"}
    for name in ("PublicationStatusMessage", "MessageStatus", "BatchItemResult"):
        schemas[name]["properties"]["paper"] = {"$ref": "#/components/schemas/PrintStatus"}
    return schemas


DETAILS = {
    "type": "array",
    "description": "Our extension: one entry per faulty field. `ref` names the field (JSON path or part name), "
    "`kind` the problem (missing, invalid, not_found, too_large, media_type_mismatch, duplicate…), "
    "`message` what is wrong.",
    "items": {
        "type": "object",
        "properties": {"kind": {"type": "string"}, "ref": {"type": "string"}, "message": {"type": "string"}},
    },
}

BATCH_SCHEMAS = {
    "BatchDocument": {
        "type": "object",
        "required": ["fileName", "content"],
        "properties": {
            "fileName": {"type": "string", "example": "letter.pdf"},
            "mediaType": {"type": "string", "example": "application/pdf", "description": "Checked against the bytes."},
            "content": {"type": "string", "format": "byte", "description": "The document, base64."},
        },
    },
    "BatchMessage": {
        "type": "object",
        "required": ["messageToPublish"],
        "properties": {
            "messageToPublish": {"$ref": "#/components/schemas/MessageToPublish"},
            "documents": {
                "type": "object",
                "description": "The documents of this message, by the httpPartName its attachments use (upfile1..upfile6).",
                "additionalProperties": {"$ref": "#/components/schemas/BatchDocument"},
            },
            "idempotencyKey": {
                "type": "string",
                "maxLength": 200,
                "description": "Like the Idempotency-Key header, per item.",
            },
        },
    },
    "BatchPublication": {
        "type": "object",
        "required": ["messages"],
        "properties": {"messages": {"type": "array", "items": {"$ref": "#/components/schemas/BatchMessage"}}},
    },
    "BatchItemResult": {
        "type": "object",
        "required": ["index", "status"],
        "properties": {
            "index": {"type": "integer", "description": "Position of the item in the request."},
            "status": {
                "type": "integer",
                "enum": [201, 400, 409, 413],
                "description": "What publishMessage would have answered.",
            },
            "messageId": {"type": "string", "format": "uuid"},
            "expirationDate": {"type": "string", "format": "date-time"},
            "code": CHANNEL,
            "message": {"type": "string"},
            "details": DETAILS,
        },
    },
    "BatchPublicationResult": {
        "type": "object",
        "properties": {
            "totalItems": {"type": "integer"},
            "accepted": {"type": "integer"},
            "rejected": {"type": "integer"},
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/BatchItemResult"}},
        },
    },
}


PAPER_SCHEMAS = {
    "PaperAddress": {
        "type": "object",
        "required": ["name", "street", "postcode", "city"],
        "additionalProperties": False,
        "description": (
            "Our extension: the recipient's postal address, for an organisation that uses the platform's paper "
            "service. Used when the recipient does not read eBox (code paper, or digital_and_paper in the "
            "organisation's transition period); without it the citizen record's address is used, and without "
            "either the letter is not printed (code paper: the sender posts it). Lines of bpost's address block."
        ),
        "properties": {
            "name": {"type": "string", "maxLength": 50, "example": "Luc Janssens"},
            "extra": {"type": "string", "maxLength": 50, "description": "c/o, building, box…", "example": "Bus 3"},
            "street": {"type": "string", "maxLength": 50, "example": "Grote Markt 1"},
            "postcode": {"type": "string", "maxLength": 10, "description": "4 digits in Belgium", "example": "3000"},
            "city": {"type": "string", "maxLength": 40, "example": "Leuven"},
            "country": {"type": "string", "pattern": "^[A-Za-z]{2}$", "default": "BE", "description": "ISO 3166-1"},
        },
    },
    "PrintStatus": {
        "type": "object",
        "description": (
            "Our extension, present when the platform's paper service prints the letter: queued, in_batch (in a "
            "print run handed to the print provider, batchId), printed (the provider acknowledged the run)."
        ),
        "required": ["status"],
        "properties": {
            "status": {"type": "string", "enum": ["queued", "in_batch", "printed"]},
            "reason": {
                "type": "string",
                "enum": ["publication", "transition", "unacknowledged"],
                "description": "Not digital, the organisation's paper transition, or a registered letter left "
                "unacknowledged past its message type's delay.",
            },
            "batchId": {"type": "string", "example": "PB-20261130-163000-3f2a1c"},
            "queuedAt": {"type": "string", "format": "date-time"},
            "printedAt": {"type": "string", "format": "date-time"},
        },
    },
}


def add_contract_components(result, generator, request, public):
    """drf-spectacular post-processing hook: add the contract's definitions as components."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(copy.deepcopy(contract_components()))
    return result


class SenderTokenScheme(OpenApiAuthenticationExtension):
    target_class = "senders.api.authentication.SenderTokenAuthentication"
    name = "oauth2"

    def get_security_definition(self, auto_schema):
        from django.conf import settings

        from senders.services import SENDER_SCOPES

        scopes = settings.OAUTH2_PROVIDER["SCOPES"]
        return {
            "type": "oauth2",
            "description": "Client credentials of a sender application (`manage.py create_sender_application ORG`). "
            "Token lifetime: a few minutes; a revoked client's tokens stop working at once.",
            "flows": {
                "clientCredentials": {
                    "tokenUrl": "/o/token/",
                    "scopes": {s: str(scopes[s]) for s in SENDER_SCOPES},
                }
            },
        }

    def get_security_requirement(self, auto_schema):
        scope = getattr(auto_schema.view, "required_scope", None)
        return {self.name: [scope] if scope else []}


class ReaderTokenScheme(OpenApiAuthenticationExtension):
    """Reference data: a sender's token, or a partner app's or an enterprise client's (ebox.read)."""

    target_class = "senders.api.authentication.ReaderTokenAuthentication"
    name = "referenceDataOAuth2"

    def get_security_definition(self, auto_schema):
        return {
            "type": "oauth2",
            "description": "A sender application's token with `referencedata`, or the token of a partner app "
            "or of an enterprise's own client with `ebox.read`.",
            "flows": {
                "clientCredentials": {
                    "tokenUrl": "/o/token/",
                    "scopes": {"referencedata": "Read reference data", "ebox.read": "Read an eBox"},
                }
            },
        }

    def get_security_requirement(self, auto_schema):
        return {self.name: []}
