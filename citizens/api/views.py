"""The eBox consultation API 2.1 for partner apps, acting for one consenting citizen, and for an
enterprise's own API clients (federation.EnterpriseApplication), reading their enterprise's mailbox.

Every operation: a valid token of a partner app (not revoked) whose citizen has an active
grant, the scope `ebox.read` (reading) or `ebox.manage` (PATCH); content is verified
(seal and digests) before it is served; every access lands in the citizen's access log
under the partner's name.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Max, Q
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from citizens import services as citizen_services
from citizens.api import schema  # noqa: F401 - registers the partner OAuth scheme
from citizens.api.serializers import message_json, payment_json, timestamp
from citizens.models import AccessLogEntry
from citizens.selectors import active_grant, available_messages
from ebox.i18n import CONTENT_LANGUAGES
from ebox.safe_input import SafeJSONParser, bounded_int
from messages.models import Message
from messages.services import incidents, reading
from senders.api.docs import errors, ref
from senders.api.errors import error_response

READ, MANAGE = "ebox.read", "ebox.manage"


def status_message(code: str, message: str, http_status: int, details: list | None = None) -> Response:
    return error_response(http_status, message, details, code=code)


class PartnerAccess(BasePermission):
    """A partner app's token, for a citizen with an active grant, carrying the view's scope; or an
    enterprise's own client (federation.EnterpriseApplication), whose token stands for its enterprise."""

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if token is None:
            error = getattr(request, "oauth2_error", {}) or {}
            raise exceptions.NotAuthenticated(
                error.get("error_description") or "a Bearer access token of a partner app is required"
            )
        try:
            enterprise_app = token.application.enterprise_application
        except ObjectDoesNotExist:
            enterprise_app = None
        if enterprise_app is not None:
            if enterprise_app.revoked_at:
                raise exceptions.AuthenticationFailed("this enterprise client was revoked")
            reader, citizen, tag = enterprise_app, enterprise_app.enterprise, "enterprise-app"
        else:
            reader, citizen, tag = self._partner_and_citizen(request, token), request.user.citizen, "partner"
        scope = MANAGE if request.method in ("PATCH", "POST", "PUT", "DELETE") else READ
        if not token.allow_scopes([scope]):
            raise exceptions.PermissionDenied(f"scope {scope} missing")
        # `partner` is the reading application (a PartnerApplication or an EnterpriseApplication:
        # both give oauth_application and display_name); the tags name it in seals' incidents and events.
        request.partner, request.citizen = reader, citizen
        request.detected_by = f"{tag}:{reader.pk}"
        request.actor = f"{tag}:{reader.oauth_application.client_id}"
        return True

    @staticmethod
    def _partner_and_citizen(request, token):
        try:
            partner = token.application.partner_application
        except ObjectDoesNotExist:
            raise exceptions.PermissionDenied("this token does not belong to a partner app") from None
        if partner.revoked_at:
            raise exceptions.AuthenticationFailed("this partner app was revoked")
        try:
            citizen = request.user.citizen
        except (ObjectDoesNotExist, AttributeError):
            raise exceptions.PermissionDenied("this token does not act for a citizen") from None
        if active_grant(citizen, partner) is None:
            raise exceptions.AuthenticationFailed("the citizen revoked this app's access")
        return partner


class PartnerView(APIView):
    permission_classes = [PartnerAccess]

    def handle_exception(self, exc):
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            response = status_message("UNAUTHORIZED", str(exc.detail), status.HTTP_401_UNAUTHORIZED)
            response["WWW-Authenticate"] = 'Bearer realm="api"'
            return response
        if isinstance(exc, exceptions.PermissionDenied):
            return status_message("FORBIDDEN", str(exc.detail), status.HTTP_403_FORBIDDEN)
        if isinstance(exc, exceptions.NotFound):
            return status_message("NOT_FOUND", str(exc.detail), status.HTTP_404_NOT_FOUND)
        if isinstance(exc, exceptions.ValidationError):
            details = exc.detail if isinstance(exc.detail, list) else [exc.detail]
            return status_message("INVALID_DATA", "invalid data supplied", status.HTTP_400_BAD_REQUEST, details)
        if isinstance(exc, incidents.IntegrityFailure):
            return status_message(
                "INTEGRITY_FAILURE", "this message failed its integrity check; its content is withheld", 409
            )
        return super().handle_exception(exc)

    def message(self, message_id: str) -> Message:
        try:
            message = available_messages(self.request.citizen).get(pk=uuid.UUID(str(message_id)))
        except (ValueError, Message.DoesNotExist):
            raise exceptions.NotFound(f"message {message_id} not found") from None
        self.request.audit_ids.append(str(message.id))  # the audit trail names what was touched
        return message

    def log(self, action: str, message: Message | None = None) -> None:
        citizen, partner = self.request.citizen, self.request.partner
        citizen_services.log_access(
            citizen,
            message,
            action,
            accessor=partner.display_name(citizen.preferred_language),
            oauth_client_id=partner.oauth_application.client_id,
        )

    def full_message(self, message: Message) -> dict:
        text = reading.verified_text(message, detected_by=self.request.detected_by, reader=self.request.citizen)
        return message_json(message, text, list(message.content.attachments.all()), self.request)


def _bool(value: str | None, name: str) -> bool | None:
    if value is None:
        return None
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise exceptions.ValidationError({"ref": name, "message": f"{name} must be true or false"})


def _date(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise exceptions.ValidationError({"ref": name, "message": f"{name} must be a date YYYY-MM-DD"}) from None


def _int(value: str | None, name: str, default: int, low: int, high: int) -> int:
    number = bounded_int(value, default, low, high)
    if number is None:
        raise exceptions.ValidationError({"ref": name, "message": f"{name} must be an integer from {low} to {high}"})
    return number


LIST_PARAMETERS = [
    OpenApiParameter("page", int, description="The index of the current page of items (from 1)."),
    OpenApiParameter("pageSize", int, description="The maximal number of results per page (1 to 100, default 25)."),
    *[
        OpenApiParameter(name, OpenApiTypes.DATE)
        for name in ("receivedBefore", "receivedAfter", "expiredBefore", "expiredAfter")
    ],
    *[OpenApiParameter(name, bool) for name in ("readStatus", "visible", "registeredMail")],
    *[OpenApiParameter(name, str) for name in ("messageTypeId", "senderOrganizationId", "senderApplicationId")],
    OpenApiParameter("q", str, description="Text to find in the subject or body (requires qlang)."),
    OpenApiParameter("qlang", str, enum=["nl", "fr", "de", "en"], description="The language searched by q."),
]


class EboxSummaryView(PartnerView):
    @extend_schema(
        operation_id="getEBoxById",
        summary="Summary of the citizen's eBox",
        tags=["Ebox"],
        responses={200: OpenApiResponse(ref("Ebox")), **errors(401, 403)},
    )
    def get(self, request):
        messages = available_messages(request.citizen)
        summary = messages.aggregate(last=Max("received_at"))
        total = messages.count()
        unread = messages.filter(read_at__isnull=True).count()
        size = sum(
            a.size for m in messages.prefetch_related("content__attachments") for a in m.content.attachments.all()
        )
        self.log(AccessLogEntry.Action.LISTED)
        body = {"numberOfMessages": total, "numberOfUnreadMessages": unread, "eboxSize": round(size / 1024, 3)}
        if summary["last"]:
            body["lastReceiptDate"] = timestamp(summary["last"])
        if request.citizen.last_connection_at:
            body["lastConsultationDate"] = timestamp(request.citizen.last_connection_at)
        return Response(body)


class MergePatchJSONParser(SafeJSONParser):
    """The spec's PATCH /ebox/messages consumes application/merge-patch+json (RFC 7396)."""

    media_type = "application/merge-patch+json"


class MessagesView(PartnerView):
    parser_classes = [MergePatchJSONParser, SafeJSONParser]

    @extend_schema(
        operation_id="getMessagesByEBoxId",
        summary="The citizen's messages, newest first",
        tags=["Messages"],
        parameters=LIST_PARAMETERS,
        responses={200: OpenApiResponse(ref("Messages")), **errors(400, 401, 403)},
    )
    def get(self, request):
        params = request.query_params
        page = _int(params.get("page"), "page", 1, 1, 1_000_000)
        page_size = _int(params.get("pageSize"), "pageSize", 25, 1, 100)
        messages = available_messages(request.citizen)
        filters = Q()
        for name, lookup in (
            ("receivedBefore", "received_at__date__lt"),
            ("receivedAfter", "received_at__date__gt"),
            ("expiredBefore", "expires_at__date__lt"),
            ("expiredAfter", "expires_at__date__gt"),
        ):
            value = _date(params.get(name), name)
            if value:
                filters &= Q(**{lookup: value})
        read = _bool(params.get("readStatus"), "readStatus")
        if read is not None:
            filters &= Q(read_at__isnull=not read)
        visible = _bool(params.get("visible"), "visible")
        if visible is not None:
            filters &= Q(hidden_at__isnull=visible)
        registered = _bool(params.get("registeredMail"), "registeredMail")
        if registered is not None:
            filters &= Q(registered_mail=registered)
        for name, lookup in (
            ("messageTypeId", "message_type__message_type_id"),
            ("senderOrganizationId", "sender_organisation__enterprise_number"),
            ("senderApplicationId", "sender_application__application_id"),
        ):
            if params.get(name):
                filters &= Q(**{lookup: params[name]})
        messages = messages.filter(filters)
        q, qlang = params.get("q"), params.get("qlang")
        if q is not None:
            if qlang not in CONTENT_LANGUAGES:
                raise exceptions.ValidationError(
                    {"ref": "qlang", "message": "qlang (nl, fr, de or en) is required with q"}
                )
            # Content is encrypted at rest: search this citizen's messages after decryption.
            from citizens.selectors import search_messages

            messages = search_messages(messages, q, qlang)
            total = len(messages)
            window = messages[(page - 1) * page_size : page * page_size]
        else:
            total = messages.count()
            window = list(messages[(page - 1) * page_size : page * page_size].prefetch_related("content__attachments"))
        items = [self.full_message(m) for m in window]
        self.log(AccessLogEntry.Action.LISTED)
        return Response({"items": items, "totalItems": total})

    @extend_schema(
        operation_id="patchMessagesByEBoxId",
        summary="Archive or restore messages (visible), or mark them read (readStatus: true, our extension)",
        tags=["Messages"],
        request={"application/merge-patch+json": ref("MessagesToUpdate"), "application/json": ref("MessagesToUpdate")},
        responses={200: OpenApiResponse(description="updated"), **errors(400, 401, 403, 404)},
    )
    def patch(self, request):
        items = request.data.get("items") if isinstance(request.data, dict) else None
        if not isinstance(items, list) or not items:
            raise exceptions.ValidationError({"ref": "items", "message": "items must be a non-empty list"})
        updates = []
        for index, item in enumerate(items):
            if not isinstance(item, dict) or "messageId" not in item:
                raise exceptions.ValidationError({"ref": f"items[{index}].messageId", "message": "messageId missing"})
            if "visible" not in item and "readStatus" not in item:
                raise exceptions.ValidationError(
                    {"ref": f"items[{index}]", "message": "give visible and/or readStatus"}
                )
            for field in ("visible", "readStatus"):
                if field in item and not isinstance(item[field], bool):
                    raise exceptions.ValidationError(
                        {"ref": f"items[{index}].{field}", "message": f"{field} must be a boolean"}
                    )
            if item.get("readStatus") is False:
                raise exceptions.ValidationError(
                    {"ref": f"items[{index}].readStatus", "message": "a read message cannot become unread"}
                )
            updates.append((self.message(item["messageId"]), item))
        actor = request.actor
        for message, item in updates:
            if "visible" in item:
                reading.set_visibility(message, item["visible"], actor)
                self.log(AccessLogEntry.Action.UNHIDDEN if item["visible"] else AccessLogEntry.Action.HIDDEN, message)
            if item.get("readStatus"):
                reading.mark_read(message, actor)
                self.log(AccessLogEntry.Action.MARKED_READ, message)
        return Response(status=status.HTTP_200_OK)


class MessageView(PartnerView):
    @extend_schema(
        operation_id="getMessageById",
        summary="One message",
        tags=["Messages"],
        responses={200: OpenApiResponse(ref("Message")), **errors(401, 403, 404, 409)},
    )
    def get(self, request, message_id):
        message = self.message(message_id)
        body = self.full_message(message)
        self.log(AccessLogEntry.Action.OPENED, message)
        return Response(body)


class AttachmentsView(PartnerView):
    @extend_schema(
        operation_id="getAttachmentByMessageId",
        summary="A message's attachments",
        tags=["Messages"],
        responses={200: OpenApiResponse(ref("Attachments")), **errors(401, 403, 404, 409)},
    )
    def get(self, request, message_id):
        body = self.full_message(self.message(message_id))
        return Response(body["attachments"])


class AttachmentView(PartnerView):
    @extend_schema(
        operation_id="getAttachmentById",
        summary="One attachment's metadata",
        tags=["Messages"],
        responses={200: OpenApiResponse(ref("Attachment")), **errors(401, 403, 404, 409)},
    )
    def get(self, request, message_id, attachment_id):
        body = self.full_message(self.message(message_id))
        for item in body["attachments"]["items"]:
            if item["attachmentId"] == str(attachment_id):
                return Response(item)
        raise exceptions.NotFound(f"attachment {attachment_id} not found")


class AttachmentContentView(PartnerView):
    @extend_schema(
        operation_id="getAttachmentContentById",
        summary="An attachment's bytes",
        tags=["Messages"],
        responses={200: OpenApiResponse(OpenApiTypes.BINARY), **errors(401, 403, 404, 409)},
    )
    def get(self, request, message_id, attachment_id):
        message = self.message(message_id)
        attachment = next((a for a in message.content.attachments.all() if str(a.id) == str(attachment_id)), None)
        if attachment is None:
            raise exceptions.NotFound(f"attachment {attachment_id} not found")
        reading.verified_text(message, detected_by=request.detected_by, reader=request.citizen)
        detected_by = request.detected_by
        # Read the whole attachment first: a digest mismatch must become an error, not a truncated download.
        chunks = list(reading.open_attachment(message, attachment, detected_by=detected_by, reader=request.citizen))
        if attachment.main_content:
            reading.mark_read(message, request.actor)
        self.log(AccessLogEntry.Action.DOWNLOADED, message)
        meta = reading.attachment_meta(message, attachment)
        response = StreamingHttpResponse(iter(chunks), content_type=attachment.media_type)
        response["Content-Length"] = str(attachment.size)
        response["Content-Disposition"] = f'attachment; filename="{_safe_filename(meta.get("fileName", "file"))}"'
        return response


def _safe_filename(name: str) -> str:
    return "".join(c for c in name if c.isalnum() or c in "._- ")[:150] or "file"


class BodyView(PartnerView):
    @extend_schema(
        operation_id="getBodyContent",
        summary="A message's body",
        tags=["Messages"],
        responses={200: OpenApiResponse(ref("TranslatedString")), **errors(401, 403, 404, 409)},
    )
    def get(self, request, message_id):
        message = self.message(message_id)
        text = reading.verified_text(message, detected_by=request.detected_by, reader=request.citizen)
        if not text.body:
            raise exceptions.NotFound("this message has no body")
        if message.body_main_content:
            reading.mark_read(message, request.actor)
        self.log(AccessLogEntry.Action.OPENED, message)
        return Response(text.body)


class PaymentDataView(PartnerView):
    @extend_schema(
        operation_id="getPaymentDataByMessageId",
        summary="A message's payment data",
        tags=["Messages"],
        responses={200: OpenApiResponse(ref("PaymentData")), **errors(401, 403, 404, 409)},
    )
    def get(self, request, message_id):
        message = self.message(message_id)
        text = reading.verified_text(message, detected_by=request.detected_by, reader=request.citizen)
        payment = payment_json(message, text)
        if not payment:
            raise exceptions.NotFound("this message has no payment data")
        self.log(AccessLogEntry.Action.OPENED, message)
        return Response(payment)
