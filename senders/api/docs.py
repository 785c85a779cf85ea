"""OpenAPI descriptions of the sender API operations (drf-spectacular), with examples.

Bodies refer to the contract's definitions (components added by `senders.api.schema`).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def array_of(name: str) -> dict:
    return {"type": "array", "items": ref(name)}


ERROR_EXAMPLE = OpenApiExample(
    "Invalid data",
    value={
        "id": "0b5e1c1e-8d8f-4a53-9a3b-2d43b8b8a1f1",
        "code": "INVALID_DATA",
        "message": "recipient.eboxIdValue: 85073003329 is not a valid national register or BIS number",
        "details": [
            {
                "kind": "invalid",
                "ref": "recipient.eboxIdValue",
                "message": "85073003329 is not a valid national register or BIS number: The number's checksum or "
                "check digit is invalid.",
            }
        ],
    },
    response_only=True,
    status_codes=["400"],
)


def errors(*codes: int) -> dict:
    descriptions = {
        400: "Invalid data supplied (one detail per faulty field)",
        401: "Invalid authorization: no token, token unknown, expired, or client revoked",
        403: "Scope missing (e.g. 'scope publication missing')",
        404: "Not found (or not this organisation's)",
        409: "Idempotency-Key already used by this sender application; names the first messageId",
        413: "A document or the request is larger than the configured limit",
    }
    return {c: OpenApiResponse(ref("StatusMessage"), descriptions[c]) for c in codes}


MESSAGE_TO_PUBLISH_EXAMPLE = {
    "recipient": {"eboxType": "citizen", "eboxIdValue": "85073003328"},
    "messageTypeId": "tax-assessment",
    "subject": {"fr": "Votre avertissement-extrait de rôle", "nl": "Uw aanslagbiljet"},
    "bodyMainContent": False,
    "replyAuthorized": False,
    "attachments": [
        {
            "httpPartName": "upfile1",
            "mainContent": True,
            "attachmentTitle": {"fr": "Avertissement-extrait de rôle"},
            "digest": {"digestMethod": "sha_256", "digestValue": "n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg"},
        }
    ],
}

PAGING = [
    OpenApiParameter("page", int, description="The index of the current page of items (from 1).", default=1),
    OpenApiParameter("pageSize", int, description="The maximal number of results per page (1 to 100).", default=25),
]

publish_message = extend_schema(
    operation_id="postMessage",
    tags=["Messages"],
    summary="Publish a message (multipart: messageToPublish JSON part and up to six files upfile1..upfile6)",
    description=(
        "As the eBox REST API 2.1. Parts may come in any order; `messageToPublish` may be a plain form field or a "
        "part with `Content-Type: application/json`. Each attachment names its part in `httpPartName`. The type of "
        "each file is detected from its bytes (PDF, PNG, JPEG, XML); a declared type or file extension that "
        "disagrees is refused. Optional SHA-256 digests (base64url) are checked against the bytes. The `code` of "
        "the answer carries the channel decision: `digital`, `digital_and_paper` (the organisation's paper "
        "transition) or `paper` (the citizen has not activated eBox or not verified their e-mail address yet, "
        "eBox's NO_DIGITAL_USER). When the organisation uses the platform's paper service, a letter that is not "
        'digital only is printed and posted by the platform (answer\'s `paper`: `{"status": "queued"}`) to '
        "the optional `paperAddress` or the citizen record's address."
    ),
    request={
        "multipart/form-data": {
            "type": "object",
            "required": ["messageToPublish"],
            "properties": {
                "messageToPublish": {
                    "type": "string",
                    "description": "JSON of a MessageToPublish (see the MessageToPublish schema).",
                },
                **{
                    f"upfile{i}": {"type": "string", "format": "binary", "description": "A document."}
                    for i in range(1, 7)
                },
            },
        }
    },
    parameters=[
        OpenApiParameter(
            "Idempotency-Key",
            str,
            OpenApiParameter.HEADER,
            description="At most 200 characters. A second publication with the same key by the same sender "
            "application gets 409 and stores nothing.",
        )
    ],
    responses={
        201: OpenApiResponse(ref("PublicationStatusMessage"), "Created; sealing follows within seconds"),
        **errors(400, 401, 403, 409, 413),
    },
    examples=[
        OpenApiExample(
            "A PDF for a citizen",
            value={"messageToPublish": MESSAGE_TO_PUBLISH_EXAMPLE},
            request_only=True,
        ),
        OpenApiExample(
            "Created",
            value={
                "messageId": "6f1c7a3e-1b2c-4d5e-8f90-123456789abc",
                "expirationDate": "2036-11-27T10:00:00Z",
                "code": "digital",
                "message": "The recipient reads eBox: the message is delivered digitally only.",
            },
            response_only=True,
            status_codes=["201"],
        ),
        ERROR_EXAMPLE,
    ],
)

publish_messages = extend_schema(
    operation_id="publishMessages",
    tags=["Extensions"],
    summary="Batch publication for campaigns: many different messages in one request, a result per item",
    description=(
        "Our extension. Each item is a MessageToPublish with its own documents (base64, by httpPartName) and an "
        "optional idempotencyKey; each is validated exactly like publishMessage. Valid items are stored together "
        "with bulk inserts; invalid ones are reported (status 400/409/413 per item) and do not stop the others. "
        "The answer is 200 with one result per item, in order. A chunk sent again stores nothing twice: items "
        "whose idempotencyKey is stored get 409 per item. Limits: EBOX_BATCH_MAX_ITEMS items and "
        "EBOX_BATCH_MAX_BYTES bytes per request; split a campaign of millions into requests of a few thousand."
    ),
    request={"application/json": ref("BatchPublication")},
    responses={
        200: OpenApiResponse(ref("BatchPublicationResult"), "One result per item"),
        **errors(400, 401, 403, 413),
        409: OpenApiResponse(
            ref("StatusMessage"),
            "CONFLICT: PostgreSQL refused a row as the batch was stored (a record it refers to changed "
            "meanwhile); no item was stored",
        ),
    },
    examples=[
        OpenApiExample(
            "Two letters",
            value={
                "messages": [
                    {
                        "idempotencyKey": "campaign-2027-0001",
                        "messageToPublish": {
                            **MESSAGE_TO_PUBLISH_EXAMPLE,
                            "attachments": [{"httpPartName": "upfile1", "mainContent": True}],
                        },
                        "documents": {
                            "upfile1": {
                                "fileName": "letter.pdf",
                                "mediaType": "application/pdf",
                                "content": "JVBERi0xLjQK…",
                            }
                        },
                    },
                    {
                        "idempotencyKey": "campaign-2027-0002",
                        "messageToPublish": {
                            "recipient": {"eboxType": "citizen", "eboxIdValue": "92041512329"},
                            "messageTypeId": "tax-assessment",
                            "subject": {"nl": "Uw aanslagbiljet"},
                            "bodyContent": {"nl": "Beste, …"},
                            "bodyMainContent": True,
                            "replyAuthorized": False,
                        },
                    },
                ]
            },
            request_only=True,
        ),
        OpenApiExample(
            "Results",
            value={
                "totalItems": 2,
                "accepted": 1,
                "rejected": 1,
                "items": [
                    {
                        "index": 0,
                        "status": 201,
                        "messageId": "6f1c7a3e-1b2c-4d5e-8f90-123456789abc",
                        "expirationDate": "2036-11-27T10:00:00Z",
                        "code": "paper",
                        "message": "The recipient does not read eBox (not activated, or address not verified: NO_DIGITAL_USER): send the letter on paper.",
                    },
                    {
                        "index": 1,
                        "status": 409,
                        "message": "Idempotency-Key already used for message 0c9a…",
                        "details": [{"kind": "duplicate", "ref": "idempotencyKey", "message": "0c9a…"}],
                    },
                ],
            },
            response_only=True,
            status_codes=["200"],
        ),
    ],
)

search_message_status = extend_schema(
    operation_id="getStatus",
    tags=["Messages"],
    summary="Get the status of a list of messages (only this organisation's)",
    request={"application/json": ref("MessagesStatusRequest")},
    responses={
        201: OpenApiResponse(ref("MessagesStatusList"), "Statuses (201, as the contract has it)"),
        **errors(400, 401, 403, 404),
    },
    examples=[
        OpenApiExample(
            "Request",
            value=[
                {
                    "messageId": "6f1c7a3e-1b2c-4d5e-8f90-123456789abc",
                    "eboxId": {"eboxType": "citizen", "eboxIdValue": "85073003328"},
                }
            ],
            request_only=True,
        )
    ],
)

link_message = extend_schema(
    operation_id="linkMessage",
    tags=["Messages"],
    summary="Link a published message to more recipients (one stored content, one message each)",
    request={"application/json": ref("MessageToLink")},
    responses={201: OpenApiResponse(ref("LinkResponse"), "Created"), **errors(400, 401, 403, 404)},
    examples=[
        OpenApiExample(
            "Request",
            value={
                "messageId": "6f1c7a3e-1b2c-4d5e-8f90-123456789abc",
                "recipients": [{"eboxType": "citizen", "eboxIdValue": "92041512329"}],
            },
            request_only=True,
        )
    ],
)

ebox_preferences = extend_schema(
    operation_id="getEboxPreferencesByList",
    tags=["EboxPreferences"],
    summary="Has each recipient opted for eBox only? With our channel decision (federation 1.3)",
    request={"application/json": ref("EboxIdSameTypeList")},
    responses={200: OpenApiResponse(ref("EboxPreferencesList"), "One entry per identifier"), **errors(400, 401, 403)},
    examples=[
        OpenApiExample(
            "Request",
            value={"eboxType": "CITIZEN", "eboxIdType": "INSS", "eboxIdValueList": ["85073003328", "78110345605"]},
            request_only=True,
        ),
        OpenApiExample(
            "Answer",
            value=[
                {
                    "eboxId": {"eboxType": "CITIZEN", "eboxIdValue": "85073003328"},
                    "exclusivelyEbox": True,
                    "lastConnectionDate": "2026-11-20T08:12:00Z",
                    "channel": "digital",
                },
                {
                    "eboxId": {"eboxType": "CITIZEN", "eboxIdValue": "78110345605"},
                    "exclusivelyEbox": False,
                    "channel": "paper",
                },
            ],
            response_only=True,
            status_codes=["200"],
        ),
    ],
)

message_types = extend_schema(
    operation_id="getAllMessagesTypes",
    tags=["ReferenceData"],
    parameters=PAGING,
    responses={200: ref("MessageTypes"), **errors(400, 401, 403)},
)
message_type = extend_schema(
    operation_id="getMessageTypeById",
    tags=["ReferenceData"],
    parameters=[OpenApiParameter("messageTypeId", OpenApiTypes.STR, OpenApiParameter.PATH)],
    responses={200: ref("MessageType"), **errors(401, 403, 404)},
)
sender_applications = extend_schema(
    operation_id="findAllSenderApplications",
    tags=["ReferenceData"],
    parameters=PAGING,
    responses={200: ref("SenderApplications"), **errors(400, 401, 403)},
)
sender_application = extend_schema(
    operation_id="getSenderApplicationById",
    tags=["ReferenceData"],
    parameters=[OpenApiParameter("senderApplicationId", OpenApiTypes.STR, OpenApiParameter.PATH)],
    responses={200: ref("SenderApplication"), **errors(401, 403, 404)},
)
sender_organisations = extend_schema(
    operation_id="findAllSenderOrganizations",
    tags=["ReferenceData"],
    parameters=PAGING,
    responses={200: ref("SenderOrganizations"), **errors(400, 401, 403)},
)
sender_organisation = extend_schema(
    operation_id="getSenderOrganizationById",
    tags=["ReferenceData"],
    parameters=[OpenApiParameter("senderOrganizationId", OpenApiTypes.STR, OpenApiParameter.PATH)],
    responses={200: ref("SenderOrganization"), **errors(401, 403, 404)},
)
_IMAGE_PATH = [OpenApiParameter("imageId", OpenApiTypes.STR, OpenApiParameter.PATH, description='"logo"')]
organisation_image = extend_schema(
    operation_id="getImageForSenderOrganization",
    tags=["ReferenceData"],
    parameters=[OpenApiParameter("senderOrganizationId", OpenApiTypes.STR, OpenApiParameter.PATH), *_IMAGE_PATH],
    responses={200: OpenApiResponse(OpenApiTypes.BINARY, description="the image"), **errors(400, 401, 403, 404)},
)
application_image = extend_schema(
    operation_id="getImageForSenderApplication",
    tags=["ReferenceData"],
    parameters=[OpenApiParameter("senderApplicationId", OpenApiTypes.STR, OpenApiParameter.PATH), *_IMAGE_PATH],
    responses={200: OpenApiResponse(OpenApiTypes.BINARY, description="the image"), **errors(400, 401, 403, 404)},
)
