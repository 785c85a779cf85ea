"""The callback outbox: one `CallbackDelivery` row per status change a sender application cares about.

Every service that changes what a sender sees calls `record` (or, on the bulk paths that write
with one SQL statement, puts `callback_ctes` in that statement), in the transaction of the
change: a change that commits has its callback row, one that rolls back has none. Only
applications with a callback URL get rows; `any_callbacks` is the one cheap check that lets the
bulk paths skip the work entirely when no application has one. Sequence numbers per message come
from an upsert on `CallbackSequence`, which serialises concurrent changes of one message.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence

from django.db import connection, transaction

from ebox.dispatch import send_task
from senders.models import SenderApplication

logger = logging.getLogger(__name__)

# The events a sender is told about, and the message status each leaves (the payload's `status`).
# Adding a kind is one line here and one `record(...)` call where the change is made.
EVENT_STATUS: dict[str, str] = {
    "sealed": "sealed",
    "notified": "sealed",
    "read": "sealed",
    "acknowledged": "sealed",
    "refused": "sealed",
    "print_queued": "sealed",
    "printed": "sealed",
    "expired": "expired",
    "shredded": "expired",
}

# SQL is written with literal table names (senders_senderapplication, senders_callbacksequence,
# senders_callbackdelivery, mailbox_message): no query text is ever built from values.


def callback_ctes(source: str) -> str:
    """CTEs (without the leading WITH or a trailing comma) that owe one callback per message of
    `source`, a SELECT yielding message_id and sender_application_id (it may name earlier CTEs of
    the statement). Parameters: callback_event, callback_status, callback_at (`parameters`).
    The last CTE, `callback_row`, returns the ids of the rows written."""
    return f"""
callback_target AS (
    SELECT DISTINCT s.message_id, s.sender_application_id
    FROM ({source}) AS s
    JOIN senders_senderapplication a ON a.id = s.sender_application_id
    WHERE a.callback_url <> ''
), callback_number AS (
    -- Ordered, so that two concurrent writers lock the counters in the same order (no deadlock).
    INSERT INTO senders_callbacksequence AS q (message_id, last_sequence)
    SELECT message_id, 1 FROM callback_target ORDER BY message_id
    ON CONFLICT (message_id) DO UPDATE SET last_sequence = q.last_sequence + 1
    RETURNING q.message_id, q.last_sequence
), callback_row AS (
    INSERT INTO senders_callbackdelivery (message_id, sender_application_id, sequence, event, status, at,
        delivery_id, state, attempts, next_attempt_at, last_error, created_at)
    SELECT n.message_id, t.sender_application_id, n.last_sequence, %(callback_event)s, %(callback_status)s,
           %(callback_at)s, gen_random_uuid(), 'pending', 0, now(), '', now()
    FROM callback_number n JOIN callback_target t ON t.message_id = n.message_id
    RETURNING id
)"""  # noqa: S608 - `source` is SQL text from our own modules, values are parameters


def parameters(event: str, at: dt.datetime) -> dict:
    """The parameters of `callback_ctes` for one kind of event (KeyError for an unknown kind)."""
    return {"callback_event": event, "callback_status": EVENT_STATUS[event], "callback_at": at}


def any_callbacks() -> bool:
    """Whether any application has a callback URL: one indexed-size query on a small table."""
    return SenderApplication.objects.exclude(callback_url="").exists()


def statement(head: str, source: str, tail: str) -> str:
    """`head` (a WITH and its CTEs, ending in a comma), the `callback_ctes` over `source`, then `tail`."""
    return f"{head}{callback_ctes(source)}{tail}"


_RECORD_SQL = statement(
    "WITH ",
    "SELECT m.id AS message_id, m.sender_application_id FROM mailbox_message m WHERE m.id = ANY(%(callback_ids)s::uuid[])",
    " SELECT count(*) FROM callback_row",
)


def record(event: str, message_ids: Sequence[uuid.UUID | str], at: dt.datetime) -> int:
    """Owe a callback for `event` of each of these messages whose application has a callback URL,
    in the caller's transaction, and ask a worker to deliver after commit. Returns rows written."""
    if event not in EVENT_STATUS:
        raise ValueError(f"unknown callback event {event!r}")
    ids = [str(i) for i in message_ids]
    if not ids or not any_callbacks():
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_RECORD_SQL, {"callback_ids": ids, **parameters(event, at)})
        written = cursor.fetchone()[0]
    if written:
        transaction.on_commit(dispatch_delivery)
    return written


def dispatch_delivery() -> None:
    """Ask a worker to deliver what is due (after commit). If the broker is down, beat's
    `senders.deliver_due_callbacks` finds the rows in PostgreSQL."""
    try:
        send_task("senders.deliver_callbacks")
    except Exception:  # noqa: BLE001 - kombu raises many kinds; PostgreSQL keeps the work
        logger.warning("broker unavailable: callbacks will be delivered by the beat job")
