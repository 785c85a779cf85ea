"""Recovery and operators: claims a lost worker left (expired leases), the beat's sending job, requeueing by hand."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from messages.models import EmailNotification
from messages.notifications.owing import dispatch_sending
from messages.notifications.sending import SendReport, send_due

logger = logging.getLogger(__name__)

Status = EmailNotification.Status


def recover_stale(now: dt.datetime | None = None) -> tuple[int, int]:
    """Claims of a lost worker (lease not renewed for EBOX_NOTIFICATION_LEASE) go back to pending:
    `claimed` rows were never handed to SMTP; `sending` rows (at most one chunk per lost attempt)
    may have been delivered and are sent again with the same Message-ID, each counted in
    `resent_after_loss` (a possible duplicate). Returns (released, possible duplicates)."""
    now = now or timezone.now()
    cutoff = now - settings.EBOX_NOTIFICATION_LEASE
    with transaction.atomic():
        released = EmailNotification.objects.filter(status=Status.CLAIMED, claimed_at__lt=cutoff).update(
            status=Status.PENDING, attempt_id=None, execute_after=timezone.now()
        )
        resent = EmailNotification.objects.filter(status=Status.SENDING, claimed_at__lt=cutoff).update(
            status=Status.PENDING,
            attempt_id=None,
            execute_after=timezone.now(),
            resent_after_loss=F("resent_after_loss") + 1,
            last_error="the worker was lost while sending this e-mail: sent again with the same Message-ID "
            "(a first copy may have arrived)",
        )
    if released or resent:
        logger.warning(
            "claims of a lost worker taken back: %d e-mail(s) never handed over, %d sent again "
            "(possible duplicates, same Message-ID)",
            released,
            resent,
        )
    return released, resent


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
