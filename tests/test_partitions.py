"""Issue 19, item 2: messages and the tables that grow with them are range-partitioned by month.

Real PostgreSQL: the catalog says the tables are partitioned, rows land in their month,
`EXPLAIN` shows the partitions the queries that matter touch, beat's task creates months
ahead through a real worker, and detaching follows the retention rules.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import secrets
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from audit.partitions import AUDIT_ENTRIES
from citizens import selectors as citizen_selectors
from ebox import partitioning
from messages import integrity, partitions
from messages.models import IdempotencyKey, Message, MessageContent, MessageEvent
from messages.services import partitions as partition_services
from messages.services import publishing, sealing
from senders import selectors as sender_selectors

ALL = partition_services.TABLES


def _one(sql: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _this_month(spec) -> str:
    return partitioning.partition_name(spec, partitioning.month_start(timezone.now()))


def _uuid7_at(moment: dt.datetime) -> uuid.UUID:
    millis = int(moment.timestamp() * 1000)
    rand = secrets.token_hex(10)
    return uuid.UUID(f"{millis:012x}7{rand[:3]}8{rand[4:7]}{rand[8:20]}")


def _earlier_months(count: int) -> list[dt.datetime]:
    """Create `count` months before this one for the message family (as a database a year old has)."""
    first = partitioning.month_start(timezone.now())
    months = [partitioning.add_months(first, -n) for n in range(1, count + 1)]
    with connection.cursor() as cursor:
        for spec in partitions.FAMILY:
            for month in months:
                partitioning.create_month(cursor, spec, month)
    return months


def test_the_growing_tables_are_partitioned_by_range(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT partrelid::regclass::text, partstrat FROM pg_partitioned_table")
        found = dict(cursor.fetchall())
    for spec in ALL:
        assert found.get(spec.table) == "r", spec.table
    with connection.cursor() as cursor:
        names = {name for name, _bound in partitioning.list_partitions(cursor, "mailbox_message")}
    now = partitioning.month_start(timezone.now())
    assert {
        partitioning.partition_name(partitions.MESSAGES, partitioning.add_months(now, n)) for n in range(4)
    } <= names
    assert "mailbox_message_default" in names


def test_rows_land_in_their_month_and_the_default_partitions_stay_empty(publish, citizen):
    message = publish(citizen.national_number)
    MessageEvent.objects.create(message=message, kind="read", at=timezone.now())
    where = "SELECT tableoid::regclass::text FROM {} WHERE {} = %s"
    assert _one(where.format("mailbox_message", "id"), [message.id]) == _this_month(partitions.MESSAGES)
    assert _one(where.format("mailbox_messagecontent", "id"), [message.content_id]) == _this_month(partitions.CONTENTS)
    assert _one(where.format("mailbox_attachment", "content_id"), [message.content_id]) == _this_month(
        partitions.ATTACHMENTS
    )
    assert _one(where.format("mailbox_messageevent", "message_id"), [message.id]) == _this_month(partitions.EVENTS)

    report = partition_services.ensure_partitions()
    assert report.kept == []
    for spec in ALL:
        assert _one(f"SELECT count(*) FROM {partitioning.default_name(spec)}") == 0, spec.table  # noqa: S608


def test_a_month_whose_rows_sit_in_the_default_partition_is_reported_not_created(
    organisation, sender_application, message_type, settings
):
    far = partitioning.add_months(partitioning.month_start(timezone.now()), 6)
    message = _old_message(far, organisation, sender_application, message_type, status="sealed")
    assert _one("SELECT tableoid::regclass::text FROM mailbox_message WHERE id = %s", [message.id]) == (
        "mailbox_message_default"
    )
    settings.EBOX_PARTITION_MONTHS_AHEAD = 6
    report = partition_services.ensure_partitions()
    name = partitioning.partition_name(partitions.MESSAGES, far)
    assert (name, "default partition holds rows of this month") in report.kept
    assert partitioning.partition_name(partitions.EVENTS, far) in report.created  # the others are made
    assert Message.objects.filter(pk=message.pk).exists()


def test_the_idempotency_key_stays_unique_per_application_across_partitions(publish, citizen):
    from django.db import IntegrityError, transaction

    first = publish(citizen.national_number, idempotency_key="key-1")
    assert IdempotencyKey.objects.get(idempotency_key="key-1").message_id == first.pk
    # The arbiter is a table of its own, not partitioned: a message of another month with the
    # same key is refused there, under the name publishing recognises.
    _earlier_months(2)
    with pytest.raises(IntegrityError, match="message_idempotency_key_per_application"), transaction.atomic():
        IdempotencyKey.objects.create(
            sender_application_id=first.sender_application_id,
            idempotency_key="key-1",
            message_id=_uuid7_at(timezone.now() - dt.timedelta(days=40)),
        )
    with pytest.raises(publishing.DuplicatePublication) as again:
        publish(citizen.national_number, idempotency_key="key-1")
    assert again.value.message_id == first.pk
    # Another application may use the same key.
    assert Message.objects.filter(idempotency_key="key-1").count() == 1


def _new(sender_application, message_type, recipient: str, key: str | None, pdf_bytes: bytes):
    return publishing.NewMessage(
        sender_application=sender_application,
        message_type=message_type,
        recipient_type="citizen",
        recipient_id=recipient,
        subject={"fr": "Sujet", "nl": "Onderwerp"},
        body={"fr": "Corps", "nl": "Inhoud"},
        attachments=[
            publishing.AttachmentUpload(
                file=io.BytesIO(pdf_bytes), file_name="letter.pdf", media_type="application/pdf", main_content=True
            )
        ],
        idempotency_key=key,
    )


def test_a_retried_batch_chunk_is_skipped_through_the_key_table(
    publish, citizen, sender_application, message_type, pdf_bytes, settings
):
    from messages.models import Blob

    settings.EBOX_DATABASE_BLOB_MAX_BYTES = 64 * 1024  # small attachments in mailbox_blob

    single = publish(citizen.national_number, idempotency_key="single", seal=False)
    chunk = [("single", citizen), ("b-1", citizen), ("b-2", citizen), (None, citizen), ("b-1", citizen)]

    def batch():
        news = [_new(sender_application, message_type, c.national_number, k, pdf_bytes) for k, c in chunk]
        return publishing.publish_messages(news)

    first = batch()
    assert isinstance(first[0], publishing.DuplicatePublication) and first[0].message_id == single.pk
    assert isinstance(first[1], publishing.Accepted) and isinstance(first[2], publishing.Accepted)
    assert isinstance(first[3], publishing.Accepted)
    assert isinstance(first[4], publishing.DuplicatePublication) and first[4].message_id == first[1].id
    stored = Message.objects.count()
    blobs_stored = Blob.objects.count()

    retried = batch()  # the same chunk again: nothing stored twice, every keyed item answers its first message
    assert [r.message_id for r in retried[:3]] == [single.pk, first[1].id, first[2].id]
    assert isinstance(retried[3], publishing.Accepted) and retried[3].id != first[3].id  # no key: a new letter
    assert Message.objects.count() == stored + 1
    assert Blob.objects.count() == blobs_stored + 1
    assert IdempotencyKey.objects.filter(sender_application=sender_application).count() == 3
    # Blobs land in their attachment's month, like the rest.
    assert _one("SELECT count(*) FROM mailbox_blob_default") == 0
    blob_partition = _this_month(partitions.BLOBS)
    assert _one(f"SELECT count(*) FROM {blob_partition}") == blobs_stored + 1  # noqa: S608
    assert (
        _one("SELECT reloptions::text FROM pg_class WHERE relname = %s", [blob_partition])
        == "{toast_tuple_target=8160}"
    )


def _plan(sql: str, params=None) -> str:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def _scanned(plan: str, spec) -> set[str]:
    """The partitions of `spec.table` a plan reads (names after " on ")."""
    return set(re.findall(rf"\bon ({spec.table}_(?:p\d{{4}}_\d{{2}}|default))\b", plan))


def test_status_sealing_and_sweep_prune_to_their_partitions(publish, citizen, organisation):
    months = _earlier_months(2)
    message = publish(citizen.national_number, seal=False)
    current = _this_month(partitions.MESSAGES)

    # searchMessageStatus: ids known, so PostgreSQL keeps only their month.
    query = sender_selectors.Message.objects.filter(id__in=[message.id], sender_organisation=organisation)
    plan = query.explain()
    assert _scanned(plan, partitions.MESSAGES) == {current}, plan

    # Sealing: the prepared statement's generic plan prunes at execution ("Subplans Removed").
    select = sealing._SEAL_SELECT.replace("%b::uuid[]", "$1::uuid[]")
    for n in (2, 3, 4):
        select = select.replace("%s", f"${n}", 1)
    with connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE seal_select(uuid[], uuid, uuid, text) AS {select}")
        cursor.execute(
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE seal_select(%s, %s, %s, 'accepted')",
            [[message.id], message.id, message.id],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("DEALLOCATE seal_select")
        cursor.execute("RESET plan_cache_mode")
    assert "Subplans Removed" in plan, plan
    executed = [line for line in plan.splitlines() if "mailbox_message_" in line and "never executed" not in line]
    assert {w for line in executed for w in _scanned(line, partitions.MESSAGES)} == {current}, plan

    # The integrity sweep resumes after an id of this month: earlier months are not scanned.
    sealing.seal_messages([message.id])
    plan = Message.objects.filter(seal__isnull=False, id__gt=message.id).order_by("id")[:100].explain()
    scanned = _scanned(plan, partitions.MESSAGES)
    assert current in scanned and not scanned & {partitioning.partition_name(partitions.MESSAGES, m) for m in months}
    assert integrity.sweep(limit=10).checked >= 1


def test_a_time_range_prunes_through_id_range_for(db):
    months = _earlier_months(2)
    start = months[0]
    low, high = partitions.id_range_for(start, partitioning.add_months(start, 1))
    plan = Message.objects.filter(id__gte=low, id__lt=high).explain()
    assert _scanned(plan, partitions.MESSAGES) == {partitioning.partition_name(partitions.MESSAGES, start)}, plan


def test_the_inbox_probes_each_month_through_its_inbox_index(publish, citizen):
    _earlier_months(2)
    publish(citizen.national_number)
    plan = citizen_selectors.inbox_messages(citizen)[:20].explain()
    # No time bound can prune the inbox (a message stays available until its own expiry): each
    # month costs one probe of its partial message_inbox index, never a sequential scan.
    assert "Seq Scan" not in plan, plan
    assert "message_p" in plan and "Index" in plan, plan


@pytest.mark.worker
def test_beat_task_creates_months_ahead_through_a_real_worker_and_is_idempotent(celery_worker_factory):
    from ebox.celery import app

    celery_worker_factory(EBOX_PARTITION_MONTHS_AHEAD="5")
    first = app.send_task("mailbox.ensure_partitions").get(timeout=60)
    again = app.send_task("mailbox.ensure_partitions").get(timeout=60)
    assert again == 0
    far = partitioning.add_months(partitioning.month_start(timezone.now()), 5)
    with connection.cursor() as cursor:
        for spec in ALL:
            names = {name for name, _bound in partitioning.list_partitions(cursor, spec.table)}
            assert partitioning.partition_name(spec, far) in names, spec.table
    assert first in (0, len(ALL) * 2)  # 0 when an earlier run in this database already made them


def _old_message(month: dt.datetime, organisation, sender_application, message_type, status: str) -> Message:
    at = month + dt.timedelta(days=3)
    content = MessageContent.objects.create(
        id=_uuid7_at(at),
        sender_organisation=organisation,
        kek_id="shredded",
        wrapped_key=b"",
        subject_ct=b"",
        shredded_at=at + dt.timedelta(days=400),
    )
    return Message.objects.create(
        id=_uuid7_at(at),
        content=content,
        sender_organisation=organisation,
        sender_application=sender_application,
        message_type=message_type,
        recipient_id="85073003328",
        channel="digital",
        status=status,
        received_at=at,
        expires_at=at + dt.timedelta(days=30),
    )


def test_detaching_refuses_unexpired_rows_and_takes_a_month_of_shredded_ones(
    organisation, sender_application, message_type, settings
):
    month = partitioning.add_months(partitioning.month_start(timezone.now()), -130)
    with connection.cursor() as cursor:
        for spec in partitions.FAMILY:
            partitioning.create_month(cursor, spec, month)
    message = _old_message(month, organisation, sender_application, message_type, status="sealed")
    Message.objects.filter(pk=message.pk).update(idempotency_key="old-key")
    IdempotencyKey.objects.create(
        sender_application=sender_application, idempotency_key="old-key", message_id=message.pk
    )
    name = partitioning.partition_name(partitions.MESSAGES, month)
    assert _one("SELECT tableoid::regclass::text FROM mailbox_message WHERE id = %s", [message.id]) == name

    report = partition_services.detach_old()
    assert (name, "holds messages not yet expired and shredded") in report.kept
    assert partition_services.detach_messages_month(month) == "holds messages not yet expired and shredded"

    Message.objects.filter(pk=message.pk).update(status="expired")
    settings.EBOX_PARTITION_RETENTION_MONTHS = 200
    assert name not in partition_services.detach_old().detached  # younger than retention: not even looked at
    settings.EBOX_PARTITION_RETENTION_MONTHS = 120
    assert name in partition_services.detach_old().detached
    assert not Message.objects.filter(pk=message.pk).exists()  # gone from the table…
    assert not IdempotencyKey.objects.filter(idempotency_key="old-key").exists()  # …its key with it
    assert _one(f"SELECT count(*) FROM {name}") == 1  # noqa: S608 - …kept as a plain table for the archive
    with connection.cursor() as cursor:
        for spec in partitions.FAMILY:
            attached = {n for n, _bound in partitioning.list_partitions(cursor, spec.table)}
            assert partitioning.partition_name(spec, month) not in attached


def test_an_audit_month_is_dropped_only_once_pruned_behind_a_signed_record(db):
    from audit import retention
    from audit import services as audit_services

    month = partitioning.add_months(partitioning.month_start(timezone.now()), -130)
    with connection.cursor() as cursor:
        partitioning.create_month(cursor, AUDIT_ENTRIES, month)
    name = partitioning.partition_name(AUDIT_ENTRIES, month)
    old = month + dt.timedelta(days=1)
    audit_services.append(audit_services.Entry(method="GET", url="/old", status_code=200, actor="user:test", at=old))
    assert _one(f"SELECT count(*) FROM {name}") == 1  # noqa: S608
    assert (name, "not wholly before the newest signed prune's cutoff") in partition_services.detach_old().kept
    assert retention.prune() is not None  # the entry is ten years old: pruned behind a signed record
    assert name in partition_services.detach_old().detached
    assert _one("SELECT to_regclass(%s) IS NULL", [name])
    assert audit_services.verify().ok
