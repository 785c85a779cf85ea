"""Sending a campaign: started or cancelled by a person, carried out chunk by chunk by a Celery task.

Each chunk is one transaction: the campaign row is locked (so two tasks for one campaign take
turns, and a cancel waits for the chunk in flight), the chunk's rows still `pending` are read
again under that lock, their letters are stored by the batch service
(`messages.services.publishing.publish_messages`, the API's `extensions/publishMessages`),
and the rows are marked `published` with their message ids, in the same commit. A worker
killed mid-chunk leaves that chunk's rows pending and nothing of its letters; the next run
(the redelivered task, or beat's `campaigns.resume_sending`) sends them once. Each row also
carries an Idempotency-Key, so the batch service itself refuses a second copy.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit import services as audit
from campaigns import documents as zips
from campaigns.models import Campaign, CampaignRow
from campaigns.services.uploading import build_row, idempotency_key, opened_files, remove_files
from campaigns.spreadsheet import read_sheet
from ebox.dispatch import send_task_on_commit
from messages.models import Message
from messages.services import publishing
from senders.publication.new_message import Context

logger = logging.getLogger(__name__)

SEND_TASK = "campaigns.send_campaign"
ACTOR = "system:campaigns"


class NotAllowed(Exception):
    """The campaign is not in a state that allows this (already sent, cancelled…)."""


def _record(actor: str, action: str, campaign: Campaign) -> None:
    audit.record(method="POST", url=f"sender-portal:{action}", status_code=200, actor=actor, ids=[str(campaign.pk)])


def start_sending(campaign: Campaign, actor: str = "operator") -> Campaign:
    """`ready` → `sending`, and the task queued after commit (`actor`: who, for the audit trail)."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status != Campaign.Status.READY:
            raise NotAllowed(locked.status)
        now = timezone.now()
        locked.status, locked.started_at, locked.progressed_at = Campaign.Status.SENDING, now, now
        locked.save(update_fields=["status", "started_at", "progressed_at"])
        _record(actor, "campaign_send", locked)
        send_task_on_commit(SEND_TASK, str(locked.pk))
    return locked


def cancel_campaign(campaign: Campaign, actor: str = "operator") -> Campaign:
    """A campaign not yet sent is cancelled: its rows still pending will never be sent.

    While sending, the chunk in flight finishes (the lock) and no further chunk starts.
    """
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status not in (Campaign.Status.VALIDATING, Campaign.Status.READY, Campaign.Status.SENDING):
            raise NotAllowed(locked.status)
        locked.status, locked.cancelled_at = Campaign.Status.CANCELLED, timezone.now()
        locked.save(update_fields=["status", "cancelled_at"])
        _record(actor, "campaign_cancel", locked)
        CampaignRow.objects.filter(campaign=locked, status=CampaignRow.Status.PENDING).update(
            status=CampaignRow.Status.CANCELLED
        )
        transaction.on_commit(lambda: remove_files(locked))
    return locked


def send_campaign(campaign_id: str | uuid.UUID) -> int:
    """Send the campaign's pending rows, chunk by chunk; return how many letters this run stored.

    Idempotent: rows already published are skipped, a cancelled or finished campaign sends nothing.
    """
    campaign = Campaign.objects.select_related("sender_application__organisation", "message_type").get(pk=campaign_id)
    if campaign.status != Campaign.Status.SENDING:
        return 0
    pending = set(
        CampaignRow.objects.filter(campaign=campaign, status=CampaignRow.Status.PENDING).values_list(
            "number", flat=True
        )
    )
    stored = 0
    if pending:
        stored = _send_rows(campaign, pending)
    _finish_if_done(campaign.pk)
    return stored


def _send_rows(campaign: Campaign, pending: set[int]) -> int:
    stored = 0
    size = settings.EBOX_CAMPAIGN_CHUNK_ROWS
    context = Context.for_application(campaign.sender_application, preload=True)
    with opened_files(campaign) as (sheet_file, documents_file):
        sheet = read_sheet(sheet_file, campaign.spreadsheet_format, settings.EBOX_CAMPAIGN_MAX_ROWS)
        documents = zips.Documents(documents_file)
        try:
            chunk: list[tuple[int, list[str]]] = []
            for number, cells in sheet.rows:
                if number in pending:
                    chunk.append((number, cells))
                if len(chunk) >= size:
                    count = _send_chunk(campaign, sheet, chunk, documents, context)
                    if count is None:
                        return stored
                    stored += count
                    chunk = []
            if chunk:
                stored += _send_chunk(campaign, sheet, chunk, documents, context) or 0
        finally:
            documents.close()
    return stored


def _send_chunk(campaign: Campaign, sheet, chunk, documents, context: Context) -> int | None:
    """Store one chunk's letters and mark its rows, in one transaction; None when the campaign stopped."""
    type_id = campaign.message_type.message_type_id
    built: dict[int, publishing.NewMessage] = {}
    failed: dict[int, str] = {}
    for number, cells in chunk:
        new, errors = build_row(sheet, number, cells, type_id, documents, context, idempotency_key(campaign.pk, number))
        if new is None:  # validated at upload; only a change since (a message type removed…) lands here
            failed[number] = "; ".join(f"{e.column}: {e.message}" for e in errors)
        else:
            built[number] = new
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status != Campaign.Status.SENDING:
            return None
        rows = {
            r.number: r
            for r in CampaignRow.objects.filter(
                campaign=campaign, number__in=[n for n, _ in chunk], status=CampaignRow.Status.PENDING
            )
        }
        numbers = [n for n in built if n in rows]
        results = publishing.publish_messages([built[n] for n in numbers]) if numbers else []
        channels = _channels_of_duplicates(results)
        for number, outcome in zip(numbers, results, strict=True):
            row = rows[number]
            row.status = CampaignRow.Status.PUBLISHED
            if isinstance(outcome, publishing.DuplicatePublication):
                row.message_id, row.channel = outcome.message_id, channels.get(outcome.message_id, "")
            else:
                row.message_id, row.channel = outcome.id, outcome.channel
        for number, error in failed.items():
            if number in rows:
                rows[number].status, rows[number].error = CampaignRow.Status.FAILED, error[:2000]
        CampaignRow.objects.bulk_update(rows.values(), ["status", "message_id", "channel", "error"])
        locked.progressed_at = timezone.now()
        locked.save(update_fields=["progressed_at"])
        message_ids = [str(rows[n].message_id) for n in numbers]
        audit.record(
            method="POST",
            url=f"/sender/campaigns/{campaign.pk}/send",
            status_code=201,
            actor=ACTOR,
            ids=[str(campaign.pk), *message_ids],
        )
    return len(numbers)


def _channels_of_duplicates(results: list) -> dict:
    ids = [r.message_id for r in results if isinstance(r, publishing.DuplicatePublication)]
    if not ids:
        return {}
    return dict(Message.objects.filter(id__in=ids).values_list("id", "channel"))


def _finish_if_done(campaign_id) -> None:
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign_id)
        if locked.status != Campaign.Status.SENDING:
            return
        if CampaignRow.objects.filter(campaign=locked, status=CampaignRow.Status.PENDING).exists():
            return
        locked.status, locked.finished_at = Campaign.Status.SENT, timezone.now()
        locked.save(update_fields=["status", "finished_at"])
        audit.record(
            method="POST", url=f"/sender/campaigns/{locked.pk}/finished", status_code=200, actor=ACTOR,
            ids=[str(locked.pk)],
        )  # fmt: skip
        transaction.on_commit(lambda: remove_files(locked))


def resume_sending(stalled_after: dt.timedelta | None = None) -> int:
    """Beat: queue again the campaigns `sending` without progress for a while (a worker died)."""
    cutoff = timezone.now() - (stalled_after if stalled_after is not None else settings.EBOX_REDISPATCH_AFTER)
    stalled = list(
        Campaign.objects.filter(status=Campaign.Status.SENDING, progressed_at__lt=cutoff).values_list("pk", flat=True)
    )
    for campaign_id in stalled:
        Campaign.objects.filter(pk=campaign_id).update(progressed_at=timezone.now())
        send_task_on_commit(SEND_TASK, str(campaign_id))
    return len(stalled)
