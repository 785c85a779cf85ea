"""Recovery and operators: claims a lost worker left, the beat's sending job, requeueing by hand."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from messages.models import EmailNotification
from messages.notifications.owing import dispatch_sending
from messages.notifications.sending import SendReport, send_due

logger = logging.getLogger(__name__)

Status = EmailNotification.Status


def recover_stale(now: dt.datetime | None = None) -> tuple[int, int]:
    """Claims a dead worker left: `claimed` rows go back to pending (never handed to SMTP);
    `sending` rows become `uncertain` (maybe delivered; not resent). Returns (released, uncertain)."""
    now = now or timezone.now()
    cutoff = now - settings.EBOX_NOTIFICATION_STALE_AFTER
    with transaction.atomic():
        released = EmailNotification.objects.filter(status=Status.CLAIMED, claimed_at__lt=cutoff).update(
            status=Status.PENDING, attempt_id=None, execute_after=timezone.now()
        )
        uncertain = EmailNotification.objects.filter(status=Status.SENDING, claimed_at__lt=cutoff).update(
            status=Status.UNCERTAIN,
            last_error="the worker stopped after handing this e-mail to the SMTP server: it may have been "
            "delivered; not resent, to never send it twice",
        )
    if uncertain:
        logger.error("%d notification e-mail(s) left uncertain by a lost worker", uncertain)
    return released, uncertain


def send_due_notifications() -> SendReport:
    """The beat job: recover stale claims, then send what is due (retries, deferred windows)."""
    recover_stale()
    return send_due()


def requeue(ids: Iterable[int]) -> int:
    """Operators: send failed or uncertain e-mails again (an uncertain one may then arrive twice,
    with the same Message-ID)."""
    updated = EmailNotification.objects.filter(id__in=list(ids), status__in=[Status.FAILED, Status.UNCERTAIN]).update(
        status=Status.PENDING, attempt_id=None, attempts=0, execute_after=timezone.now(), failed_at=None
    )
    if updated:
        transaction.on_commit(dispatch_sending)
    return updated
