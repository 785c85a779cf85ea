"""Citizens' replies in the organisation's portal inbox: assigning, marking handled, and remembering the
letter that answered (the answer itself is sent by services.sending with originalMessageId)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from citizens.models import Citizen
from messages.models import Message, Reply
from sender_portal.models import ReplyHandling, SenderRole
from sender_portal.services import CivilServant, record

READERS = (SenderRole.Role.ADMINISTRATOR, SenderRole.Role.REPLIES)


def _handling(reply: Reply, by: CivilServant) -> ReplyHandling:
    if reply.sender_organisation_id != by.organisation.pk or not by.has(*READERS):
        raise ValidationError("not a reply to this organisation's reader")
    handling, _ = ReplyHandling.objects.select_for_update().get_or_create(reply=reply)
    return handling


@transaction.atomic
def assign(reply: Reply, colleague: Citizen | None, by: CivilServant) -> ReplyHandling:
    """Assign to a colleague who may read replies in this organisation (None: unassign)."""
    handling = _handling(reply, by)
    if (
        colleague is not None
        and not SenderRole.objects.filter(
            organisation=by.organisation, person=colleague, role__in=READERS, revoked_at__isnull=True
        ).exists()
    ):
        raise ValidationError("this colleague cannot read replies")
    handling.assigned_to = colleague
    handling.save()
    record(by, "assign_reply", [reply.pk])
    return handling


@transaction.atomic
def mark_handled(reply: Reply, handled: bool, by: CivilServant) -> ReplyHandling:
    handling = _handling(reply, by)
    handling.handled_at = timezone.now() if handled else None
    handling.save()
    record(by, "reply_handled" if handled else "reply_reopened", [reply.pk])
    return handling


@transaction.atomic
def answered(reply: Reply, answer: Message, by: CivilServant) -> ReplyHandling:
    """The letter `answer` (in the reply's thread) answers it: the reply is handled."""
    handling = _handling(reply, by)
    handling.answer = answer
    handling.handled_at = handling.handled_at or timezone.now()
    handling.save()
    record(by, "reply_answered", [reply.pk, answer.pk])
    return handling
