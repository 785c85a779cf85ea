"""Checking a campaign's rows off the request: the `campaigns.validate_campaign` task's work.

The upload (campaigns.services.uploading) keeps the files and the campaign `validating`. This
service reads the files back, checks the ZIP, then every row with the API's validator
(`uploading.build_row`), EBOX_CAMPAIGN_CHECK_CHUNK_ROWS rows at a time. Each chunk is one transaction, with
the campaign row locked: its rows (`CampaignRow`, pending), its problems and `validated_rows`
are stored together, so a worker killed mid-check loses at most one chunk, and the next run
(the redelivered task, or beat's `campaigns.resume_validating`) goes on after the last chunk
stored. At the end the campaign is `ready` (every row valid) or `invalid` (its problems kept
for the page, its files and rows deleted: the person uploads a fixed file as a new campaign).
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit import services as audit
from campaigns import documents as zips
from campaigns.models import Campaign, CampaignRow
from campaigns.services.uploading import (
    MAX_ERRORS_SHOWN,
    VALIDATE_TASK,
    CellError,
    _young_collections_only,
    build_row,
    opened_files,
    remove_files,
)
from campaigns.spreadsheet import SheetError, read_sheet
from ebox.dispatch import send_task_on_commit
from ebox.i18n import Text
from senders.publication.new_message import Context

ACTOR = "system:campaigns"


def validate_campaign(campaign_id: str | uuid.UUID) -> str:
    """Check the campaign's rows not checked yet; return its status after (idempotent).

    A campaign no longer `validating` (done, cancelled) is left as it is.
    """
    campaign = Campaign.objects.select_related("sender_application__organisation", "message_type").get(pk=campaign_id)
    if campaign.status != Campaign.Status.VALIDATING:
        return campaign.status
    try:
        with opened_files(campaign) as (sheet_file, documents_file):
            if documents_file is not None:
                zips.check_zip(documents_file)
            if not campaign.row_count:
                total = sum(1 for _row in read_sheet(sheet_file, campaign.spreadsheet_format, _max_rows()).rows)
                if not total:
                    return _refuse(campaign.pk, Text("The spreadsheet has no rows of letters under its first row."))
                Campaign.objects.filter(pk=campaign.pk).update(row_count=total, progressed_at=timezone.now())
            if not _check_rows(campaign, sheet_file, documents_file):
                return Campaign.objects.values_list("status", flat=True).get(pk=campaign.pk)
    except zips.ZipRefused as exc:
        return _refuse(campaign.pk, exc.args[0])  # a Text: shown in the reader's language
    except SheetError as exc:
        return _refuse(campaign.pk, str(exc))
    return _finish(campaign.pk)


def _max_rows() -> int:
    return settings.EBOX_CAMPAIGN_MAX_ROWS


def _check_rows(campaign: Campaign, sheet_file, documents_file) -> bool:
    """Check the rows after `validated_rows`, chunk by chunk; False if another run overtook this one."""
    sheet = read_sheet(sheet_file, campaign.spreadsheet_format, _max_rows())
    documents = zips.Documents(documents_file)
    context = Context.for_application(campaign.sender_application, preload=True)
    type_id = campaign.message_type.message_type_id
    done = campaign.validated_rows
    rows = itertools.islice(sheet.rows, done, None)
    try:
        while True:
            chunk = list(itertools.islice(rows, settings.EBOX_CAMPAIGN_CHECK_CHUNK_ROWS))
            if not chunk:
                return True
            checked: list[CampaignRow] = []
            errors: list[CellError] = []
            for number, cells in _young_collections_only(chunk):
                new, row_errors = build_row(sheet, number, cells, type_id, documents, context)
                errors.extend(row_errors)
                recipient = ""
                if new is not None:
                    recipient = new.recipient_id
                    for upload in new.attachments:
                        upload.file.close()
                checked.append(CampaignRow(campaign_id=campaign.pk, number=number, recipient_id=recipient))
            if not _store_chunk(campaign.pk, done, checked, errors):
                return False
            done += len(chunk)
    finally:
        documents.close()


def _store_chunk(campaign_id, done: int, rows: list[CampaignRow], errors: list[CellError]) -> bool:
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign_id)
        if locked.status != Campaign.Status.VALIDATING or locked.validated_rows != done:
            return False  # cancelled, or another run stored this chunk first
        CampaignRow.objects.bulk_create(rows, batch_size=5000)
        room = MAX_ERRORS_SHOWN - len(locked.errors)
        locked.errors = locked.errors + [e.as_dict() for e in errors[: max(room, 0)]]
        locked.error_count += len(errors)
        locked.validated_rows = done + len(rows)
        locked.progressed_at = timezone.now()
        locked.save(update_fields=["errors", "error_count", "validated_rows", "progressed_at"])
    return True


def _finish(campaign_id) -> str:
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign_id)
        if locked.status != Campaign.Status.VALIDATING:
            return locked.status
        if locked.error_count:
            _mark_invalid(locked)
        else:
            locked.status, locked.row_count = Campaign.Status.READY, locked.validated_rows
            locked.save(update_fields=["status", "row_count"])
            _record("campaign_ready", locked)
    return locked.status


def _refuse(campaign_id, message: str) -> str:
    """The files cannot be used at all (a bad ZIP, an unreadable spreadsheet): `invalid`, with why."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign_id)
        if locked.status != Campaign.Status.VALIDATING:
            return locked.status
        locked.refusal = str(message)[:2000]
        template, params = (message.template, message.params) if isinstance(message, Text) else ("", {})
        if template:
            locked.errors = [CellError(0, "", "", str(message), template, params).as_dict()]
        _mark_invalid(locked)
    return locked.status


def _mark_invalid(locked: Campaign) -> None:
    locked.status, locked.finished_at = Campaign.Status.INVALID, timezone.now()
    locked.save(update_fields=["status", "finished_at", "refusal", "errors"])
    CampaignRow.objects.filter(campaign=locked).delete()
    _record("campaign_invalid", locked)
    transaction.on_commit(lambda: remove_files(locked))


def _record(action: str, campaign: Campaign) -> None:
    audit.record(method="POST", url=f"sender-portal:{action}", status_code=200, actor=ACTOR, ids=[str(campaign.pk)])


def resume_validating(stalled_after: dt.timedelta | None = None) -> int:
    """Beat: queue again the campaigns `validating` without progress for a while (a worker died)."""
    cutoff = timezone.now() - (stalled_after if stalled_after is not None else settings.EBOX_REDISPATCH_AFTER)
    stalled = list(
        Campaign.objects.filter(status=Campaign.Status.VALIDATING, progressed_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )
    for campaign_id in stalled:
        Campaign.objects.filter(pk=campaign_id).update(progressed_at=timezone.now())
        send_task_on_commit(VALIDATE_TASK, str(campaign_id))
    return len(stalled)
