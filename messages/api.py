"""API extensions of the trust layer (beside the eBox 2.1 contracts): the evidence of a message."""

from __future__ import annotations

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from messages import evidence
from messages.models import Message
from messages.services import incidents
from senders.api.base import SenderAPIView
from senders.api.errors import error_response


def status_message(code: str, message: str, status: int) -> Response:
    """An error in the spec's StatusMessage shape."""
    return error_response(status, message, code=code)


class MessageEvidenceView(SenderAPIView):
    required_scope = "evidence"

    @extend_schema(
        operation_id="getMessageEvidence",
        summary="Signed evidence of deposit, reading or receipt of a published message (extension)",
        description=(
            "For the sender application that published the message. `kind=deposit` (default) proves the deposit "
            "(seal, acceptance and sealing times); `kind=reading`, for registered mail, adds the first opening of "
            "the main content; `kind=receipt`, for registered mail, adds the recipient's sealed acknowledgement or "
            "refusal of receipt (present under `acknowledgement` in every kind once given). Verify offline with the JWKS at /.well-known/jwks.json and messages/verify_evidence.py."
        ),
        parameters=[
            OpenApiParameter("kind", OpenApiTypes.STR, enum=list(evidence.KINDS), default="deposit"),
        ],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="The signed evidence."),
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="StatusMessage: unknown kind."),
            403: OpenApiResponse(OpenApiTypes.OBJECT, description="The client is not a sender application."),
            404: OpenApiResponse(OpenApiTypes.OBJECT, description="StatusMessage: no such message or evidence yet."),
            409: OpenApiResponse(
                OpenApiTypes.OBJECT, description="StatusMessage: the message failed integrity checks."
            ),
        },
        tags=["extensions"],
    )
    def get(self, request, messageId: uuid.UUID):  # noqa: N803 - the spec's parameter name
        message_id = messageId
        application = self.principal.sender_application
        kind = request.query_params.get("kind", "deposit")
        if kind not in evidence.KINDS:
            return status_message("INVALID_KIND", f"kind must be one of: {', '.join(evidence.KINDS)}", 400)
        message = (
            Message.objects.select_related(
                "content", "sender_organisation", "sender_application", "message_type", "citizen"
            )
            .filter(id=message_id, sender_application=application)
            .first()
        )
        if message is None:
            return status_message("MESSAGE_NOT_FOUND", f"no message {message_id} published by this application", 404)
        request.audit_ids.append(str(message.id))
        try:
            document = evidence.build_evidence(message, kind)
        except evidence.EvidenceUnavailable as exc:
            return status_message("EVIDENCE_NOT_AVAILABLE", str(exc), 404)
        except incidents.IntegrityFailure:
            return status_message(
                "INTEGRITY_FAILURE", "the message failed its integrity checks; operators have been alerted", 409
            )
        return Response(document)
