"""The replies extension: an organisation lists the replies citizens sent to its messages.

Beside the eBox 2.1 contracts (which only publish): `GET /extensions/replies` and each reply's
attachment. Every reply is decrypted only after its seal checked out; a damaged one is listed
without content (and recorded as an integrity incident), its attachment refused with 409.
"""

from __future__ import annotations

import base64
import tempfile

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.response import Response

from ebox.file_safety import clean_file_name
from messages.services import incidents as message_incidents
from messages.services import replies as message_replies
from senders import selectors
from senders.api.base import SenderAPIView, paging
from senders.api.docs import PAGING, errors
from senders.api.errors import ApiError

REPLY_SCHEMA = {
    "type": "object",
    "required": ["replyId", "originalMessageId", "eboxId", "creationDate", "integrityFailure"],
    "properties": {
        "replyId": {"type": "string", "format": "uuid"},
        "originalMessageId": {"type": "string", "format": "uuid", "description": "The message replied to."},
        "eboxId": {
            "type": "object",
            "description": "The citizen who replied (the spec's EboxId).",
            "properties": {
                "eboxType": {"type": "string", "enum": ["citizen"]},
                "eboxIdValue": {"type": "string", "example": "85073003328"},
            },
        },
        "text": {"type": "string", "description": "The reply, decrypted after its seal was verified."},
        "creationDate": {"type": "string", "format": "date-time"},
        "integrityFailure": {
            "type": "boolean",
            "description": "True when the reply failed its integrity checks: no text nor attachment is given "
            "and operators have been alerted.",
        },
        "attachment": {
            "type": "object",
            "nullable": True,
            "properties": {
                "fileName": {"type": "string"},
                "mediaType": {"type": "string", "example": "application/pdf"},
                "size": {"type": "integer"},
                "digest": {
                    "type": "object",
                    "properties": {
                        "digestMethod": {"type": "string", "enum": ["sha_256"]},
                        "digestValue": {"type": "string", "description": "base64url SHA-256 of the bytes"},
                    },
                },
                "href": {"type": "string", "description": "Path of the content (GET)."},
            },
        },
    },
}

REPLIES_SCHEMA = {
    "type": "object",
    "required": ["items", "totalItems"],
    "properties": {"items": {"type": "array", "items": REPLY_SCHEMA}, "totalItems": {"type": "integer"}},
}

REPLIES_EXAMPLE = {
    "items": [
        {
            "replyId": "5b0f4c0e-2a43-4bd4-9f52-1f2b8d0c2b11",
            "originalMessageId": "0e7d1f4e-5a9b-4c61-9d0e-4f6f2b7f9a10",
            "eboxId": {"eboxType": "citizen", "eboxIdValue": "85073003328"},
            "text": "Merci, je paie cette semaine.",
            "creationDate": "2026-11-27T08:15:02.120000+00:00",
            "integrityFailure": False,
            "attachment": {
                "fileName": "preuve.pdf",
                "mediaType": "application/pdf",
                "size": 18211,
                "digest": {"digestMethod": "sha_256", "digestValue": "n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg"},
                "href": "/api/v2/extensions/replies/5b0f4c0e-2a43-4bd4-9f52-1f2b8d0c2b11/attachment",
            },
        }
    ],
    "totalItems": 1,
}


def _b64url_hex(hex_digest: str) -> str:
    return base64.urlsafe_b64encode(bytes.fromhex(hex_digest)).decode().rstrip("=")


def render_reply(reply) -> dict:
    out = {
        "replyId": str(reply.id),
        "originalMessageId": str(reply.message_id),
        "eboxId": {"eboxType": "citizen", "eboxIdValue": reply.citizen.national_number},
        "creationDate": reply.created_at.isoformat(),
        "integrityFailure": False,
        "attachment": None,
    }
    try:
        content = message_replies.verified_reply(reply, detected_by="api")
    except message_incidents.IntegrityFailure:
        out["integrityFailure"] = True
        return out
    out["text"] = content.text
    if reply.attachment_blob:
        out["attachment"] = {
            "fileName": content.attachment_file_name or f"{reply.id}.pdf",
            "mediaType": reply.attachment_media_type,
            "size": reply.attachment_size,
            "digest": {"digestMethod": "sha_256", "digestValue": _b64url_hex(reply.attachment_sha256)},
            "href": f"/api/v2/extensions/replies/{reply.id}/attachment",
        }
    return out


class RepliesView(SenderAPIView):
    required_scope = "replies"

    @extend_schema(
        operation_id="getReplies",
        tags=["extensions"],
        summary="The replies citizens sent to this organisation's messages (extension)",
        description=(
            "For a sender application with the `replies` scope: the replies to messages its organisation "
            "published (whichever of its applications published them), newest first, paged like the spec's "
            "lists. Each reply's seal is verified before its text is given; a reply that fails is listed with "
            "`integrityFailure: true` and no content, and operators are alerted."
        ),
        parameters=PAGING,
        responses={
            200: OpenApiResponse(REPLIES_SCHEMA, "A page of replies"),
            **errors(400, 401, 403),
        },
        examples=[OpenApiExample("A reply with a PDF", value=REPLIES_EXAMPLE, response_only=True)],
    )
    def get(self, request):
        page, size = paging(request)
        replies = selectors.organisation_replies(self.principal.organisation)
        total = replies.count()
        rows = list(replies[(page - 1) * size : page * size])
        request.audit_ids.extend(str(r.id) for r in rows)
        return Response({"items": [render_reply(r) for r in rows], "totalItems": total})


class ReplyAttachmentView(SenderAPIView):
    required_scope = "replies"

    @extend_schema(
        operation_id="getReplyAttachmentContent",
        tags=["extensions"],
        summary="The attachment of a reply (extension)",
        description=(
            "The bytes of the file a citizen attached to a reply to this organisation's message. The seal and the "
            "SHA-256 of the bytes are checked before anything is sent; a damaged file gets 409."
        ),
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, "The file"),
            **errors(401, 403, 404),
            409: OpenApiResponse(
                {"$ref": "#/components/schemas/StatusMessage"}, "The reply failed its integrity checks"
            ),
        },
    )
    def get(self, request, replyId: str):  # noqa: N803 - the path parameter's name in the API
        reply = selectors.organisation_reply(self.principal.organisation, replyId)
        if reply is None or not reply.attachment_blob:
            raise ApiError(404, f"no reply {replyId} with an attachment for this organisation")
        request.audit_ids.append(str(reply.id))
        # Decrypt and check completely before sending a byte: a damaged file is withheld whole.
        spool = tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024)
        try:
            for chunk in message_replies.open_reply_attachment(reply, detected_by="api"):
                spool.write(chunk)
        except message_incidents.IntegrityFailure as exc:
            spool.close()
            raise ApiError(409, "the reply failed its integrity checks; operators have been alerted") from exc
        spool.seek(0)
        content = message_replies.verified_reply(reply, detected_by="api")
        response = FileResponse(
            spool,
            as_attachment=True,
            filename=clean_file_name(content.attachment_file_name or "") or f"{reply.id}.pdf",
            content_type=reply.attachment_media_type or "application/octet-stream",
        )
        response["Cache-Control"] = "private, no-store"
        return response
