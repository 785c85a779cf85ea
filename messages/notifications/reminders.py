"""Reminders: unread registered mail after N days, messages about to expire (unread, or with payment
data), payments due soon.

The daily job records each reminder (message × reason) once (`NotificationReminder`, unique) and
owes one reminder e-mail per citizen and day through the same outbox as new mail (`owing`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from messages.models import EmailNotification, NotificationReminder
from messages.notifications.owing import dispatch_sending, owe

_REMINDER_SQL = """
WITH candidate AS (
    SELECT m.id FROM mailbox_message m JOIN citizens_citizen c ON c.id = m.citizen_id
    WHERE m.status = 'sealed' AND m.hidden_at IS NULL
      AND c.activated_at IS NOT NULL AND c.email_verified_at IS NOT NULL AND c.email <> ''
      -- Citizens who turned reminders off get none, and none is recorded for them: turning them
      -- back on reminds them of what is still due.
      AND c.notify_reminders
      AND {condition}
      AND NOT EXISTS (SELECT 1 FROM mailbox_notificationreminder r WHERE r.message_id = m.id AND r.kind = %(kind)s)
    LIMIT %(limit)s
), recorded AS (
    INSERT INTO mailbox_notificationreminder (message_id, kind, queued_at)
    SELECT id, %(kind)s, %(now)s FROM candidate
    ON CONFLICT (message_id, kind) DO NOTHING
    RETURNING message_id
)
SELECT m.citizen_id, m.sender_organisation_id, m.registered_mail, m.id
FROM recorded JOIN mailbox_message m ON m.id = recorded.message_id
"""

_REMINDER_CONDITIONS = {
    NotificationReminder.Kind.UNREAD_REGISTERED: (
        "m.registered_mail AND m.read_at IS NULL AND m.sealed_at <= %(registered_before)s AND m.expires_at > %(now)s"
    ),
    # Before expiry: unread messages (registered letters among them) and any with payment data.
    NotificationReminder.Kind.EXPIRING: (
        "m.expires_at > %(now)s AND m.expires_at <= %(expires_before)s AND (m.read_at IS NULL OR EXISTS ("
        "SELECT 1 FROM mailbox_messagecontent mc WHERE mc.id = m.content_id AND mc.payment_ct IS NOT NULL))"
    ),
    NotificationReminder.Kind.PAYMENT_DUE: "m.payment_due_on >= %(today)s AND m.payment_due_on <= %(due_before)s",
}


def _day_windows(now: dt.datetime) -> Iterable[tuple[dt.datetime, dt.datetime]]:
    today = timezone.localdate(now)
    yield timezone.make_aware(dt.datetime.combine(today, dt.time.min)), now
    for n in range(1, 4):
        start = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=n), dt.time.min))
        yield start, start


def queue_reminders(now: dt.datetime | None = None, batch: int = 50_000) -> dict[str, int]:
    """The daily job: each reminder (message × reason) is recorded once and goes into one reminder
    e-mail per citizen and day. Returns how many messages each reason covered."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    params = {
        "now": now,
        "today": today,
        "registered_before": now - dt.timedelta(days=settings.EBOX_REMINDER_REGISTERED_AFTER_DAYS),
        "expires_before": now + dt.timedelta(days=settings.EBOX_REMINDER_EXPIRING_WITHIN_DAYS),
        "due_before": today + dt.timedelta(days=settings.EBOX_REMINDER_PAYMENT_WITHIN_DAYS),
        "limit": batch,
    }
    counts = {kind.value: 0 for kind in NotificationReminder.Kind}
    queued = False
    for kind, condition in _REMINDER_CONDITIONS.items():
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(_REMINDER_SQL.format(condition=condition), params | {"kind": kind.value})
                items = [(c, o, r, kind.value, m) for c, o, r, m in cursor.fetchall()]
                if items:
                    queued |= bool(owe(EmailNotification.Kind.REMINDER, items, _day_windows(now), now))
            counts[kind.value] += len(items)
            if len(items) < batch:
                break
    if queued:
        transaction.on_commit(dispatch_sending)
    return counts
