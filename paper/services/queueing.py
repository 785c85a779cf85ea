"""Letters into the print queue: at publication (in the publication's transaction) and, for
registered letters still unacknowledged after their type's `paper_after_days`, by beat.

A letter is queued only when its organisation has the paper service on and a postal address is
known (the sender's `paperAddress`, else the citizen record's); otherwise printing stays with the
sender, as in eBox, and the answer's `code` says `paper`.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from django.db import transaction
from django.db.models import DateTimeField, ExpressionWrapper, F, Value
from django.utils import timezone

from citizens.models import Citizen
from messages.models import Message, MessageEvent
from paper.models import PrintItem
from senders.callbacks import outbox as callback_outbox
from senders.models import Organisation

logger = logging.getLogger(__name__)

ACTOR = "paper-service"


def citizen_address(citizen: Citizen | None) -> dict | None:
    """The postal address on the citizen record, shaped like `paperAddress`; None when incomplete."""
    if citizen is None or not (citizen.street and citizen.postcode and citizen.city):
        return None
    name = citizen.name
    if not name and citizen.user_id:
        name = citizen.user.get_full_name()
    return {
        "name": name,
        "street": citizen.street,
        "postcode": citizen.postcode,
        "city": citizen.city,
        "country": (citizen.country or "BE").upper(),
    }


def for_publication(
    organisation: Organisation,
    message_id: uuid.UUID,
    channel: str,
    citizen: Citizen | None,
    given_address: dict | None,
    now: dt.datetime,
) -> PrintItem | None:
    """The print item a new message needs (unsaved), or None: digital only, no service, no address."""
    if not organisation.paper_service or channel == Message.Channel.DIGITAL:
        return None
    address = given_address or citizen_address(citizen)
    if address is None:
        return None
    reason = PrintItem.Reason.PUBLICATION if channel == Message.Channel.PAPER else PrintItem.Reason.TRANSITION
    return PrintItem(message_id=message_id, reason=reason, address=address, queued_at=now)


def queue(items: list[PrintItem]) -> None:
    """Store print items and their `print_queued` events; call inside the publication's transaction."""
    if not items:
        return
    PrintItem.objects.bulk_create(items)
    MessageEvent.objects.bulk_create(
        MessageEvent(
            message_id=item.message_id,
            kind=MessageEvent.Kind.PRINT_QUEUED,
            at=item.queued_at,
            actor=ACTOR,
            detail={"reason": item.reason},
        )
        for item in items
    )
    callback_outbox.record("print_queued", [item.message_id for item in items], items[0].queued_at)


def unacknowledged_due(now: dt.datetime | None = None):
    """Registered letters whose type asks for paper after N days, still unanswered after them, not queued yet."""
    now = now or timezone.now()
    deadline = ExpressionWrapper(
        Value(now) - F("message_type__paper_after_days") * Value(dt.timedelta(days=1)), output_field=DateTimeField()
    )
    return (
        Message.objects.filter(
            registered_mail=True,
            status=Message.Status.SEALED,
            sender_organisation__paper_service=True,
            message_type__paper_after_days__isnull=False,
            print_item__isnull=True,
            acknowledgement__isnull=True,
        )
        .filter(received_at__lte=deadline)
        .select_related("citizen__user")
    )


def queue_unacknowledged(now: dt.datetime | None = None) -> int:
    """Queue for print the registered letters left unacknowledged past their type's `paper_after_days`.

    Idempotent: one print item per message (unique), so a second run or a concurrent one adds none.
    The letter stays in the eBox too: the sender sees it digital and printed.
    """
    now = now or timezone.now()
    queued = 0
    for message in unacknowledged_due(now).iterator():
        address = citizen_address(message.citizen)
        if address is None:
            logger.info("registered letter %s unacknowledged but no postal address on record", message.pk)
            continue
        with transaction.atomic():
            item, created = PrintItem.objects.get_or_create(
                message=message,
                defaults={"reason": PrintItem.Reason.UNACKNOWLEDGED, "address": address, "queued_at": now},
            )
            if created:
                MessageEvent.objects.create(
                    message=message,
                    kind=MessageEvent.Kind.PRINT_QUEUED,
                    at=now,
                    actor=ACTOR,
                    detail={"reason": item.reason},
                )
                callback_outbox.record("print_queued", [message.pk], now)
                queued += 1
    return queued
