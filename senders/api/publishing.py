"""Publishing through the sender API: `/publishMessage` (multipart), our batch extension
(`/extensions/publishMessages`, base64 documents) and `/linkEboxMessage`.

Validation is `senders.publication`, storing `messages.services.publishing`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpResponse
from rest_framework.response import Response

from audit import services as audit
from messages.models import Message
from messages.services import publishing
from senders import selectors
from senders.api import docs
from senders.api.base import SenderAPIView, json_array, timestamp
from senders.api.errors import ApiError, detail, error_response
from senders.api.parsers import MESSAGE_PART, PublicationMultiPartParser
from senders.publication.attachments import ReceivedPart, decode_document
from senders.publication.fields import PublicationError, parse_recipient
from senders.publication.new_message import Context, build_new_message, lookup_keys, parse_message_to_publish

CHANNEL_MESSAGES = {
    Message.Channel.DIGITAL: "The recipient reads eBox: the message is delivered digitally only.",
    Message.Channel.DIGITAL_AND_PAPER: (
        "The recipient reads eBox, but the organisation is in its paper transition period: send paper too."
    ),
    Message.Channel.PAPER: (
        "The recipient does not read eBox (not activated, or address not verified: NO_DIGITAL_USER): "
        "send the letter on paper."
    ),
}


PRINTED_BY_PLATFORM = "The platform's paper service prints and posts this letter: nothing to send on paper."


def publication_status(message: Message | publishing.Accepted) -> dict:
    status = {
        "messageId": str(message.id),
        "expirationDate": timestamp(message.expires_at),
        "code": message.channel,
        "message": CHANNEL_MESSAGES[message.channel],
    }
    # Our extension: the organisation's paper service queued it for print (see paper/).
    print_status = getattr(message, "print_status", None)
    if print_status:
        status["message"] = PRINTED_BY_PLATFORM
        status["paper"] = {"status": print_status}
    return status


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
            request.publication_lookup = lookup_keys(self.received.data)
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
            context = Context.for_application(
                self.principal.sender_application,
                looked_up=(lookup, self.principal.looked_up) if lookup else None,
            )
            new = build_new_message(
                received.data,
                parts,
                context,
                idempotency_key=request.META.get("HTTP_IDEMPOTENCY_KEY"),
                oversized=[name for name, part in files.items() if part.too_large],
            )
            # The audit entry is stored by the publication's own statement (one round trip, one commit).
            entry = audit.recorded_with_action(request._request, 201)
            message = publishing.publish_message(new, audit_entry=entry)
        except PublicationError as exc:
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
    files: dict[str, ReceivedPart]
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
            received.data = parse_message_to_publish(form.data.get(MESSAGE_PART))
        except PublicationError as exc:
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
        context = Context.for_application(self.principal.sender_application, preload=True)
        results: list[dict | None] = [None] * len(items)
        valid: list[tuple[int, publishing.NewMessage]] = []
        for i, item in enumerate(items):
            try:
                valid.append((i, _batch_item(item, context)))
            except PublicationError as exc:
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


def _batch_item(item, context: Context) -> publishing.NewMessage:
    if not isinstance(item, dict):
        raise PublicationError([detail("item", "must be an object")])
    data = item.get("messageToPublish")
    if not isinstance(data, dict):
        raise PublicationError([detail("messageToPublish", "missing or not an object", "missing")])
    errors: list[dict] = []
    documents = item.get("documents") or {}
    parts = {}
    if not isinstance(documents, dict):
        errors.append(detail("documents", 'must be an object {"upfile1": {...}}'))
    else:
        for name, value in documents.items():
            part = decode_document(value, f"documents.{name}", errors)
            if part is not None:
                parts[str(name)] = part
    if errors:
        raise PublicationError(errors, 413 if any(e["kind"] == "too_large" for e in errors) else 400)
    key = item.get("idempotencyKey")
    return build_new_message(data, parts, context, idempotency_key=None if key is None else str(key))


class LinkMessageView(SenderAPIView):
    required_scope = "publication"

    @docs.link_message
    def post(self, request):
        data = request.data
        if not isinstance(data, dict) or not isinstance(data.get("messageId"), str):
            raise ApiError(400, "messageId missing", [detail("messageId", "missing", "missing")])
        recipients = json_array(data.get("recipients"), "recipients", settings.EBOX_LINK_MAX_RECIPIENTS)
        original = selectors.organisation_message(self.principal.organisation, data["messageId"])
        if original is None:
            raise ApiError(404, f"message {data['messageId']} not found among this organisation's messages")
        valid, error_cases = [], []
        for i, value in enumerate(recipients):
            parsed = parse_recipient(value, f"recipients[{i}]", [])
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
