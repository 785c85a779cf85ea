"""Contents, messages, attachments, events, retained seals and notification e-mails partitioned by month.

See messages.partitions (which key for which table, and why) and ebox.partitioning (how a table
is converted). Not reversible: going back would mean copying every row into plain tables again,
which a restore from backup does better.

A partitioned table's unique indexes must contain its partition key, so the idempotency key
(unique per sending application) cannot stay a unique index on `mailbox_message`: it becomes a
plain partial index of the same name, and a trigger enforces the uniqueness under a transaction
advisory lock on (application, key), raising the same unique violation the index did (same
constraint name, which messages.services.publishing looks for).
"""

import datetime as dt

from django.conf import settings
from django.db import migrations

from ebox import partitioning
from messages import partitions

IDEMPOTENCY_SQL = """
CREATE INDEX message_idempotency_key_per_application ON mailbox_message (sender_application_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE FUNCTION message_idempotency_key_unique() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.idempotency_key IS NULL THEN
        RETURN NEW;
    END IF;
    -- Two concurrent publications with the same key queue here; the second sees the first's row.
    PERFORM pg_advisory_xact_lock(hashtextextended(NEW.sender_application_id::text || ':' || NEW.idempotency_key, 0));
    IF EXISTS (SELECT 1 FROM mailbox_message WHERE sender_application_id = NEW.sender_application_id
               AND idempotency_key = NEW.idempotency_key AND id <> NEW.id) THEN
        RAISE EXCEPTION 'duplicate key value violates unique constraint "message_idempotency_key_per_application"'
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'message_idempotency_key_per_application';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER message_idempotency_key_per_application
    BEFORE INSERT OR UPDATE OF sender_application_id, idempotency_key ON mailbox_message
    FOR EACH ROW EXECUTE FUNCTION message_idempotency_key_unique();
"""


def _months(cursor, specs, table_of=None) -> list[dt.datetime]:
    now = partitioning.month_start(dt.datetime.now(dt.UTC))
    found = [m for m in (partitioning.oldest_month(cursor, spec) for spec in specs) if m]
    # Rows older than ten years (or not UUIDv7) go to the default partition rather than to
    # hundreds of months created here; `manage.py partitions` shows them.
    first = max(min([now, *found]), partitioning.add_months(now, -120))
    last = partitioning.add_months(now, settings.EBOX_PARTITION_MONTHS_AHEAD)
    months, month = [], first
    while month <= last:
        months.append(month)
        month = partitioning.add_months(month, 1)
    return months


def forwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        family = [partitions.CONTENTS, partitions.MESSAGES, partitions.ATTACHMENTS, partitions.EVENTS]
        family.append(partitions.RETAINED_SEALS)
        months = _months(cursor, [partitions.CONTENTS, partitions.MESSAGES])
        for spec in family:
            leave_out = ("message_idempotency_key_per_application",) if spec is partitions.MESSAGES else ()
            partitioning.convert_to_partitioned(cursor, spec, months, leave_out)
        cursor.execute(IDEMPOTENCY_SQL)
        notification_months = _months(cursor, [partitions.NOTIFICATIONS])
        partitioning.convert_to_partitioned(cursor, partitions.NOTIFICATIONS, notification_months)


class Migration(migrations.Migration):
    atomic = True

    dependencies = [
        ("mailbox", "0005_blob"),
        ("citizens", "0005_mailbox_kind"),
    ]

    operations = [migrations.RunPython(forwards, elidable=False)]  # irreversible: see the docstring
