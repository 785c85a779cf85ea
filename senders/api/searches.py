"""The sender API's searches: `/searchMessageStatus` (an organisation's messages) and
`/eboxPreferences/search` (whether recipients read eBox, and the channel to use)."""

from __future__ import annotations

from django.conf import settings
from rest_framework.response import Response

from citizens.selectors import channel_for, reads_digitally
from messages.services import acknowledgement
from paper.selectors import print_statuses
from senders import selectors
from senders.api import docs
from senders.api.base import SenderAPIView, json_array, timestamp
from senders.api.errors import ApiError, detail
from senders.publication.fields import parse_recipient


class SearchMessageStatusView(SenderAPIView):
    required_scope = "status"

    @docs.search_message_status
    def post(self, request):
        items = json_array(request.data, "messagesStatusRequest", settings.EBOX_SEARCH_MAX_ITEMS)
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
        answers = acknowledgement.answers_for([m for m in found.values() if m.registered_mail])
        printing = print_statuses([m.pk for m in found.values()])
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
                    **(
                        {"receiptStatus": acknowledgement.receipt_status(message, answers.get(message.pk))}
                        if message.registered_mail
                        else {}
                    ),
                    # Our extension: the platform's paper service prints it (queued, in_batch, printed).
                    **({"paper": printing[message.pk]} if message.pk in printing else {}),
                }
            )
        return Response(out, status=201)


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
        values = json_array(data.get("eboxIdValueList"), "eboxIdValueList", settings.EBOX_SEARCH_MAX_ITEMS)
        errors, numbers = [], []
        for i, value in enumerate(values):
            parsed = parse_recipient({"eboxType": ebox_type, "eboxIdValue": value}, f"eboxIdValueList[{i}]", errors)
            if parsed:
                numbers.append(parsed[1])
        if errors:
            raise ApiError(400, "invalid data", [{**e, "ref": e["ref"].removesuffix(".eboxIdValue")} for e in errors])
        organisation = self.principal.organisation
        out = []
        # Persons and enterprises answer by the same rule (citizens.selectors.channel_for): digital only
        # for an activated eBox with a verified address; an enterprise unknown to eBox is paper.
        owners = selectors.citizens_by_number(numbers)
        for number in dict.fromkeys(numbers):
            owner = owners.get(number)
            out.append(
                {
                    "eboxId": {"eboxType": ebox_type.upper(), "eboxIdValue": number},
                    "exclusivelyEbox": reads_digitally(owner),
                    **(
                        {"lastConnectionDate": timestamp(owner.last_connection_at)}
                        if owner and owner.last_connection_at
                        else {}
                    ),
                    "channel": channel_for(owner, organisation),
                }
            )
        return Response(out, status=200)
