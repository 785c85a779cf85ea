"""The eBox REST API 2.1 for sender applications, the federation preference search, and our batch extension.

Views only translate HTTP to calls: validation is `senders.publication`, storing is
`messages.services.publishing`, reading is `senders.selectors`. Errors are StatusMessage bodies
(`senders.api.errors`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpResponse
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from citizens.selectors import channel_for
from ebox import audit
from messages.models import Message
from messages.services import publishing
from senders import publication, selectors
from senders.api import docs
from senders.api.authentication import ScopeRequired, SenderTokenAuthentication
from senders.api.errors import ApiError, detail, error_response
from senders.api.parsers import MESSAGE_PART, PublicationMultiPartParser

CHANNEL_MESSAGES = {
    Message.Channel.DIGITAL: "The recipient reads eBox: the message is delivered digitally only.",
    Message.Channel.DIGITAL_AND_PAPER: (
        "The recipient reads eBox, but the organisation is in its paper transition period: send paper too."
    ),
    Message.Channel.PAPER: "The recipient has not activated eBox (NO_DIGITAL_USER): send the letter on paper too.",
}


def timestamp(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def publication_status(message: Message | publishing.Accepted) -> dict:
    return {
        "messageId": str(message.id),
        "expirationDate": timestamp(message.expires_at),
        "code": message.channel,
        "message": CHANNEL_MESSAGES[message.channel],
    }


class _JsonAnswers(BaseContentNegotiation):
    """The sender API answers JSON whatever the Accept header says: nothing to negotiate per call."""

    def select_parser(self, request, parsers):
        return DefaultContentNegotiation().select_parser(request, parsers)

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class SenderAPIView(APIView):
    """A view for sender applications: their bearer token, and the scope the view names."""

    authentication_classes = [SenderTokenAuthentication]
    permission_classes = [ScopeRequired]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _JsonAnswers
    required_scope: str | None = None

    def max_body_bytes(self) -> int | None:
        """JSON bodies are read whole: refuse big ones before reading (multipart streams to files)."""
        return settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication and scope first
        limit = self.max_body_bytes()
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            raise ApiError(413, f"request body larger than {limit} bytes")

    @property
    def principal(self):
        return self.request.user


class PublishMessageView(SenderAPIView):
    required_scope = "publication"
    parser_classes = [PublicationMultiPartParser]

    def max_body_bytes(self) -> int | None:
        return None  # files stream to temporary files; each is limited by EBOX_MAX_ATTACHMENT_BYTES

    def initial(self, request, *args, **kwargs):
        self.received = None
        if request.method == "POST" and _content_length(request) <= settings.FILE_UPLOAD_MAX_MEMORY_SIZE:
            # A body that fits in memory is read before the token is checked, so that one
            # statement fetches the token, the message type and the recipient (profiling showed
            # a round trip each as a large part of a publication). A larger body is read after
            # the check: no unauthenticated upload reaches the disk. Reading errors are answered
            # after the check too (a client without a valid token gets 401 first).
            self.received = _Received.read(request)
            request.publication_lookup = publication.lookup_keys(self.received.data)
        super().initial(request, *args, **kwargs)

    @docs.publish_message
    def post(self, request):
        received = self.received or _Received.read(request)
        try:
            if received.error is not None:
                raise received.error
            files = received.files
            parts = {name: part for name, part in files.items() if not part.too_large}
            lookup = getattr(request, "publication_lookup", None)
            context = publication.Context.for_application(
                self.principal.sender_application,
                looked_up=(lookup, self.principal.looked_up) if lookup else None,
            )
            new = publication.build_new_message(
                received.data,
                parts,
                context,
                idempotency_key=request.META.get("HTTP_IDEMPOTENCY_KEY"),
                oversized=[name for name, part in files.items() if part.too_large],
            )
            # The audit entry is stored by the publication's own statement (one round trip, one commit).
            entry = audit.recorded_with_action(request._request, 201)
            message = publishing.publish_message(new, audit_entry=entry)
        except publication.PublicationError as exc:
            return error_response(exc.status, exc.message, exc.details)
        except publishing.DuplicatePublication as exc:
            return _duplicate(exc)
        finally:
            received.close()
        # Plain JSON: DRF's Response renders through the template-response machinery, and the
        # status holds only strings (no encoder class needed).
        return HttpResponse(json.dumps(publication_status(message)), content_type="application/json", status=201)


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


@dataclass
class _Received:
    """publishMessage's body, read once: the messageToPublish JSON and the file parts, or why not."""

    data: dict | None
    files: dict[str, publication.ReceivedPart]
    error: Exception | None = None

    @classmethod
    def read(cls, request) -> _Received:
        # Our parser, called directly: DRF's request.data would negotiate the parser and
        # inspect the media type several times per request (a few % of a publication).
        try:
            form = PublicationMultiPartParser().parse(request.stream, request.content_type)
        except ApiError as exc:
            return cls(None, {}, exc)
        received = cls(None, form.files)
        try:
            received.data = publication.parse_message_to_publish(form.data.get(MESSAGE_PART))
        except publication.PublicationError as exc:
            received.error = exc
        return received

    def close(self) -> None:
        for part in self.files.values():
            part.close()


def _duplicate(exc: publishing.DuplicatePublication) -> Response:
    return error_response(
        409,
        f"Idempotency-Key already used by this sender application for message {exc.message_id}",
        [detail("Idempotency-Key", str(exc.message_id), "duplicate")],
    )


class BatchPublishView(SenderAPIView):
    """Our extension: many different messages in one JSON request, a result per item."""

    required_scope = "publication"

    def max_body_bytes(self) -> int | None:
        return settings.EBOX_BATCH_MAX_BYTES

    @docs.publish_messages
    def post(self, request):
        data = request.data
        items = data.get("messages") if isinstance(data, dict) else None
        if not isinstance(items, list) or not items:
            raise ApiError(400, "messages missing", [detail("messages", "a non-empty array is needed", "missing")])
        if len(items) > settings.EBOX_BATCH_MAX_ITEMS:
            raise ApiError(
                413, f"at most {settings.EBOX_BATCH_MAX_ITEMS} messages per request", [detail("messages", "too many")]
            )
        context = publication.Context.for_application(self.principal.sender_application, preload=True)
        results: list[dict | None] = [None] * len(items)
        valid: list[tuple[int, publishing.NewMessage]] = []
        for i, item in enumerate(items):
            try:
                valid.append((i, _batch_item(item, context)))
            except publication.PublicationError as exc:
                results[i] = {"index": i, "status": exc.status, "message": exc.message, "details": exc.details}
        stored = publishing.publish_messages([new for _, new in valid]) if valid else []
        for (i, _), outcome in zip(valid, stored, strict=True):
            if isinstance(outcome, publishing.DuplicatePublication):
                results[i] = {
                    "index": i,
                    "status": 409,
                    "message": f"Idempotency-Key already used for message {outcome.message_id}",
                    "details": [detail("idempotencyKey", str(outcome.message_id), "duplicate")],
                }
            else:
                results[i] = {"index": i, "status": 201, **publication_status(outcome)}
        accepted = sum(1 for r in results if r["status"] == 201)
        return Response(
            {"totalItems": len(items), "accepted": accepted, "rejected": len(items) - accepted, "items": results},
            status=200,
        )


def _batch_item(item, context: publication.Context) -> publishing.NewMessage:
    if not isinstance(item, dict):
        raise publication.PublicationError([detail("item", "must be an object")])
    data = item.get("messageToPublish")
    if not isinstance(data, dict):
        raise publication.PublicationError([detail("messageToPublish", "missing or not an object", "missing")])
    errors: list[dict] = []
    documents = item.get("documents") or {}
    parts = {}
    if not isinstance(documents, dict):
        errors.append(detail("documents", 'must be an object {"upfile1": {...}}'))
    else:
        for name, value in documents.items():
            part = publication.decode_document(value, f"documents.{name}", errors)
            if part is not None:
                parts[str(name)] = part
    if errors:
        raise publication.PublicationError(errors, 413 if any(e["kind"] == "too_large" for e in errors) else 400)
    key = item.get("idempotencyKey")
    return publication.build_new_message(data, parts, context, idempotency_key=None if key is None else str(key))


def _json_array(data, name: str, max_items: int) -> list:
    if not isinstance(data, list) or not data:
        raise ApiError(400, f"{name} must be a non-empty array", [detail(name, "a non-empty array is needed")])
    if len(data) > max_items:
        raise ApiError(400, f"at most {max_items} items", [detail(name, f"at most {max_items} items")])
    return data


class SearchMessageStatusView(SenderAPIView):
    required_scope = "status"

    @docs.search_message_status
    def post(self, request):
        items = _json_array(request.data, "messagesStatusRequest", settings.EBOX_SEARCH_MAX_ITEMS)
        errors, ids = [], []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("messageId"), str):
                errors.append(detail(f"[{i}].messageId", "missing", "missing"))
            else:
                ids.append(item["messageId"])
        if errors:
            raise ApiError(400, "invalid data", errors)
        found = selectors.organisation_messages(self.principal.organisation, ids)
        if not found:
            raise ApiError(404, "no message of this organisation has these ids")
        out = []
        for message_id in dict.fromkeys(ids):
            message = found.get(message_id) or found.get(message_id.lower())
            if message is None:
                continue
            out.append(
                {
                    "messageId": str(message.id),
                    "eboxId": {"eboxType": message.recipient_type, "eboxIdValue": message.recipient_id},
                    "expirationDate": timestamp(message.expires_at),
                    "readStatus": message.read_at is not None,
                    "visible": message.hidden_at is None,
                    "status": message.status,
                    "channel": message.channel,
                }
            )
        return Response(out, status=201)


class LinkMessageView(SenderAPIView):
    required_scope = "publication"

    @docs.link_message
    def post(self, request):
        data = request.data
        if not isinstance(data, dict) or not isinstance(data.get("messageId"), str):
            raise ApiError(400, "messageId missing", [detail("messageId", "missing", "missing")])
        recipients = _json_array(data.get("recipients"), "recipients", settings.EBOX_LINK_MAX_RECIPIENTS)
        original = selectors.organisation_message(self.principal.organisation, data["messageId"])
        if original is None:
            raise ApiError(404, f"message {data['messageId']} not found among this organisation's messages")
        valid, error_cases = [], []
        for i, value in enumerate(recipients):
            parsed = publication.parse_recipient(value, f"recipients[{i}]", [])
            if parsed is None:
                error_cases.append(value if isinstance(value, dict) else {"eboxType": "", "eboxIdValue": str(value)})
            else:
                valid.append(parsed)
        linked = publishing.link_message(original, list(dict.fromkeys(valid))) if valid else []
        return Response(
            {
                "messageId": str(original.id),
                "expirationDate": timestamp(original.expires_at),
                "nbSuccessLinks": len(linked),
                "errorCases": [
                    {"eboxType": str(e.get("eboxType", "")), "eboxIdValue": str(e.get("eboxIdValue", ""))}
                    for e in error_cases
                ],
                "messageIds": [str(m.id) for m in linked],
            },
            status=201,
        )


class EboxPreferencesSearchView(SenderAPIView):
    required_scope = "preferences"

    @docs.ebox_preferences
    def post(self, request):
        data = request.data
        if not isinstance(data, dict):
            raise ApiError(400, "body must be an EboxIdSameTypeList object", [detail("body", "must be an object")])
        ebox_type = str(data.get("eboxType", "")).lower()
        if ebox_type not in ("citizen", "enterprise"):
            raise ApiError(
                400, "eboxType must be CITIZEN or ENTERPRISE", [detail("eboxType", "must be CITIZEN or ENTERPRISE")]
            )
        values = _json_array(data.get("eboxIdValueList"), "eboxIdValueList", settings.EBOX_SEARCH_MAX_ITEMS)
        errors, numbers = [], []
        for i, value in enumerate(values):
            parsed = publication.parse_recipient(
                {"eboxType": ebox_type, "eboxIdValue": value}, f"eboxIdValueList[{i}]", errors
            )
            if parsed:
                numbers.append(parsed[1])
        if errors:
            raise ApiError(400, "invalid data", [{**e, "ref": e["ref"].removesuffix(".eboxIdValue")} for e in errors])
        organisation = self.principal.organisation
        out = []
        if ebox_type == "citizen":
            citizens = selectors.citizens_by_number(numbers)
            for number in dict.fromkeys(numbers):
                citizen = citizens.get(number)
                out.append(
                    {
                        "eboxId": {"eboxType": "CITIZEN", "eboxIdValue": number},
                        "exclusivelyEbox": bool(citizen and citizen.is_activated),
                        **(
                            {"lastConnectionDate": timestamp(citizen.last_connection_at)}
                            if citizen and citizen.last_connection_at
                            else {}
                        ),
                        "channel": channel_for(citizen, organisation),
                    }
                )
        else:
            # Enterprises read eBox Enterprise; publication gives them the digital channel.
            out = [
                {"eboxId": {"eboxType": "ENTERPRISE", "eboxIdValue": n}, "exclusivelyEbox": True, "channel": "digital"}
                for n in dict.fromkeys(numbers)
            ]
        return Response(out, status=200)


# --- Reference data ----------------------------------------------------------------


def _paging(request) -> tuple[int, int]:
    errors = []
    values = {}
    for name, default, maximum in (("page", 1, None), ("pageSize", 25, 100)):
        raw = request.query_params.get(name, default)
        try:
            value = int(raw)
        except (TypeError, ValueError):
            errors.append(detail(name, "must be an integer"))
            continue
        if value < 1 or (maximum and value > maximum):
            errors.append(detail(name, f"must be between 1 and {maximum}" if maximum else "must be ≥ 1"))
        values[name] = value
    if errors:
        raise ApiError(400, "invalid paging", errors)
    return values["page"], values["pageSize"]


def _paged(request, queryset, render) -> Response:
    page, size = _paging(request)
    total = queryset.count()
    rows = list(queryset[(page - 1) * size : page * size])
    return Response({"items": [render(r) for r in rows], "totalItems": total})


def render_message_type(t) -> dict:
    return {
        "messageTypeId": t.message_type_id,
        "messageTypeName": t.name,
        "messageTypeDescription": t.description or {},
        "validityPeriod": {"validityPeriodNumber": t.validity_number, "validityPeriodUnit": t.validity_unit},
        "senderOrganizationIds": [t.organisation.enterprise_number],
        "senderApplicationIds": [a.application_id for a in t.organisation.applications.all()],
    }


def render_sender_application(a) -> dict:
    out = {
        "applicationId": a.application_id,
        "applicationName": a.name,
        "applicationDescription": a.description or {},
        "senderOrganizationIds": [a.organisation.enterprise_number],
        "messageTypeIds": [t.message_type_id for t in a.organisation.message_types.all()],
    }
    if a.contact_technical:
        out["contactTechnical"] = a.contact_technical
    return out


def render_sender_organisation(o) -> dict:
    out = {
        "organizationId": o.enterprise_number,
        "organizationShortName": o.short_name,
        "organizationLongName": o.long_name or {},
        "senderApplicationIds": [a.application_id for a in o.applications.all()],
        "messageTypeIds": [t.message_type_id for t in o.message_types.all()],
    }
    if o.website:
        out["organizationUrl"] = o.website
    if o.contact_business:
        out["contactBusiness"] = o.contact_business
    if o.contact_technical:
        out["contactTechnical"] = o.contact_technical
    return out


class MessageTypesView(SenderAPIView):
    required_scope = "referencedata"

    @docs.message_types
    def get(self, request):
        return _paged(request, selectors.message_types(), render_message_type)


class MessageTypeView(SenderAPIView):
    required_scope = "referencedata"

    @docs.message_type
    def get(self, request, **kwargs):
        t = selectors.message_types().filter(message_type_id=kwargs["messageTypeId"]).first()
        if t is None:
            raise ApiError(404, f"messageTypeId {kwargs['messageTypeId']} not found")
        return Response(render_message_type(t))


class SenderApplicationsView(SenderAPIView):
    required_scope = "referencedata"

    @docs.sender_applications
    def get(self, request):
        return _paged(request, selectors.sender_applications(), render_sender_application)


class SenderApplicationView(SenderAPIView):
    required_scope = "referencedata"

    @docs.sender_application
    def get(self, request, **kwargs):
        a = selectors.sender_applications().filter(application_id=kwargs["senderApplicationId"]).first()
        if a is None:
            raise ApiError(404, f"senderApplicationId {kwargs['senderApplicationId']} not found")
        return Response(render_sender_application(a))


class SenderOrganisationsView(SenderAPIView):
    required_scope = "referencedata"

    @docs.sender_organisations
    def get(self, request):
        return _paged(request, selectors.sender_organisations(), render_sender_organisation)


class SenderOrganisationView(SenderAPIView):
    required_scope = "referencedata"

    @docs.sender_organisation
    def get(self, request, **kwargs):
        o = selectors.sender_organisations().filter(enterprise_number=kwargs["senderOrganizationId"]).first()
        if o is None:
            raise ApiError(404, f"senderOrganizationId {kwargs['senderOrganizationId']} not found")
        return Response(render_sender_organisation(o))
