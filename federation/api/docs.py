"""OpenAPI descriptions of the federation 1.3 and enterprise event operations (drf-spectacular).

Bodies refer to the contracts' definitions, added as components by senders.api.schema.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

from senders.api.docs import errors, ref

TAG, EVENTS_TAG = "Federation", "EboxEnterprise events"
MERGE_PATCH = "application/merge-patch+json"

links = extend_schema(
    operation_id="get", summary="List links", tags=[TAG], auth=[], responses={200: ref("HalResource")}
)
links_options = extend_schema(
    operation_id="options", summary="List links", tags=[TAG], auth=[], responses={200: ref("HalResource")}
)
doc_page = extend_schema(
    operation_id="getApiDoc", summary="The federation API's documentation (HTML)", tags=[TAG], auth=[]
)
swagger = extend_schema(
    operation_id="getSwagger",
    summary="The federation 1.3 contract (Swagger 2.0, JSON) with our base path",
    tags=[TAG],
    auth=[],
    responses={200: OpenApiTypes.OBJECT},
)
json_schema = extend_schema(
    operation_id="getJsonSchema",
    summary="One definition of the contract as a JSON Schema (draft 4), e.g. MessageProvider",
    tags=[TAG],
    auth=[],
    responses={200: OpenApiTypes.OBJECT, 404: ref("StatusMessage")},
)
preferences_search = extend_schema(
    operation_id="federationGetEboxPreferencesByList",
    summary="getEboxPreferencesByList: the same operation as /api/v2/eboxPreferences/search (sender token)",
    tags=[TAG],
)
patch_preferences = extend_schema(
    operation_id="patchEboxPreferencesById",
    summary="An enterprise's own exclusivelyEbox, with its own client's token (ebox.manage)",
    tags=[TAG],
    request={MERGE_PATCH: ref("EboxPreferencesToUpdate"), "application/json": ref("EboxPreferencesToUpdate")},
    responses={200: ref("EboxPreferences"), **errors(400, 401, 403)},
)
providers = extend_schema(
    operation_id="findAllMessageProviders",
    summary="The federated eBox's message providers (any eBox client's token)",
    tags=[TAG],
    responses={200: ref("MessageProviderList"), **errors(401, 403)},
)
provider = extend_schema(
    operation_id="getMessageProviderById",
    summary="One message provider",
    tags=[TAG],
    responses={200: ref("MessageProvider"), **errors(400, 401, 403, 404)},
)
patch_provider = extend_schema(
    operation_id="patchMessageProviderById",
    summary="A provider updates its own entry (JSON merge patch), with its own client's token",
    tags=[TAG],
    request={MERGE_PATCH: ref("MessageProvider"), "application/json": ref("MessageProvider")},
    responses={200: ref("MessageProvider"), **errors(400, 401, 404)},
)
_CLIENT_ID = OpenApiParameter("clientId", str, description="When given, the client id of the token.")
get_events = extend_schema(
    operation_id="getEboxEnterpriseDocumentEvents",
    summary="Events about the enterprise's documents after lastSequenceNbr, oldest first",
    tags=[EVENTS_TAG],
    parameters=[
        _CLIENT_ID,
        OpenApiParameter("lastSequenceNbr", int, required=True, description="0 for the first page"),
        OpenApiParameter("pageSize", int, required=True, description="1 to 100"),
        OpenApiParameter("startTime", OpenApiTypes.DATETIME),
        OpenApiParameter("filter", str, description="Event types, comma-separated (e.g. newDocument,readDocument)"),
    ],
    responses={200: ref("EboxEnterpriseDocumentEventPage"), **errors(400, 401, 403)},
)
submit_events = extend_schema(
    operation_id="submitEboxEnterpriseDocumentEvents",
    summary="Submit events about the enterprise's own documents (all or none)",
    tags=[EVENTS_TAG],
    parameters=[_CLIENT_ID],
    request={"application/json": {"type": "array", "items": ref("EboxEnterpriseDocumentEvent")}},
    responses={
        201: OpenApiResponse(
            {"type": "array", "items": ref("EboxEnterpriseDocumentEventPageItem")}, "the stored events"
        ),
        **errors(400, 401, 403),
        409: OpenApiResponse(ref("StatusMessage"), "eventCorrelationId already submitted by this client"),
    },
)
