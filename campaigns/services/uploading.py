"""Uploading a campaign: the files kept (encrypted) at once, the rows checked later by a task.

The request only checks what is quick (the spreadsheet's format and first row), stores both
files encrypted in the attachment storage (one data key, wrapped by the KEK) and the campaign
`validating`, and queues `campaigns.validate_campaign` (campaigns.services.validating), which
turns each row into the API's `messageToPublish` (campaigns.rows) and runs it through
`senders.publication.build_new_message`, the API's own validator, with the organisation's
message types preloaded (no query per row). Nothing is sent before every row checks out: the
person fixes the file and uploads it again.
"""

from __future__ import annotations

import contextlib
import gc
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from uuid6 import uuid7

from audit import services as audit
from campaigns import documents as zips
from campaigns import rows as row_format
from campaigns.models import Campaign
from campaigns.spreadsheet import Sheet, SheetError, read_sheet, sheet_format
from citizens.models import Citizen
from ebox.dispatch import send_task_on_commit
from ebox.i18n import Text, translated_text
from messages import blobs, crypto
from senders.models import MessageType, SenderApplication
from senders.publication.fields import PublicationError
from senders.publication.new_message import Context, build_new_message

MAX_ERRORS_SHOWN = 1000


class CampaignRefused(Exception):
    """A file cannot be used at all (not a spreadsheet, a bad ZIP): a form error, nothing stored.

    `field`: which upload it is about, "spreadsheet" or "documents"."""

    def __init__(self, message: str, field: str = "spreadsheet") -> None:
        super().__init__(message)
        self.field = field


@dataclass
class CellError:
    row: int
    column: str  # the column's name in the header ("" when the spreadsheet has no such column)
    letter: str  # its letter (C), "" when absent
    message: str  # in English (ebox.i18n.Text) or already translated
    template: str = ""  # the message's msgid and placeholders, to show it in the reader's language
    params: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The message in the active language."""
        return translated_text(self.template, self.params) if self.template else self.message

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "letter": self.letter, "message": self.message,
                "template": self.template, "params": self.params}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict) -> CellError:
        return cls(**data)


@dataclass
class Validation:
    """Every row checked: the errors (the first MAX_ERRORS_SHOWN), how many in all, the rows' recipients."""

    errors: list[CellError] = field(default_factory=list)
    error_count: int = 0
    rows: list[tuple[int, str]] = field(default_factory=list)  # (row number, recipient id)

    @property
    def ok(self) -> bool:
        return self.error_count == 0 and bool(self.rows)

    def add(self, error: CellError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_SHOWN:
            self.errors.append(error)


class CampaignInvalid(Exception):
    def __init__(self, validation: Validation) -> None:
        super().__init__(f"{validation.error_count} errors")
        self.validation = validation


def _cell_error(columns: list[str], number: int, candidates: list[str], message: str) -> CellError:
    column = next((c for c in candidates if c in columns), candidates[0] if candidates else "")
    letter = row_format.column_letter(columns.index(column)) if column in columns else ""
    if isinstance(message, Text):
        return CellError(number, column, letter, str(message), message.template, message.params)
    return CellError(number, column, letter, str(message))


def idempotency_key(campaign_id: uuid.UUID, number: int) -> str:
    """The row's Idempotency-Key: the batch service stores it once, however often a chunk is retried."""
    return f"campaign:{campaign_id}:{number}"


def build_row(sheet: Sheet, number: int, cells: list[str], message_type_id: str, documents, context: Context, key=None):
    """(NewMessage or None, the row's CellErrors): the row through the API's validator."""
    built = row_format.row_message(sheet.columns, cells, message_type_id, documents)
    errors = [_cell_error(sheet.columns, number, [column], message) for column, message in built.errors]
    new = None
    try:
        new = build_new_message(built.data, built.parts, context, idempotency_key=key)
    except PublicationError as exc:
        flagged = {e.column for e in errors}  # one error per cell: a missing PDF is not also "no main content"
        for item in exc.details:
            error = _cell_error(
                sheet.columns, number, row_format.columns_of(item["ref"], sheet.columns), item["message"]
            )
            if error.column not in flagged:
                errors.append(error)
    if errors:
        new = None
    return new, errors


def _young_collections_only(rows: Iterator) -> Iterator:
    """Iterate with Python's full garbage collections held back (young ones every 1,000 rows).

    Profiled: full collections, each scanning the whole (growing) heap, halved the rate of a
    20,000-row check; a row leaves only short-lived garbage, which the young collections free.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        for count, row in enumerate(rows):
            if count % 1000 == 999:
                gc.collect(1)
            yield row
    finally:
        if enabled:
            gc.enable()


def validate(sheet: Sheet, documents, context: Context, message_type_id: str) -> Validation:
    """Check every row of `sheet` (an iterator: read once) with the API's validator."""
    validation = Validation()
    problem = row_format.check_columns(sheet.columns)
    if problem:
        raise CampaignRefused(problem)
    try:
        for number, cells in _young_collections_only(sheet.rows):
            new, errors = build_row(sheet, number, cells, message_type_id, documents, context)
            for error in errors:
                validation.add(error)
            if new is not None:
                validation.rows.append((number, new.recipient_id))
                for upload in new.attachments:
                    upload.file.close()
            else:
                validation.rows.append((number, ""))
    except SheetError as exc:
        raise CampaignRefused(str(exc)) from None
    if not validation.rows:
        raise CampaignRefused(_("The spreadsheet has no rows of letters under its first row."))
    return validation


VALIDATE_TASK = "campaigns.validate_campaign"


def upload_campaign(
    *,
    sender_application: SenderApplication,
    message_type: MessageType,
    name: str,
    spreadsheet: BinaryIO,
    spreadsheet_name: str,
    documents: BinaryIO | None,
    created_by: Citizen | None = None,
    actor: str = "operator",
) -> Campaign:
    """Keep the files and the campaign `validating`, and queue its check (CampaignRefused if unusable).

    Only the quick checks here (the format, the first row's columns, the number of rows): the
    rows and the ZIP are checked by `campaigns.validate_campaign`, off the request. `actor`: who
    uploads, as the audit trail names them (the portal: the civil servant and role).
    """
    file_format = sheet_format(spreadsheet_name)
    if file_format is None:
        raise CampaignRefused(_("The spreadsheet must be a .csv or .xlsx file."))
    try:
        sheet = read_sheet(spreadsheet, file_format, settings.EBOX_CAMPAIGN_MAX_ROWS)
        problem = row_format.check_columns(sheet.columns)
        if problem:
            raise CampaignRefused(problem)
        # Split only, not checked (bench/campaign_validation.py: ~0.4 s for 100,000 rows): the page
        # can say "N of M" from the start, and a file over the row limit is a form error at once.
        row_count = sum(1 for _row in sheet.rows)
    except SheetError as exc:
        raise CampaignRefused(str(exc)) from None
    if not row_count:
        raise CampaignRefused(_("The spreadsheet has no rows of letters under its first row."))
    return _store(sender_application, message_type, name, spreadsheet, spreadsheet_name, file_format, documents,
                  created_by, actor, row_count)  # fmt: skip


def _store(application, message_type, name, spreadsheet, spreadsheet_name, file_format, documents, created_by,
           actor: str, row_count: int) -> Campaign:  # fmt: skip
    campaign_id = uuid7()
    data_key = crypto.new_data_key()
    kek_id, wrapped = crypto.wrap_key(data_key)
    written: list[str] = []
    try:
        sheet_blob = _write(data_key, campaign_id, "spreadsheet", spreadsheet, written)
        documents_blob = _write(data_key, campaign_id, "documents", documents, written) if documents else ""
        with transaction.atomic():
            campaign = Campaign.objects.create(
                id=campaign_id,
                organisation_id=application.organisation_id,
                sender_application=application,
                message_type=message_type,
                name=name[:200] or spreadsheet_name[:200],
                created_by=created_by,
                status=Campaign.Status.VALIDATING,
                row_count=row_count,
                progressed_at=timezone.now(),
                spreadsheet_name=spreadsheet_name[:200],
                spreadsheet_format=file_format,
                kek_id=kek_id,
                wrapped_key=wrapped,
                spreadsheet_blob=sheet_blob,
                documents_blob=documents_blob,
            )
            audit.record(method="POST", url="sender-portal:campaign_upload", status_code=201, actor=actor,
                         ids=[str(campaign.pk)])  # fmt: skip
            send_task_on_commit(VALIDATE_TASK, str(campaign.pk))
    except BaseException:
        for blob in written:
            with contextlib.suppress(Exception):
                blobs.delete(blob)
        raise
    return campaign


def _write(data_key: bytes, campaign_id: uuid.UUID, field_name: str, source: BinaryIO, written: list[str]) -> str:
    source.seek(0)
    _result, name, _row = blobs.write_encrypted(
        f"campaigns/{campaign_id}-{field_name}.bin",
        lambda target: crypto.encrypt_stream(data_key, campaign_id, field_name, source, target),
    )
    written.append(name)
    return name


@contextlib.contextmanager
def opened_files(campaign: Campaign) -> Iterator[tuple[BinaryIO, BinaryIO | None]]:
    """The campaign's spreadsheet and ZIP, decrypted into temporary files (deleted after)."""
    data_key = crypto.unwrap_key(campaign.kek_id, bytes(campaign.wrapped_key))
    with contextlib.ExitStack() as stack:
        files = []
        for field_name, blob in (("spreadsheet", campaign.spreadsheet_blob), ("documents", campaign.documents_blob)):
            if not blob:
                files.append(None)
                continue
            target = stack.enter_context(zips.spooled())
            with blobs.open_encrypted(blob) as source:
                for chunk in crypto.decrypt_stream(data_key, campaign.id, field_name, source):
                    target.write(chunk)
            target.seek(0)
            files.append(target)
        yield files[0], files[1]


def remove_files(campaign: Campaign) -> None:
    """Delete the kept files (after sending or cancelling: the letters hold their own copies)."""
    for blob in (campaign.spreadsheet_blob, campaign.documents_blob):
        if blob:
            with contextlib.suppress(Exception):
                blobs.delete(blob)
