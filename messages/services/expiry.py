"""Expiry and retention of messages: expire at `expires_at`, crypto-shred after the retention period.

- `expire_due()` (beat, every `EBOX_EXPIRY_SECONDS`): sealed messages whose `expires_at` has
  passed become `expired`, with an `expired` event. Inbox, consultation API and evidence
  downloads by the citizen show sealed messages only, so they leave at once; the sender's
  `searchMessageStatus` says `expired`.
- `shred_due()` (same task): a content whose messages all expired more than
  `EBOX_RETENTION_DAYS_AFTER_EXPIRY` days ago is crypto-shredded: each message's seal document
  is verified one last time and kept (`RetainedSeal`: digests, no content), then the wrapped
  data key and the ciphertexts are emptied, the encrypted attachment blobs deleted from
  storage, and each message gets a `shredded` event. Seals, events, acknowledgements, evidence
  and the audit trail stay: `messages.evidence` issues evidence from the retained seal
  document, which the message's seal still verifies.

The warning e-mail before expiry is a reminder (`messages.notifications.reminders`, kind
`expiring`: unread messages and messages with payment data).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from messages import blobs as blob_store
from messages.models import Attachment, Message, MessageContent, MessageEvent, RetainedSeal
from messages.services import incidents, reading
from senders.callbacks import outbox as callback_outbox

logger = logging.getLogger(__name__)

SHREDDED_KEK_ID = "shredded"  # kek_id of a shredded content: key rotation has nothing to re-wrap

_EXPIRE_SQL = """
WITH due AS (
    SELECT id FROM mailbox_message
    WHERE status = 'sealed' AND expires_at <= %(now)s
    ORDER BY expires_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
), expired AS (
    UPDATE mailbox_message m SET status = 'expired' FROM due WHERE m.id = due.id RETURNING m.id
)
INSERT INTO mailbox_messageevent (message_id, kind, at, actor, detail)
SELECT id, 'expired', %(now)s, 'expiry', '{}'::jsonb FROM expired
RETURNING message_id
"""


def expire_due(now: dt.datetime | None = None, batch: int = 5000) -> int:
    """Expire every sealed message whose expiration time has passed; returns how many."""
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_EXPIRE_SQL, {"now": now, "limit": batch})
            expired = [row[0] for row in cursor.fetchall()]
            callback_outbox.record("expired", expired, now)
            count = len(expired)
        total += count
        if count < batch:
            return total


def shreddable_contents(now: dt.datetime | None = None):
    """Contents not yet shredded whose messages have all been expired for longer than the retention period."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.EBOX_RETENTION_DAYS_AFTER_EXPIRY)
    live = Message.objects.filter(content=OuterRef("pk")).exclude(status=Message.Status.EXPIRED)
    return (
        MessageContent.objects.filter(shredded_at__isnull=True)
        .annotate(last_expiry=Max("messages__expires_at"), has_live=Exists(live))
        .filter(has_live=False, last_expiry__lte=cutoff)
    )


def shred_content(content: MessageContent, now: dt.datetime | None = None) -> bool:
    """Crypto-shred one content (see the module docstring); False if a message failed its last check."""
    now = now or timezone.now()
    messages = list(
        Message.objects.filter(content=content).select_related("content", "sender_organisation", "sender_application")
    )
    documents = []
    for message in messages:
        if not message.seal:
            continue  # never sealed (should not happen for an expired message): nothing to keep
        try:
            document = reading.verified_seal(message, detected_by="retention")[1]
        except incidents.IntegrityFailure:
            logger.error("retention: message %s failed its last integrity check; its content is kept", message.pk)
            return False
        documents.append(RetainedSeal(message=message, document=document, shredded_at=now))
    blobs = list(Attachment.objects.filter(content=content).values_list("blob", flat=True))
    with transaction.atomic():
        locked = MessageContent.objects.select_for_update().filter(pk=content.pk, shredded_at__isnull=True).first()
        if locked is None:
            return True  # another run shredded it
        RetainedSeal.objects.bulk_create(documents, ignore_conflicts=True)
        MessageContent.objects.filter(pk=content.pk).update(
            kek_id=SHREDDED_KEK_ID,
            wrapped_key=b"",
            subject_ct=b"",
            body_ct=None,
            payment_ct=None,
            business_ct=None,
            shredded_at=now,
        )
        Attachment.objects.filter(content=content).update(meta_ct=b"", blob="")
        MessageEvent.objects.bulk_create(
            [MessageEvent(message=m, kind=MessageEvent.Kind.SHREDDED, at=now, actor="retention") for m in messages]
        )
        callback_outbox.record("shredded", [m.pk for m in messages], now)
        # The key is gone with the commit; database blobs go with it, stored ones after it.
        blob_store.shred(blobs)
    return True


def shred_due(now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Shred up to `limit` contents past retention; returns how many were shredded."""
    done = 0
    for content in shreddable_contents(now)[:limit]:
        done += shred_content(content, now)
    return done


def run(now: dt.datetime | None = None) -> dict[str, int]:
    """What beat runs: expire, then shred."""
    now = now or timezone.now()
    return {"expired": expire_due(now), "shredded": shred_due(now)}
