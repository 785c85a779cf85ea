"""Print runs: queued letters into one folder for the print provider, atomically; the provider's
acknowledgement marks them printed.

A run locks the queued items it takes (`FOR UPDATE SKIP LOCKED`: a concurrent run takes others,
never the same), writes every file into `.tmp-<batch>` in the output folder, commits the batch
and the items' `in_batch` state, then renames the folder to `<batch>`. A crash before the commit
leaves the items queued (the next run removes the orphan temporary folder and prints them); a
crash between the commit and the rename leaves a complete temporary folder that the next run
renames. So a letter is in exactly one delivered folder, and the provider never sees a partial one.

The folder holds one PDF per letter (`<message id>.pdf`), `manifest.csv` and `manifest.json`,
and `SHA256SUMS` (sha256sum's format) over all of them.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import os
import secrets
import shutil
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from messages.models import Message, MessageEvent
from messages.services.incidents import IntegrityFailure
from paper import letters
from paper.models import PrintBatch, PrintItem
from paper.services.queueing import ACTOR
from senders.callbacks import outbox as callback_outbox

logger = logging.getLogger(__name__)

TEMP_PREFIX = ".tmp-"
MANIFEST_FIELDS = [
    "batch_id",
    "message_id",
    "file",
    "recipient_name",
    "street",
    "extra",
    "postcode",
    "city",
    "country",
    "pages",
    "sheets",
    "duplex",
    "envelope",
    "registered",
    "reason",
]


class UnknownBatch(Exception):
    """No print run has this id."""


def output_folder(out: str | Path | None = None) -> Path:
    """The folder print runs go to: `out`, else EBOX_PRINT_OUT_DIR, else `<EBOX_DATA_DIR>/print`."""
    folder = Path(out or settings.EBOX_PRINT_OUT_DIR or Path(settings.DATA_DIR) / "print")
    folder.mkdir(parents=True, exist_ok=True)
    return folder.resolve()


def _new_batch_id(now: dt.datetime) -> str:
    return f"PB-{now.astimezone(dt.UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def finish_interrupted(folder: Path) -> None:
    """Rename the complete temporary folders of committed runs; remove those of runs that never committed."""
    for batch in PrintBatch.objects.filter(status=PrintBatch.Status.WRITTEN, out_dir=str(folder)):
        if (folder / batch.id).is_dir():  # renamed, but the status update was lost
            PrintBatch.objects.filter(pk=batch.pk).update(status=PrintBatch.Status.DELIVERED)
    for temp in folder.glob(f"{TEMP_PREFIX}*"):
        batch_id = temp.name.removeprefix(TEMP_PREFIX)
        if PrintBatch.objects.filter(pk=batch_id, status=PrintBatch.Status.WRITTEN).exists():
            _deliver(PrintBatch.objects.get(pk=batch_id), folder)
        elif not PrintBatch.objects.filter(pk=batch_id).exists():
            # Its transaction rolled back (or is still running: a run's own folder is only
            # removed once no row with its id can commit, so a young one is left alone).
            if temp.stat().st_mtime < timezone.now().timestamp() - 3600:
                shutil.rmtree(temp, ignore_errors=True)


def _deliver(batch: PrintBatch, folder: Path) -> None:
    try:
        os.replace(folder / f"{TEMP_PREFIX}{batch.id}", folder / batch.id)
    except FileNotFoundError:
        if not (folder / batch.id).is_dir():
            raise
        # A concurrent run finished this interrupted one first.
    PrintBatch.objects.filter(pk=batch.pk).update(status=PrintBatch.Status.DELIVERED)
    batch.status = PrintBatch.Status.DELIVERED


def _manifests(batch_id: str, rows: list[dict]) -> tuple[bytes, bytes]:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    summary = {
        "batchId": batch_id,
        "letters": len(rows),
        "sheets": sum(r["sheets"] for r in rows),
        "duplex": letters.DUPLEX,
        "items": [
            {
                "messageId": r["message_id"],
                "file": r["file"],
                "recipient": {
                    k.removeprefix("recipient_"): r[k]
                    for k in ("recipient_name", "extra", "street", "postcode", "city", "country")
                    if r[k]
                },
                "pages": r["pages"],
                "sheets": r["sheets"],
                "envelope": r["envelope"],
                "registered": r["registered"],
                "reason": r["reason"],
            }
            for r in rows
        ],
    }
    return text.getvalue().encode(), json.dumps(summary, ensure_ascii=False, indent=2).encode()


def print_batch(out: str | Path | None = None, limit: int | None = None) -> PrintBatch | None:
    """Write one print run of the queued letters (sealed ones, oldest first); None when there is none."""
    folder = output_folder(out)
    finish_interrupted(folder)
    limit = limit or settings.EBOX_PRINT_BATCH_MAX
    now = timezone.now()
    batch_id = _new_batch_id(now)
    temp = folder / f"{TEMP_PREFIX}{batch_id}"
    try:
        with transaction.atomic():
            items = list(
                PrintItem.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=PrintItem.Status.QUEUED, message__status=Message.Status.SEALED)
                .select_related(
                    "message__content", "message__sender_organisation", "message__citizen", "message__message_type"
                )
                .order_by("queued_at", "id")[:limit]
            )
            if not items:
                return None
            temp.mkdir()
            rows, taken, sums = [], [], []
            for item in items:
                try:
                    letter = letters.build_letter(item, batch_id)
                except IntegrityFailure:
                    # An incident is recorded for operators; the letter waits, unprinted.
                    logger.error("print item of message %s withheld: integrity check failed", item.message_id)
                    continue
                name = f"{item.message_id}.pdf"
                _write(temp / name, letter.pdf)
                sums.append((hashlib.sha256(letter.pdf).hexdigest(), name))
                item.status, item.batch_id = PrintItem.Status.IN_BATCH, batch_id
                item.pages, item.sheets, item.envelope = letter.pages, letter.sheets, letter.envelope
                taken.append(item)
                address = item.address
                rows.append(
                    {
                        "batch_id": batch_id,
                        "message_id": str(item.message_id),
                        "file": name,
                        "recipient_name": address.get("name", ""),
                        "street": address.get("street", ""),
                        "extra": address.get("extra", ""),
                        "postcode": address.get("postcode", ""),
                        "city": address.get("city", ""),
                        "country": address.get("country", ""),
                        "pages": letter.pages,
                        "sheets": letter.sheets,
                        "duplex": letters.DUPLEX,
                        "envelope": letter.envelope,
                        "registered": item.message.registered_mail,
                        "reason": item.reason,
                    }
                )
            if not taken:
                shutil.rmtree(temp, ignore_errors=True)
                return None
            manifest_csv, manifest_json = _manifests(batch_id, rows)
            for name, data in (("manifest.csv", manifest_csv), ("manifest.json", manifest_json)):
                _write(temp / name, data)
                sums.append((hashlib.sha256(data).hexdigest(), name))
            _write(temp / "SHA256SUMS", "".join(f"{digest}  {name}\n" for digest, name in sums).encode())
            batch = PrintBatch.objects.create(
                id=batch_id,
                out_dir=str(folder),
                letters=len(taken),
                sheets=sum(r["sheets"] for r in rows),
                created_at=now,
            )
            PrintItem.objects.bulk_update(taken, ["status", "batch_id", "pages", "sheets", "envelope"])
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    _deliver(batch, folder)
    return batch


def acknowledge(batch_id: str, now: dt.datetime | None = None) -> int:
    """The provider printed and posted the run: its letters become `printed` (an event each). Idempotent."""
    now = now or timezone.now()
    with transaction.atomic():
        batch = PrintBatch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None:
            raise UnknownBatch(batch_id)
        items = list(batch.items.select_for_update().filter(status=PrintItem.Status.IN_BATCH))
        PrintItem.objects.filter(pk__in=[i.pk for i in items]).update(status=PrintItem.Status.PRINTED, printed_at=now)
        MessageEvent.objects.bulk_create(
            MessageEvent(
                message_id=i.message_id, kind=MessageEvent.Kind.PRINTED, at=now, actor=ACTOR, detail={"batch": batch_id}
            )
            for i in items
        )
        callback_outbox.record("printed", [i.message_id for i in items], now)
        if batch.status != PrintBatch.Status.PRINTED:
            batch.status, batch.printed_at = PrintBatch.Status.PRINTED, now
            batch.save(update_fields=["status", "printed_at"])
    return len(items)


def collect_acknowledgements(out: str | Path | None = None) -> list[str]:
    """Acknowledge each run whose `<batch>.ack` file the provider dropped in the folder; the file is
    then renamed `<batch>.ack.done`. Returns the batch ids acknowledged."""
    folder = output_folder(out)
    done = []
    for ack in sorted(folder.glob("*.ack")):
        try:
            acknowledge(ack.stem)
        except UnknownBatch:
            logger.warning("acknowledgement file %s names no print run", ack.name)
            continue
        os.replace(ack, ack.with_name(ack.name + ".done"))
        done.append(ack.stem)
    return done
