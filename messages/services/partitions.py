"""Monthly partitions: created ahead by beat, old months detached once retention is over.

`ensure_partitions()` (task `mailbox.ensure_partitions`, beat every 6 hours; `manage.py
partitions --ensure`) creates, for every partitioned table (messages.partitions, audit.partitions),
the partitions of the current month and of EBOX_PARTITION_MONTHS_AHEAD months ahead, so the
default partitions stay empty; it is idempotent. It then detaches the months that ended more
than EBOX_PARTITION_RETENTION_MONTHS ago, under these rules:

- messages and the tables that follow them (contents, attachments, events, retained seals,
  database blobs): a month is detached, all six partitions in one transaction (and its
  messages' Idempotency keys deleted), only when every message in it is
  expired and every content in it shredded. PostgreSQL itself refuses (and the month is kept)
  while a row elsewhere still points at one of its messages or contents: a reply, an integrity
  incident, an acknowledgement, an access-log entry, a reminder, or a later message linked to
  one of its contents.
- notification e-mails: when none in the month is still pending, claimed or sending.
- the audit trail: only when the partition is empty, i.e. `audit.retention.prune()` already
  removed its entries behind a signed prune record, and the whole month lies before that
  record's cutoff; the empty table is then dropped. Entries leave the chain by no other path.

Detached message partitions stay in the database as plain tables (`<partition>` name kept) for
the operator to dump and drop (docs/operators.md, "Partitions").
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, OperationalError, connection, transaction
from django.utils import timezone

from audit.partitions import AUDIT_ENTRIES
from ebox import partitioning
from ebox.partitioning import PartitionedTable
from messages import partitions

logger = logging.getLogger(__name__)

TABLES: tuple[PartitionedTable, ...] = (*partitions.FAMILY, partitions.NOTIFICATIONS, AUDIT_ENTRIES)
LOCK_TIMEOUT_MS = 5000
_MONTH = re.compile(r"_p(\d{4})_(\d{2})$")


@dataclass
class PartitionReport:
    created: list[str] = field(default_factory=list)
    detached: list[str] = field(default_factory=list)
    # (partition, why it stays): rows in the default partition, unexpired rows, references…
    kept: list[tuple[str, str]] = field(default_factory=list)


def _month_of(name: str) -> dt.datetime | None:
    match = _MONTH.search(name)
    return dt.datetime(int(match[1]), int(match[2]), 1, tzinfo=dt.UTC) if match else None


def _months(cursor, spec: PartitionedTable) -> list[dt.datetime]:
    found = (_month_of(name) for name, _bound in partitioning.list_partitions(cursor, spec.table))
    return sorted(month for month in found if month)


def ensure_partitions(now: dt.datetime | None = None) -> PartitionReport:
    """Create this month's and the next months' partitions, then detach what retention allows."""
    now = now or timezone.now()
    report = PartitionReport()
    first = partitioning.month_start(now)
    wanted = [partitioning.add_months(first, n) for n in range(settings.EBOX_PARTITION_MONTHS_AHEAD + 1)]
    for spec in TABLES:
        for month in wanted:
            name = partitioning.partition_name(spec, month)
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    # Creating a partition locks its table (and the tables whose foreign keys point
                    # at it) exclusively for an instant: never queue publications behind a long
                    # transaction for it. Months are made ahead, so the next run simply retries.
                    cursor.execute("SET LOCAL lock_timeout = %s", [f"{LOCK_TIMEOUT_MS}ms"])
                    if partitioning.default_rows_in(cursor, spec, month):
                        # Creating it would fail; the rows need moving first (docs/operators.md).
                        report.kept.append((name, "default partition holds rows of this month"))
                        logger.error("partitions: %s not created: the default partition holds rows of it", name)
                    elif partitioning.create_month(cursor, spec, month):
                        report.created.append(name)
            except OperationalError as exc:  # lock_timeout
                report.kept.append((name, f"not created now, table busy: {str(exc).splitlines()[0]}"))
    detach_old(now, report)
    return report


def detach_old(now: dt.datetime | None = None, report: PartitionReport | None = None) -> PartitionReport:
    """Detach the months past EBOX_PARTITION_RETENTION_MONTHS that the rules above allow."""
    now = now or timezone.now()
    report = report if report is not None else PartitionReport()
    before = partitioning.add_months(partitioning.month_start(now), -settings.EBOX_PARTITION_RETENTION_MONTHS)
    with connection.cursor() as cursor:
        message_months = [m for m in _months(cursor, partitions.MESSAGES) if m < before]
        notification_months = [m for m in _months(cursor, partitions.NOTIFICATIONS) if m < before]
        audit_months = [m for m in _months(cursor, AUDIT_ENTRIES) if m < before]
    for month in message_months:
        _record(report, partitioning.partition_name(partitions.MESSAGES, month), detach_messages_month(month))
    for month in notification_months:
        _record(report, partitioning.partition_name(partitions.NOTIFICATIONS, month), _detach_notifications(month))
    for month in audit_months:
        _record(report, partitioning.partition_name(AUDIT_ENTRIES, month), _drop_audit_month(month))
    return report


def _record(report: PartitionReport, name: str, refusal: str | None) -> None:
    if refusal is None:
        report.detached.append(name)
    else:
        report.kept.append((name, refusal))


def detach_messages_month(month: dt.datetime) -> str | None:
    """Detach one month of messages and their family; None when done, else why the month stays.

    The retention age is the caller's rule (`detach_old`); this checks the rows."""
    names = {spec.table: partitioning.partition_name(spec, month) for spec in partitions.FAMILY}
    messages, contents = names[partitions.MESSAGES.table], names[partitions.CONTENTS.table]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # Deferred foreign-key checks queued earlier in the transaction would make DETACH refuse.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"LOCK TABLE {messages}, {contents} IN SHARE MODE")
            cursor.execute(
                f"SELECT EXISTS (SELECT 1 FROM {messages} m JOIN mailbox_messagecontent c ON c.id = m.content_id "  # noqa: S608
                "WHERE m.status <> 'expired' OR c.shredded_at IS NULL) "
                f"OR EXISTS (SELECT 1 FROM {contents} WHERE shredded_at IS NULL)"
            )
            if cursor.fetchone()[0]:
                return "holds messages not yet expired and shredded"
            # Their Idempotency keys go with them: the key table is not partitioned (see
            # messages.models.IdempotencyKey), and a key naming a message no longer here is spent.
            cursor.execute(
                f"DELETE FROM mailbox_idempotencykey k USING {messages} m WHERE m.idempotency_key IS NOT NULL "  # noqa: S608
                "AND k.sender_application_id = m.sender_application_id AND k.idempotency_key = m.idempotency_key "
                "AND k.message_id = m.id"
            )
            for spec in partitions.FAMILY:
                cursor.execute(f"ALTER TABLE {spec.table} DETACH PARTITION {names[spec.table]}")
                _drop_foreign_keys(cursor, names[spec.table])
    except DatabaseError as exc:  # a foreign key from a row elsewhere: PostgreSQL refused
        logger.warning("partitions: %s kept: %s", messages, exc)
        return f"still referenced: {str(exc).splitlines()[0]}"
    return None


def _drop_foreign_keys(cursor, table: str) -> None:
    """A detached partition keeps its foreign keys as its own; as an archive it needs none, and they
    would stop the next table of the month (its contents) from being detached."""
    cursor.execute(
        "SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid = %s::regclass AND conparentid = 0", [table]
    )
    for (name,) in cursor.fetchall():
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')


def _detach_notifications(month: dt.datetime) -> str | None:
    name = partitioning.partition_name(partitions.NOTIFICATIONS, month)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {name} WHERE status IN ('pending', 'claimed', 'sending'))")  # noqa: S608
        if cursor.fetchone()[0]:
            return "holds e-mails still owed"
        cursor.execute(f"ALTER TABLE {partitions.NOTIFICATIONS.table} DETACH PARTITION {name}")
        _drop_foreign_keys(cursor, name)
    return None


def _drop_audit_month(month: dt.datetime) -> str | None:
    from audit.retention import newest_prune

    name = partitioning.partition_name(AUDIT_ENTRIES, month)
    prune = newest_prune()
    if prune is None or partitioning.add_months(month, 1) > prune.cutoff:
        return "not wholly before the newest signed prune's cutoff"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {name} IN SHARE MODE")
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {name})")  # noqa: S608
        if cursor.fetchone()[0]:
            return "holds entries not pruned behind a signed prune record"
        cursor.execute(f"ALTER TABLE {AUDIT_ENTRIES.table} DETACH PARTITION {name}")
        cursor.execute(f"DROP TABLE {name}")
    return None


@dataclass
class PartitionInfo:
    table: str
    name: str
    bound: str
    rows: int  # exact for default partitions, PostgreSQL's estimate for the others


def partition_listing() -> list[PartitionInfo]:
    """Every partition of every partitioned table, with its bounds and rows (for `manage.py partitions`)."""
    listing = []
    with connection.cursor() as cursor:
        for spec in TABLES:
            for name, bound in partitioning.list_partitions(cursor, spec.table):
                if bound == "DEFAULT":
                    cursor.execute(f"SELECT count(*) FROM {name}")  # noqa: S608
                else:
                    cursor.execute(
                        "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = %s::regclass", [name]
                    )
                listing.append(PartitionInfo(spec.table, name, bound, cursor.fetchone()[0]))
    return listing
