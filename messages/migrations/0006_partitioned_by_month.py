"""Contents, messages, attachments, events, retained seals and notification e-mails partitioned by month.

See messages.partitions (which key for which table, and why) and ebox.partitioning (how a table
is converted). Not reversible: going back would mean copying every row into plain tables again,
which a restore from backup does better.

A partitioned table's unique indexes must contain its partition key, so the idempotency key
(unique per sending application) cannot stay a unique index on `mailbox_message`: its arbiter
becomes a small table of its own, `mailbox_idempotencykey` (messages.models.IdempotencyKey),
whose primary key takes the unique index's name (which messages.services.publishing looks for),
filled here from the messages that have a key. A unique index, not a trigger: the batch path's
`INSERT … ON CONFLICT DO NOTHING` skips a row a unique index already holds, not one a trigger
refuses.

`mailbox_blob` (small attachment ciphertexts) is partitioned on its id, the attachment's UUIDv7.
"""

import datetime as dt

from django.conf import settings
import django.db.models.deletion
from django.db import migrations, models

from ebox import partitioning
from messages import partitions

KEYS_SQL = """
ALTER TABLE mailbox_idempotencykey RENAME CONSTRAINT mailbox_idempotencykey_pkey
    TO message_idempotency_key_per_application;
INSERT INTO mailbox_idempotencykey (sender_application_id, idempotency_key, message_id)
    SELECT sender_application_id, idempotency_key, id FROM mailbox_message WHERE idempotency_key IS NOT NULL;
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
        family += [partitions.RETAINED_SEALS, partitions.BLOBS]
        months = _months(cursor, [partitions.CONTENTS, partitions.MESSAGES])
        for spec in family:
            leave_out = ("message_idempotency_key_per_application",) if spec is partitions.MESSAGES else ()
            partitioning.convert_to_partitioned(cursor, spec, months, leave_out)
        cursor.execute(KEYS_SQL)  # once the old unique index (of the same name) is gone
        notification_months = _months(cursor, [partitions.NOTIFICATIONS])
        partitioning.convert_to_partitioned(cursor, partitions.NOTIFICATIONS, notification_months)


class Migration(migrations.Migration):
    atomic = True

    dependencies = [
        ("mailbox", "0005_blob"),
        ("citizens", "0005_mailbox_kind"),
        ("senders", "0003_callbacks"),
    ]

    operations = [
        migrations.CreateModel(
            name="IdempotencyKey",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "sender_application_id",
                        "idempotency_key",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                (
                    "sender_application",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="senders.senderapplication",
                    ),
                ),
                ("idempotency_key", models.CharField(max_length=200)),
                ("message_id", models.UUIDField()),
            ],
            options={"verbose_name": "idempotency key", "verbose_name_plural": "idempotency keys"},
        ),
        # The unique index itself goes with the conversion (left out in forwards).
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(model_name="message", name="message_idempotency_key_per_application")
            ]
        ),
        migrations.RunPython(forwards, elidable=False),  # irreversible: see the docstring
    ]
