"""Celery tasks: thin wrappers over the services; arguments are ids (JSON).

Services never import this module: they queue these tasks by name (ebox.dispatch).
"""

from __future__ import annotations

from celery import shared_task

from messages.notifications import recovery, reminders
from messages.notifications.owing import dispatch_sending
from messages.notifications.sending import send_due
from messages.services import expiry, partitions, sealing


@shared_task(name="mailbox.seal_messages", acks_late=True)
def seal_messages(message_ids: list[str]) -> int:
    return sealing.seal_messages(message_ids)


@shared_task(name="mailbox.redispatch_pending")
def redispatch_pending() -> int:
    return sealing.redispatch_pending()


@shared_task(name="mailbox.sweep_integrity")
def sweep_integrity() -> int:
    from django.conf import settings

    from messages import integrity

    limit = settings.EBOX_INTEGRITY_SWEEP_LIMIT
    return integrity.sweep(limit=limit).checked + integrity.sweep_replies(limit=limit).checked


# --- Notification e-mails (messages.notifications) -------------------------------


@shared_task(name="mailbox.send_notifications", acks_late=True)
def send_notifications() -> int:
    """Send what is due; run twice, it sends nothing twice (rows are claimed in PostgreSQL)."""
    report = send_due()
    if report.more:
        dispatch_sending()
    return report.sent


@shared_task(name="mailbox.send_due_notifications")
def send_due_notifications() -> int:
    """Beat: recover claims of lost workers, then send retries and deferred windows that are due."""
    return recovery.send_due_notifications().sent


@shared_task(name="mailbox.queue_reminders")
def queue_reminders() -> dict:
    return reminders.queue_reminders()


@shared_task(name="mailbox.expire_messages")
def expire_messages() -> dict:
    """Beat: expire messages at expires_at, crypto-shred contents past retention (messages.services.expiry)."""
    return expiry.run()


@shared_task(name="mailbox.ensure_partitions", ignore_result=False)  # the count shows in flower and tests
def ensure_partitions() -> int:
    """Monthly partitions ahead and detaching after retention (messages.services.partitions)."""
    return len(partitions.ensure_partitions().created)
