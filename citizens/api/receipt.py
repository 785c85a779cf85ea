"""Consultation API extension: the recipient's acknowledgement of receipt of a registered letter.

`GET /api/v2/ebox/messages/{messageId}/acknowledgement` (scope `ebox.read`) tells whether the
letter asks for one and what was answered; `POST` (scope `ebox.manage`) with
`{"decision": "acknowledged"}` or `{"decision": "refused"}` gives the answer through the partner
app, sealed with the channel `partner:<client id>` (`messages.services.acknowledgement`).
Opening the letter through the app is not an acknowledgement.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from citizens.api.serializers import timestamp
from citizens.api.views import PartnerView, status_message
from citizens.models import AccessLogEntry
from messages.models import Message, ReceiptAcknowledgement
from messages.services import acknowledgement
from senders.api.docs import errors
from senders.api.errors import detail

ANSWER = inline_serializer(
    "Acknowledgement",
    {
        "messageId": serializers.UUIDField(),
        "required": serializers.BooleanField(help_text="true for registered mail: an answer is asked for"),
        "receiptStatus": serializers.ChoiceField(
            choices=["pending", "opened", "acknowledged", "refused"], allow_null=True
        ),
        "decision": serializers.ChoiceField(choices=list(acknowledgement.DECISIONS), required=False),
        "decisionDate": serializers.DateTimeField(required=False),
        "channel": serializers.CharField(required=False, help_text="portal, or partner:<client id>"),
    },
)
DECISION = inline_serializer(
    "AcknowledgementDecision", {"decision": serializers.ChoiceField(choices=list(acknowledgement.DECISIONS))}
)


def answer_json(message: Message, record: ReceiptAcknowledgement | None) -> dict:
    out = {
        "messageId": str(message.id),
        "required": message.registered_mail,
        "receiptStatus": acknowledgement.receipt_status(message, record),
    }
    if record is not None:
        out.update({"decision": record.decision, "decisionDate": timestamp(record.at), "channel": record.channel})
    return out


class AcknowledgementView(PartnerView):
    @extend_schema(
        operation_id="getAcknowledgement",
        summary="Acknowledgement of receipt of a registered letter (extension)",
        tags=["Messages"],
        responses={200: ANSWER, **errors(401, 403, 404)},
    )
    def get(self, request, message_id):
        message = self.message(message_id)
        return Response(answer_json(message, ReceiptAcknowledgement.objects.filter(message=message).first()))

    @extend_schema(
        operation_id="acknowledgeMessage",
        summary="Acknowledge or refuse receipt of a registered letter for the citizen (extension)",
        description=(
            "Scope ebox.manage. The first answer stands and is sealed by the platform (who, when, which app); "
            "the same answer again is accepted, another one gets 409 ALREADY_ANSWERED; a message that is not "
            "registered mail gets 409 NOT_REGISTERED."
        ),
        tags=["Messages"],
        request=DECISION,
        responses={200: ANSWER, **errors(400, 401, 403, 404, 409)},
    )
    def post(self, request, message_id):
        message = self.message(message_id)
        decision = request.data.get("decision") if isinstance(request.data, dict) else None
        if decision not in acknowledgement.DECISIONS:
            return status_message(
                "INVALID_DATA",
                "invalid data supplied",
                400,
                [detail("decision", "must be acknowledged or refused")],
            )
        try:
            record = acknowledgement.answer(message, decision, channel=request.actor)
        except acknowledgement.AcknowledgementRefused as exc:
            return status_message(exc.code, str(exc), 409)
        self.log(AccessLogEntry.Action.ACKNOWLEDGED, message)
        return Response(answer_json(message, record))
