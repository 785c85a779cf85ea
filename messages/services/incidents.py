"""Integrity incidents: a failed check on a message or a reply is recorded once and raised to operators.

`IntegrityFailure` is what reading raises when content is withheld (messages.services.reading,
messages.services.replies); the sweeps of messages.integrity record through here too.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import mail_admins
from django.db import transaction
from django.utils import timezone

from messages.models import IntegrityIncident, Message, MessageEvent

logger = logging.getLogger(__name__)


class IntegrityFailure(Exception):
    """A message's ciphertext, digests or seal do not check out; its content is withheld."""


def record_incident(message: Message, detected_by: str, reason: str) -> IntegrityIncident:
    """Record a failed integrity check and raise it to operators (ERROR log, mail to ADMINS, the admin).

    The message gets `integrity_failed_at` and an `integrity_failed` event. A failure already
    recorded and not yet resolved is not recorded (nor mailed) again, so a sweep that meets
    the same damaged message every pass does not flood operators.
    """
    with transaction.atomic():
        now = timezone.now()
        Message.objects.filter(pk=message.pk, integrity_failed_at__isnull=True).update(integrity_failed_at=now)
        message.integrity_failed_at = message.integrity_failed_at or now
        existing = IntegrityIncident.objects.filter(message=message, reason=reason, resolved_at__isnull=True).first()
        if existing:
            logger.error(
                "integrity failure on message %s (%s), known incident %s: %s",
                message.pk,
                detected_by,
                existing.pk,
                reason,
            )
            return existing
        MessageEvent.objects.create(
            message=message,
            kind=MessageEvent.Kind.INTEGRITY_FAILED,
            at=now,
            actor=detected_by,
            detail={"reason": reason},
        )
        incident = IntegrityIncident.objects.create(message=message, detected_by=detected_by, reason=reason)
        transaction.on_commit(lambda: _alert_operators(incident))
    logger.error("integrity failure on message %s (%s): %s", message.pk, detected_by, reason)
    return incident


def _alert_operators(incident: IntegrityIncident) -> None:
    # fail_silently: the incident is recorded and logged whatever the SMTP server does.
    mail_admins(
        f"Integrity incident {incident.pk} on message {incident.message_id}",
        f"Detected by: {incident.detected_by}\nReason: {incident.reason}\n"
        f"Content of this message is withheld from its recipient until an operator resolves the incident "
        f"({settings.PUBLIC_URL}/admin/mailbox/integrityincident/{incident.pk}/change/).",
        fail_silently=True,
    )


def record_reply_incident(reply, detected_by: str, reason: str) -> IntegrityIncident:
    """Record a failed integrity check on a reply, as an incident on the message it answers.

    Unlike `record_incident`, the message itself is not marked failed: its own content is intact
    and stays readable by its recipient; the reply is what is withheld. Recorded once while open.
    """
    reason = f"reply {reply.id}: {reason}"[:300]
    with transaction.atomic():
        existing = IntegrityIncident.objects.filter(
            message_id=reply.message_id, reason=reason, resolved_at__isnull=True
        ).first()
        if existing:
            logger.error("integrity failure (%s), known incident %s: %s", detected_by, existing.pk, reason)
            return existing
        incident = IntegrityIncident.objects.create(message_id=reply.message_id, detected_by=detected_by, reason=reason)
        transaction.on_commit(lambda: _alert_operators(incident))
    logger.error("integrity failure on message %s (%s): %s", reply.message_id, detected_by, reason)
    return incident
