"""Integrity sweeps and key rotation: the services behind `verify_integrity` and `rotate_keys`.

- `sweep(...)` checks sealed messages in id order, in batches: decrypt, recompute the
  canonical document, verify the seal, decrypt and hash every attachment blob. Its cursor
  lives in PostgreSQL (`IntegritySweep`), so a run that stops (a time limit, a restart)
  resumes where it stopped; at the end of a pass it starts again from the beginning.
  Failures are recorded as incidents by `messages.services.incidents`. `sweep_replies(...)`
  does the same for citizens' replies, with its own cursor.
- `rewrap_data_keys(...)` re-wraps every data key still under an older key-encryption key,
  in batches; rows already under the current KEK are skipped, so it is resumable.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Prefetch
from django.utils import timezone

from messages import crypto
from messages.models import Attachment, IntegritySweep, Message, MessageContent, Reply
from messages.services import incidents, reading, replies
from messages.services.expiry import SHREDDED_KEK_ID as SHREDDED

logger = logging.getLogger(__name__)

SWEEP_NAME = "messages"
REPLY_SWEEP_NAME = "replies"
# Session advisory lock so two sweeps (beat and an operator's command) never walk the same cursor.
_SWEEP_LOCK = int.from_bytes(b"eBoxSwep", "big") & 0x7FFF_FFFF_FFFF_FFFF


def check_message(message: Message, detected_by: str = "sweep") -> str | None:
    """Check one sealed message completely (text and seal, attachment names, attachment bytes and digests).

    Returns None when sound, else the reason; the failure is recorded as an incident.
    """
    try:
        reading.verified_text(message, detected_by)
        for attachment in reading.attachments_of(message):
            reading.attachment_meta(message, attachment, detected_by)
            for _chunk in reading.open_attachment(message, attachment, detected_by, check_seal=False):
                pass
    except incidents.IntegrityFailure as exc:
        return str(exc) or "integrity failure"
    return None


@dataclass
class SweepResult:
    checked: int = 0
    failed: int = 0
    passes_completed: int = 0
    busy: bool = False  # another sweep holds the lock


def _sealed_batch(after, size: int) -> list[Message]:
    query = (
        Message.objects.filter(seal__isnull=False, content__shredded_at__isnull=True)
        .select_related("content", "sender_organisation", "sender_application", "message_type", "citizen")
        .prefetch_related(Prefetch("content__attachments", queryset=Attachment.objects.order_by("position")))
        .order_by("id")
    )
    if after is not None:
        query = query.filter(id__gt=after)
    return list(query[:size])


def check_reply(reply: Reply, detected_by: str = "sweep") -> str | None:
    """Check one reply (text and seal, attachment bytes and digest); None when sound, else the reason.

    A failure is recorded as an incident on the message it answers (incidents.record_reply_incident).
    """
    try:
        if reply.attachment_blob:
            for _chunk in replies.open_reply_attachment(reply, detected_by):  # checks the text and seal first
                pass
        else:
            replies.verified_reply(reply, detected_by)
    except incidents.IntegrityFailure as exc:
        return str(exc) or "integrity failure"
    return None


def _reply_batch(after, size: int) -> list[Reply]:
    query = Reply.objects.select_related("citizen", "message", "sender_organisation").order_by("id")
    if after is not None:
        query = query.filter(id__gt=after)
    return list(query[:size])


@dataclass(frozen=True)
class _Swept:
    """What a sweep walks: its cursor's name, the rows in id order, and the check of one row."""

    name: str
    batch: Callable[[object, int], list]
    check: Callable[[object, str], str | None]
    rows: Callable[[], object]  # a queryset of every row a pass checks (for progress totals)


# Crypto-shredded contents (retention, messages.services.expiry) have nothing left to decrypt.
_MESSAGES = _Swept(
    SWEEP_NAME,
    _sealed_batch,
    check_message,
    lambda: Message.objects.filter(seal__isnull=False, content__shredded_at__isnull=True),
)
_REPLIES = _Swept(REPLY_SWEEP_NAME, _reply_batch, check_reply, lambda: Reply.objects.all())


def sweep(
    limit: int | None = None,
    batch_size: int = 200,
    full_pass: bool = False,
    progress: Callable[[SweepResult, int], None] | None = None,
) -> SweepResult:
    """Check sealed messages from the stored cursor: up to `limit`, and never past the end of a pass.

    `full_pass` only changes the progress total (what is left of the current pass).
    """
    return _sweep(_MESSAGES, limit, batch_size, full_pass, progress)


def sweep_replies(
    limit: int | None = None,
    batch_size: int = 200,
    full_pass: bool = False,
    progress: Callable[[SweepResult, int], None] | None = None,
) -> SweepResult:
    """Check citizens' replies, as `sweep` does messages (with their own cursor)."""
    return _sweep(_REPLIES, limit, batch_size, full_pass, progress)


def _sweep(swept: _Swept, limit, batch_size, full_pass, progress) -> SweepResult:
    result = SweepResult()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_SWEEP_LOCK])
        if not cursor.fetchone()[0]:
            result.busy = True
            return result
    try:
        state, _ = IntegritySweep.objects.get_or_create(name=swept.name)
        if full_pass:
            total = swept.rows().count()
            if state.position is not None:
                total -= swept.rows().filter(id__lte=state.position).count()
        else:
            total = limit or 0
        while limit is None or result.checked < limit:
            if state.position is None and state.pass_started_at is None:
                state.pass_started_at = timezone.now()
            size = batch_size if limit is None else min(batch_size, limit - result.checked)
            batch = swept.batch(state.position, size)
            for row in batch:
                if swept.check(row, "sweep") is not None:
                    result.failed += 1
                    state.failed += 1
            result.checked += len(batch)
            state.checked += len(batch)
            if len(batch) < size:  # end of the table: the pass is complete, the next starts over
                state.position = None
                state.pass_started_at = None
                state.last_pass_finished_at = timezone.now()
                logger.info(
                    "integrity sweep of %s: pass complete, %d checked, %d failed",
                    swept.name,
                    state.checked,
                    state.failed,
                )
                state.checked = state.failed = 0
                result.passes_completed += 1
            else:
                state.position = batch[-1].id
            state.save()
            if progress:
                progress(result, total)
            if result.passes_completed:  # one run never checks a row twice
                break
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_SWEEP_LOCK])
    return result


def _rewrap_batch(model, current: str, batch_size: int) -> int:
    with transaction.atomic():
        rows = list(
            model.objects.select_for_update(skip_locked=True)
            .exclude(kek_id__in=[current, SHREDDED])
            .order_by()
            .only("id", "kek_id", "wrapped_key")[:batch_size]
        )
        for row in rows:
            row.kek_id, row.wrapped_key = crypto.rewrap_key(row.kek_id, row.wrapped_key)
        model.objects.bulk_update(rows, ["kek_id", "wrapped_key"])
    return len(rows)


def rewrap_data_keys(
    batch_size: int = 1000, progress: Callable[[int, int], None] | None = None, settle_seconds: float = 1.0
) -> tuple[int, str]:
    """Re-wrap every data key not under the current KEK, until none is left; return (how many, current KEK id).

    Passes repeat until one finds nothing left under another key, counting rows written while
    the re-wrap runs (a publication that wrapped its key just before the switch commits a
    moment later) and rows another transaction held locked. After a pass that finds nothing it
    waits `settle_seconds` and looks once more, so such a late commit is not missed.
    """
    models = (MessageContent, Reply)
    done = 0
    settled = False
    while True:
        current = crypto.load_keyring().current_id
        # A crypto-shredded content (kek_id "shredded") has no data key left to re-wrap.
        remaining = sum(model.objects.exclude(kek_id__in=[current, SHREDDED]).count() for model in models)
        if remaining == 0:
            if settled or settle_seconds <= 0:
                return done, current
            time.sleep(settle_seconds)
            settled = True
            continue
        settled = False
        total = done + remaining
        for model in models:
            while count := _rewrap_batch(model, current, batch_size):
                done += count
                if progress:
                    progress(done, total)
        if done < total:
            time.sleep(0.1)  # rows locked by another transaction: let it finish
