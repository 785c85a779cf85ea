"""What citizens are owed: the notification e-mails (`EmailNotification` rows) recorded per citizen and window.

The record lives in PostgreSQL, written in the transaction that makes messages available
(`new_mail_parameters`, for the statement `messages.services.sealing.seal_messages` runs) or
queues reminders (messages.notifications.reminders); Redis only carries "there is work":
`dispatch_sending` asks a worker to send (messages.notifications.sending) after commit.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import connection

from ebox.dispatch import CoalescingDispatcher, send_task
from messages.models import EmailNotification

logger = logging.getLogger(__name__)


# SQL is written with literal table names (mailbox_emailnotification, citizens_citizen,
# mailbox_message, mailbox_notificationreminder): no query text is ever built from values.
Kind = EmailNotification.Kind

# (citizen id, organisation id, registered mail?, reminder reason or None, message id): one per message.
Item = tuple[int, int, bool, str | None, uuid.UUID]


# The upsert, over a CTE named `item` of (citizen_id, organisation_id, registered, reason,
# message_id) rows: `owing_statement` puts it after the caller's CTE. Parameters: kind, window,
# execute_after, now. It returns the items seen, the rows touched, and the citizens whose
# window was already claimed (`owe` retries those in the next window).
_OWE_UPSERT = """
per_citizen AS (
    SELECT i.citizen_id,
           count(*) AS message_count,
           count(*) FILTER (WHERE i.registered) AS registered_count,
           array_agg(DISTINCT i.organisation_id ORDER BY i.organisation_id) AS organisation_ids,
           array_agg(i.message_id) AS message_ids,
           count(*) FILTER (WHERE i.reason = 'registered') AS unread_registered_count,
           count(*) FILTER (WHERE i.reason = 'expiring') AS expiring_count,
           count(*) FILTER (WHERE i.reason = 'payment') AS payment_due_count
    FROM item i JOIN citizens_citizen c ON c.id = i.citizen_id
    WHERE c.activated_at IS NOT NULL AND c.email_verified_at IS NOT NULL AND c.email <> ''
      -- The citizen's own choice (settings page): new-mail e-mails, reminders, or neither.
      AND CASE WHEN %(kind)s = 'new_mail' THEN c.notify_new_messages ELSE c.notify_reminders END
    GROUP BY i.citizen_id
), upserted AS (
    INSERT INTO mailbox_emailnotification AS n (citizen_id, kind, window_start, status, message_count, registered_count,
        organisation_ids, message_ids, unread_registered_count, expiring_count, payment_due_count, execute_after, attempts,
        to_address, last_error, created_at)
    -- Ordered by citizen so that two concurrent sealers lock rows in the same order (no deadlock).
    SELECT citizen_id, %(kind)s, %(window)s, 'pending', message_count, registered_count, organisation_ids,
           message_ids, unread_registered_count, expiring_count, payment_due_count, %(execute_after)s, 0, '', '', %(now)s
    FROM per_citizen ORDER BY citizen_id
    ON CONFLICT (citizen_id, kind, window_start) DO UPDATE SET
        message_count = n.message_count + EXCLUDED.message_count,
        registered_count = n.registered_count + EXCLUDED.registered_count,
        organisation_ids = ARRAY(SELECT DISTINCT o FROM unnest(n.organisation_ids || EXCLUDED.organisation_ids) AS o
                                 ORDER BY o),
        message_ids = n.message_ids || EXCLUDED.message_ids,
        unread_registered_count = n.unread_registered_count + EXCLUDED.unread_registered_count,
        expiring_count = n.expiring_count + EXCLUDED.expiring_count,
        payment_due_count = n.payment_due_count + EXCLUDED.payment_due_count
    -- A window whose e-mail is already on its way takes nothing more: that goes to the next window.
    WHERE n.status = 'pending'
    RETURNING n.citizen_id
)"""
_OWE_RESULT = """
SELECT (SELECT count(*) FROM item), (SELECT count(*) FROM upserted),
       ARRAY(SELECT citizen_id FROM per_citizen WHERE citizen_id NOT IN (SELECT citizen_id FROM upserted))"""


def owing_statement(items: str, also: str = "", also_result: str = "") -> str:
    """The owe upsert taking its items from `items`, a CTE body (a SELECT, or a data-modifying
    statement with RETURNING) yielding citizen_id, organisation_id, registered, reason and
    message_id: so that sealing makes messages available and records the e-mails owed in
    one statement. `also`: more CTEs over `item` (the sealing's callbacks), whose result
    `also_result` adds as further columns."""
    if also:
        return f"WITH item AS ({items}),{_OWE_UPSERT}, {also}{_OWE_RESULT}, {also_result}"
    return f"WITH item AS ({items}),{_OWE_UPSERT}{_OWE_RESULT}"


_OWE_SQL = owing_statement(
    """SELECT * FROM unnest(%(citizens)s::bigint[], %(organisations)s::bigint[], %(registered)s::boolean[],
                         %(reasons)s::text[], %(messages)s::uuid[])
                  AS t(citizen_id, organisation_id, registered, reason, message_id)"""
)


def window_start(at: dt.datetime, length: dt.timedelta | None = None) -> dt.datetime:
    """The start of the digest window holding `at` (windows are aligned on the epoch)."""
    seconds = max(1, int((length or settings.EBOX_NOTIFICATION_WINDOW).total_seconds()))
    stamp = int(at.timestamp())
    return dt.datetime.fromtimestamp(stamp - stamp % seconds, tz=dt.UTC)


def owe(kind: str, items: Sequence[Item], windows: Iterable[tuple[dt.datetime, dt.datetime]], now: dt.datetime) -> int:
    """Upsert one row per eligible citizen into the first window still pending; returns rows touched.

    `windows` yields (window start, execute after): the current window first, then the next ones
    for citizens whose current window e-mail has already been claimed.
    """
    touched = 0
    with connection.cursor() as cursor:
        for window, execute_after in windows:
            if not items:
                break
            cursor.execute(
                _OWE_SQL,
                {
                    "citizens": [i[0] for i in items],
                    "organisations": [i[1] for i in items],
                    "registered": [i[2] for i in items],
                    "reasons": [i[3] for i in items],
                    "messages": [i[4] for i in items],
                    "kind": kind,
                    "window": window,
                    "execute_after": execute_after,
                    "now": now,
                },
            )
            _seen, count, deferred = cursor.fetchone()
            touched += count
            deferred = set(deferred)
            items = [i for i in items if i[0] in deferred]
    return touched


def _new_mail_windows(now: dt.datetime) -> Iterable[tuple[dt.datetime, dt.datetime]]:
    length = settings.EBOX_NOTIFICATION_WINDOW
    start = window_start(now, length)
    yield start, now
    for n in range(1, 4):
        yield start + n * length, start + n * length


def new_mail_parameters(now: dt.datetime) -> dict:
    """The parameters of an `owing_statement` that owes new-mail e-mails in the current window.

    `messages.services.sealing.seal_messages` runs it over the messages it seals, in the same
    statement: only activated citizens with a verified address who want new-mail e-mails
    are owed anything. The caller dispatches sending after commit if rows were touched, and
    passes citizens whose window was already claimed to `owe_new_mail_later`.
    """
    window, execute_after = next(iter(_new_mail_windows(now)))
    return {"kind": Kind.NEW_MAIL, "window": window, "execute_after": execute_after, "now": now}


_SEALED_FOR = """
    SELECT citizen_id, sender_organisation_id, registered_mail, NULL, id FROM mailbox_message
    WHERE id = ANY(%s::uuid[]) AND citizen_id = ANY(%s::bigint[]) AND sealed_at = %s
"""


def owe_new_mail_later(message_ids: Sequence, citizen_ids: Iterable[int], sealed_at: dt.datetime) -> int:
    """Owe, in the next windows, the e-mails of citizens whose current window's e-mail was
    already on its way when these messages were sealed (at `sealed_at`, in this transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(_SEALED_FOR, [list(message_ids), list(citizen_ids), sealed_at])
        items = cursor.fetchall()
    return owe(Kind.NEW_MAIL, items, list(_new_mail_windows(sealed_at))[1:], sealed_at)


def dispatch_sending() -> None:
    """Ask a worker to send what is due (called after commit).

    With EBOX_NOTIFICATION_DISPATCH_SECONDS > 0 a process's requests are coalesced
    (ebox.dispatch): a worker sealing a campaign asks once per interval, not once per batch.
    If the broker is down, beat's send_due_notifications finds the rows in PostgreSQL.
    """
    if settings.EBOX_NOTIFICATION_DISPATCH_SECONDS > 0 and not settings.CELERY_TASK_ALWAYS_EAGER:
        _sending.add([None])
    else:
        _request_sending()


def _request_sending(_requests: list | None = None) -> None:
    try:
        send_task("mailbox.send_notifications")
    except Exception:  # noqa: BLE001 - kombu raises many kinds; PostgreSQL keeps the work
        logger.warning("broker unavailable: notification e-mails will be sent by the beat job")


_sending = CoalescingDispatcher(
    "notification-dispatch", _request_sending, lambda: settings.EBOX_NOTIFICATION_DISPATCH_SECONDS
)
